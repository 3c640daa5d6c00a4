package channels

import (
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/mapping"
)

// TestTryChannel: the playground works a message through a channel as the
// engine would, without a store.
func TestTryChannel(t *testing.T) {
	ch := mllpChannel("vxu", mllpDest("iis", "127.0.0.1:9"))
	ch.Filter = FilterConfig{Expr: `type == "VXU"`, OnReject: "AE"}
	ch.Transforms = []mapping.StepConfig{{Set: &mapping.SetStep{Path: "MSH-6", Value: "REGISTRY"}}}
	ch.Preflight = &ValidateConfig{Action: ValidateReject}
	adt := strings.Replace(string(preflightVXU("A1", "20210101")), "VXU^V04^VXU_V04", "ADT^A01^ADT_A01", 1)
	tests := []struct {
		name, raw, outcome, ack string
		check                   func(t *testing.T, r *TryResult)
	}{
		{"queued, with the change", string(preflightVXU("Q1", "20210101")), TryQueued, "MSA|AA|Q1", func(t *testing.T, r *TryResult) {
			if len(r.Changes) != 1 || r.Changes[0].Path != "MSH-6" || r.Changes[0].New != "REGISTRY" {
				t.Errorf("changes %+v, want MSH-6 -> REGISTRY", r.Changes)
			}
			if !strings.Contains(string(r.Transformed), "|REGISTRY|") {
				t.Errorf("transformed %q", r.Transformed)
			}
		}},
		{"rejected by pre-flight", string(badVXU("R1")), TryRejected, "MSA|AE|R1", func(t *testing.T, r *TryResult) {
			if len(r.Findings) == 0 || r.Findings[0].Rule != "mqe.dose_before_birth" {
				t.Errorf("findings %+v", r.Findings)
			}
		}},
		{"filtered", adt, TryFiltered, "MSA|AE|A1", nil},
		{"does not parse", "not hl7", TryError, "MSA|AE", func(t *testing.T, r *TryResult) {
			if r.Error == "" || strings.Contains(r.Error, "not hl7") {
				t.Errorf("error %q: want a position, not the content", r.Error)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := TryChannel(t.Context(), ch, []byte(tc.raw), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.outcome || !strings.Contains(string(r.ACK), tc.ack) {
				t.Errorf("outcome %s, ACK %q; want %s with %s", r.Outcome, r.ACK, tc.outcome, tc.ack)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	bad := ch
	bad.Name = ""
	if _, err := TryChannel(t.Context(), bad, []byte("x"), time.Now()); err == nil {
		t.Error("an invalid channel configuration was tried")
	}
}
