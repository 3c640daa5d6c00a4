package sandbox_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/sandbox"
)

func ExampleIIS_Submit() {
	s := sandbox.New(sandbox.Config{
		Users: map[string]field.Secret{"demo": field.NewSecret("demo-password")},
		Now:   func() time.Time { return time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC) },
	})
	vxu := "MSH|^~\\&|ZZEHR|ZZCLINIC|||20250615||VXU^V04^VXU_V04|ZZ-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^ZZCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F\r" +
		"ORC|RE||F-1^ZZCLINIC\r" +
		"RXA|0|1|20200301||9876^Unknown^CVX|999|||01^Historical^NIP001|||||||||||CP|A\r"
	resp := s.Submit(context.Background(), sandbox.Request{
		Username: "demo", Password: field.NewSecret("demo-password"), FacilityID: "ZZCLINIC", Message: []byte(vxu),
	})
	for _, seg := range strings.Split(strings.TrimSpace(string(resp.Message)), "\r")[1:] {
		fmt.Println(seg)
	}
	fmt.Println(s.Patients()[0].ID)

	bad := s.Submit(context.Background(), sandbox.Request{Username: "demo", Message: []byte(vxu)})
	fmt.Println(bad.Outcome, bad.FaultText)
	// Output:
	// MSA|AE|ZZ-1
	// ERR||PID^1^11|101^Required field missing^HL70357|W|7^Required data missing^HL70533|||Patient address is missing
	// ERR||RXA^1^5^1^1|103^Table value not found^HL70357|E|5^Table value not found^HL70533|||Vaccine code not recognized - vaccination not saved
	// SB0000001
	// fault_security Invalid Username or Password
}
