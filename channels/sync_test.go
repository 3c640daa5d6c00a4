package channels

import (
	"strings"
	"testing"

	"github.com/iisync/iisync/gateway/soap"
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
