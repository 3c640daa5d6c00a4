package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisync/iisync/conf"
)

func TestPatientKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xAB}, 32)
	tests := []struct {
		name    string
		content []byte // nil: no file
		create  bool
		wantErr string
	}{
		{"raw 32 bytes", raw, false, ""},
		{"hex with newline", []byte(hex.EncodeToString(raw) + "\n"), false, ""},
		{"created", nil, true, ""},
		{"missing", nil, false, "does not exist"},
		{"too short", []byte("PAT123-not-a-key"), false, "must hold 32 raw bytes or 64 hex characters (got 16 bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys", "patient.key")
			if tc.content != nil {
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := &conf.File{Security: conf.SecurityConfig{PatientRefKeyFile: p, CreateKeys: tc.create}}
			key, created, err := patientKey(f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "PAT123") {
					t.Fatalf("err %v, want %q without the content", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(key) != 32 || created != tc.create {
				t.Fatalf("key %d bytes, created %v, err %v", len(key), created, err)
			}
			if tc.content != nil && !bytes.Equal(key, raw) {
				t.Error("key differs from the file")
			}
			if tc.create {
				fi, err := os.Stat(p)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("created key file mode %v %v", fi.Mode(), err)
				}
				again, created, err := patientKey(f)
				if err != nil || created || !bytes.Equal(again, key) {
					t.Errorf("second read: created %v err %v, same key %v", created, err, bytes.Equal(again, key))
				}
			}
		})
	}
}
