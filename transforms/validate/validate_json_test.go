package validate

import (
	"encoding/json"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

func TestFindingJSON(t *testing.T) {
	f := Finding{Rule: "mqe.dose_before_birth", Severity: Error, Location: hl7.Location{Segment: "RXA", Seq: 2, Field: 3},
		Code: "999", AppCode: "1", Message: "RXA-3 is before the birth date"}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rule":"mqe.dose_before_birth","severity":"error","location":"RXA^2^3","code":"999","app_code":"1","message":"RXA-3 is before the birth date"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
