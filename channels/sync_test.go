package channels

import (
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/transforms/hl7"
)

func TestSyncConfigValidation(t *testing.T) {
	iis := func(name string) DestinationConfig {
		return DestinationConfig{Name: name, IIS: &IISDestinationConfig{ClientConfig: soap.ClientConfig{URL: "https://iis.example/ws"}}}
	}
	tests := []struct {
		name  string
		dests []DestinationConfig
		sync  SyncConfig
		want  string // "" = valid
	}{
		{"defaults with one iis destination", []DestinationConfig{iis("iis"), mllpDest("copy", "127.0.0.1:9")}, SyncConfig{}, ""},
		{"two iis destinations need a name", []DestinationConfig{iis("a"), iis("b")}, SyncConfig{}, "sync.destination: required"},
		{"named among two", []DestinationConfig{iis("a"), iis("b")}, SyncConfig{Destination: "b"}, ""},
		{"unknown destination", []DestinationConfig{iis("iis")}, SyncConfig{Destination: "nope"}, `no destination "nope"`},
		{"not an iis destination", []DestinationConfig{iis("iis"), mllpDest("copy", "127.0.0.1:9")}, SyncConfig{Destination: "copy"}, "is not an iis destination"},
		{"bad profile", []DestinationConfig{iis("iis")}, SyncConfig{Profile: "Z99"}, "sync.profile: must be Z44 or Z34"},
		{"window too wide", []DestinationConfig{iis("iis")}, SyncConfig{DayWindow: 90}, "sync.day_window"},
		{"bad application", []DestinationConfig{iis("iis")}, SyncConfig{Application: "a b"}, "sync.application"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.sync
			ch := mllpChannel("vxu", tc.dests...)
			ch.Sync = &s
			err := ch.WithDefaults().Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	ch := mllpChannel("vxu", iis("iis"))
	ch.Sync = &SyncConfig{}
	if got := ch.WithDefaults().Sync; got.Destination != "iis" || got.Profile != ProfileZ44 || got.Application != "IISYNC" {
		t.Errorf("defaults: %+v", got)
	}
}

// TestPatientRef: the engine's patient_ref of an MRN is the one stored with
// the patient's messages (hl7.Message.PatientRef of PID-3.1), so the Sync
// Registry's logs and records find them.
func TestPatientRef(t *testing.T) {
	key := []byte("test-patient-key-0123")
	m, err := hl7.Parse(vxu("C1", "PAT123"))
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{opts: Options{PatientKey: key}}
	if got, want := e.PatientRef("PAT123"), m.PatientRef(key); got != want || len(got) != 16 {
		t.Errorf("PatientRef = %q, want %q", got, want)
	}
}

func TestControlID(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	a, b := ControlID('Q', now), ControlID('Q', now)
	if len(a) != 20 || !strings.HasPrefix(a, "Q20250615120000") || a == b {
		t.Errorf("control IDs %q, %q: want 20 characters, Q and the time, distinct", a, b)
	}
}
