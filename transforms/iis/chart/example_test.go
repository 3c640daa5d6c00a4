package chart_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// Example folds an EHR's VXU into a chart, then builds the VXU that imports
// the chart's doses elsewhere as historical doses from another registry.
func Example() {
	in := "MSH|^~\\&|EHR|ZZTESTCLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|42|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^ZZTESTCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F\r" +
		"ORC|RE||D1^EHR\r" +
		"RXA|0|1|20250101||58160-0820-11^ENGERIX-B^NDC|0.5|mL^mL^UCUM||00^New Record^NIP001||||||L123|20260101|SKB^^MVX|||CP|A\r" +
		"RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163\r" +
		"OBX|1|CE|64994-7^Vaccine Funding Program Eligibility^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F\r" +
		"ORC|RE||9999^EHR\r" +
		"RXA|0|1|20250101||21^varicella^CVX|999||||||||||||00^Parental decision^NIP002||RE|A\r"
	m, err := hl7.Parse([]byte(in))
	if err != nil {
		panic(err)
	}
	var c chart.Chart
	if err := chart.Apply(&c, m); err != nil {
		panic(err)
	}
	d := c.Doses[0]
	fmt.Println(c.Key.MRN, len(c.Doses), d.ID, d.CVX, d.Funding, c.Updated.Format(time.RFC3339))
	fmt.Println(c.Indicators[0].Kind, c.Indicators[0].Code, c.Indicators[0].Groups)

	out, err := chart.VXU(&c, c.Doses, chart.VXUOptions{
		SendingApp: "IISYNC", ReceivingApp: "EHR", ControlID: "1",
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Source: "05",
	})
	if err != nil {
		panic(err)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(string(out), "\r"), "\r") {
		fmt.Println(seg)
	}
	// Output:
	// PAT123 1 D1 08 V02 2025-01-01T17:00:00Z
	// refusal 00 [VARICELLA]
	// MSH|^~\&|IISYNC|ZZTESTCLINIC|EHR||20250102030405+0000||VXU^V04^VXU_V04|1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS
	// PID|1||PAT123^^^ZZTESTCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F
	// ORC|RE||D1^IISYNC
	// RXA|0|1|20250101|20250101|08^ENGERIX-B^CVX^58160-0820-11^^NDC|0.5|mL^mL^UCUM||05^Historical information - from other registry^NIP001||||||L123|20260101|SKB^GlaxoSmithKline^MVX|||CP|A
	// RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163
}
