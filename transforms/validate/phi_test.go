package validate

import (
	"fmt"
	"strings"
	"testing"
)

// TestNoPHIInFindings puts the canary markers into every place a rule
// reads and checks that no finding, in any format, repeats them.
func TestNoPHIInFindings(t *testing.T) {
	markers := []string{"ZZTEST", "20200101", "PAT123", "ZZSECRET"}
	v := newTestValidator(t, nil)
	m := mustParse(t, zztestVXU)
	for _, e := range []edit{
		set("PID-8", "ZZSECRET"), set("PID-5.2", "ZZTEST Baby"), setRaw("RXA-5", "ZZSECRET^ZZTEST^CVX"),
		setRaw("RXA-17", "ZZSECRET^ZZTEST^MVX"), set("RXA-3", "PAT123"), set("RXA-21", "ZZSECRET"),
		set("MSH-12", "ZZSECRET"), setRaw("OBX-5", "ZZSECRET^ZZTEST^HL70064"), set("OBX-4", "PAT123"),
		setRaw("PID-7", "20200101~20200101"), set("RXA-6", "ZZSECRET"),
	} {
		var err error
		if m, err = e(m); err != nil {
			t.Fatal(err)
		}
	}
	fs := v.Validate(m)
	if len(fs) < 8 {
		t.Fatalf("want many findings, got %v", fs)
	}
	for _, f := range fs {
		for _, s := range []string{f.String(), fmt.Sprintf("%v %+v %#v", f, f, f), fmt.Sprintf("%+v", f.ErrorDetail())} {
			for _, mk := range markers {
				if strings.Contains(s, mk) {
					t.Errorf("finding leaks %q: %s", mk, s)
				}
			}
		}
	}
}
