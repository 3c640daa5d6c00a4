package hl7_test

import (
	"fmt"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

func ExampleParse() {
	raw := []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|CTL-42|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^CLINIC^MR~SR-9^^^STATE^SR||ZZTEST^BABY\\T\\CO^^^^^L||20200101|F\r" +
		"RXA|0|1|20250101||08^HepB^CVX|0.5|mL^mL^UCUM\r")
	m, err := hl7.Parse(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m) // safe to print: header only
	fmt.Println(m.Value("PID-3[2].1"), m.Value("PID-5.2"), m.Value("RXA-5.1"))

	edited, err := m.Set("PID-5.2", "ANN^MARIE")
	if err != nil {
		fmt.Println(err)
		return
	}
	pid, _ := edited.Segment("PID", 1)
	fmt.Println(pid.Field(5).Component(2).String(), string(pid.Field(5).Component(2).Raw()))

	ack := hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{ControlID: "ACK-1", Now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)})
	code, err := hl7.CheckACK(ack, m.ControlID())
	fmt.Println(code, err)
	// Output:
	// hl7 VXU^V04^VXU_V04 control_id=CTL-42
	// SR-9 BABY&CO 08
	// ANN^MARIE ANN\S\MARIE
	// AA <nil>
}
