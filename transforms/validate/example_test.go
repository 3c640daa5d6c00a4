package validate_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/validate"
)

func ExampleValidator_Validate() {
	v, err := validate.New(validate.Config{
		Severities: map[string]validate.Severity{"mqe.address_missing": validate.Ignore},
		Now:        func() time.Time { return time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	msg := strings.Join([]string{
		`MSH|^~\&|ZZEHR|ZZCLINIC|ZZIIS|ZZSTATE|20241231120000-0500||VXU^V04^VXU_V04|ZZ-0001|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS`,
		`PID|1||PAT123^^^ZZCLINIC^MR||ZZTEST^BABY GIRL^^^^^L||20200101|F`,
		`ORC|RE||ZZ-0001-F1^ZZCLINIC`,
		`RXA|0|1|20191231||9999^Not a vaccine^CVX|999|||01^Historical^NIP001|||||||||||CP|A`,
	}, "\r")
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		panic(err)
	}
	for _, f := range v.Validate(m) {
		fmt.Println(f)
	}
	// Output:
	// warning PID^1^5^1^2 999/4 mqe.temporary_name: PID-5.2 (Given Name) looks like a temporary newborn name
	// error RXA^1^3 999/1 mqe.dose_before_birth: RXA-3 (Date/Time Start of Administration) is before the patient's birth date (PID-7)
	// error RXA^1^5^1^1 103/5 mqe.vaccine_code_unknown: RXA-5 (Administered Code) is not a recognized CVX code or an NDC that maps to one
}

func ExampleFinding_ErrorDetail() {
	v, err := validate.New(validate.Config{})
	if err != nil {
		panic(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|ZZEHR|ZZCLINIC|ZZIIS|ZZSTATE|20241231120000-0500||VXU^V04^VXU_V04|ZZ-0002|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^ZZCLINIC^MR||ZZTEST^ALPHA^^^^^L||20200101|Q|||1 ZZTEST St^^Springfield^IL^62701^USA^P\r"))
	if err != nil {
		panic(err)
	}
	var errs []hl7.ErrorDetail
	for _, f := range v.Validate(m) {
		errs = append(errs, f.ErrorDetail())
	}
	ack := hl7.BuildACK(m, "AE", errs, hl7.ACKOptions{ControlID: "ACK1", Now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)})
	for _, seg := range strings.Split(strings.TrimSpace(string(ack)), "\r") {
		if strings.HasPrefix(seg, "ERR") {
			fmt.Println(seg)
		}
	}
	// Output:
	// ERR||PID^1^8|103^Table value not found^HL70357|E|5^Table value not found^HL70533|||PID-8 (Administrative Sex) holds a code that is not in value set HL70001
}
