package store

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the joined error, in order; nil = valid
	}{
		{"defaults with create_key", Config{CreateKey: true}, nil},
		{"explicit key", Config{KeyFile: "/etc/iisync/store.key"}, nil},
		{"no key", Config{}, []string{"key_file: required unless create_key is set"}},
		{"prune interval", Config{CreateKey: true, PruneInterval: time.Millisecond}, []string{"prune_interval: must be 1s..168h, got 1ms"}},
		{"cache", Config{CreateKey: true, CacheMB: 2}, []string{"cache_mb: must be 8..65536, got 2"}},
		{"negative cache", Config{CreateKey: true, CacheMB: -1}, []string{"cache_mb: must be 8..65536, got -1"}},
		{"metadata shorter", Config{CreateKey: true, Retention: Retention{Content: 48 * time.Hour, Metadata: 24 * time.Hour}},
			[]string{"retention.metadata: must not be shorter than content (48h0m0s), got 24h0m0s"}},
		{"negative retention", Config{CreateKey: true, Retention: Retention{Content: -time.Hour}},
			[]string{"retention.content: must be at least 1m, got -1h0m0s"}},
		{"all at once", Config{PruneInterval: -1, CacheMB: 1, Retention: Retention{Metadata: time.Second}},
			[]string{"key_file", "prune_interval", "cache_mb", "retention.metadata: must be at least 1m", "retention.metadata: must not be shorter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.WithDefaults().Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			msg := err.Error()
			for _, w := range tc.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", err, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{CreateKey: true, Retention: Retention{Content: 4000 * time.Hour}}.WithDefaults()
	if c.Path != DefaultPath || c.KeyFile != "var/store.key" || c.PruneInterval != time.Hour || c.CacheMB != 64 {
		t.Errorf("defaults: %+v", c)
	}
	if c.Retention.Content != 4000*time.Hour || c.Retention.Metadata != 4000*time.Hour {
		t.Errorf("retention defaults: %+v", c.Retention)
	}
	if r := (Retention{}).WithDefaults(); r.Content != 720*time.Hour || r.Metadata != 2160*time.Hour {
		t.Errorf("retention defaults: %+v", r)
	}
	if c := (Config{KeyFile: "k"}).WithDefaults(); c.KeyFile != "k" {
		t.Errorf("key file overridden: %q", c.KeyFile)
	}
}
