// Package phitest is what the project's tests use to prove that PHI stays
// out of logs and errors: the canary markers every synthetic test patient
// carries, a goroutine-safe log sink, and a check for the markers. Only
// tests import it.
package phitest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// Canaries are the markers of synthetic test patients: names start with
// ZZTEST, the MRN is PAT123 and the date of birth 20200101. None of them
// may appear in a log line or an error string.
var Canaries = []string{"ZZTEST", "PAT123", "20200101"}

// LogBuffer is a log sink that many goroutines may write at once.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Check fails t for every canary found in s; what names s in the message.
// The message quotes what, never s, so the failure itself leaks nothing.
func Check(t testing.TB, what, s string) {
	t.Helper()
	for _, c := range Canaries {
		if strings.Contains(s, c) {
			t.Errorf("%s contains the PHI canary %q", what, c)
		}
	}
}
