package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and always returns a Response a
// caller can act on, seeded with every sample answer.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rsp", "*.hl7"))
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add(lines(msh("Z42"), "MSA|AE|ZZ-Q-0001", "ERR||QPD^1^6|101|", qakOK, pid, history, forecastRows))
	f.Add([]byte("FHS|^~\\&\nMSH|^~\\&|||||||RSP^K11|1|P|2.5.1\nMSA|AA\nPID|1\nRXA|0|1||||\nOBX|1||30956-7|1|^\n"))
	f.Add([]byte("MSH|^~\\&"))
	f.Add([]byte{})
	valid := map[MessageStatus]bool{StatusReceived: true, StatusReceivedWithWarnings: true, StatusReceivedWithErrors: true, StatusUnreadable: true}
	qualities := map[Quality]bool{QualityMatch: true, QualityNoMatch: true, QualityTooMany: true, QualityCandidates: true, QualityRejected: true, QualityUnknown: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1<<16 {
			t.Skip("too large")
		}
		r := Parse(raw, asked(""))
		if !valid[r.Status] || !qualities[r.Quality] {
			t.Fatalf("status %q quality %q", r.Status, r.Quality)
		}
		if r.Reason == "" || strings.ContainsAny(r.Reason, "\r\n") {
			t.Fatalf("reason %q", r.Reason)
		}
		if (r.Patient != nil) != (r.Quality == QualityMatch) {
			t.Fatalf("patient %v with quality %s", r.Patient != nil, r.Quality)
		}
		for _, fc := range r.Forecast {
			if fc.Status == "" || fc.Group == "" {
				t.Fatalf("forecast row without status or group")
			}
		}
	})
}
