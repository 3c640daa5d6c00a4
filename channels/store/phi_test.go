package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/internal/phitest"
)

// TestPHICanary drives every path that logs or returns errors with the
// canary patient and checks that no marker escapes.
func TestPHICanary(t *testing.T) {
	var logs phitest.LogBuffer
	log := zerolog.New(&logs).Level(zerolog.TraceLevel)
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := openTest(t, cfg, log)

	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	m := msg("ch", "S", "CANARY")
	m.Transformed = []byte("PID|1||PAT123||ZZTEST^ZZTEST||20200101")
	m.ReceivedAt = time.Now().Add(-48 * time.Hour)
	id, err := s.Commit(m, []string{"ch/d"}, time.Hour)
	check(err)
	_, err = s.Commit(msg("ch", "S", "CANARY"), []string{"ch/d"}, time.Hour) // duplicate
	check(err)
	check(s.Deliver(id, "ch/d", Delivery{Status: StatusRejected, Response: []byte("ERR|ZZTEST")}, &Outgoing{Destination: "ch/return", Payload: []byte("ZZTEST")}))
	check(s.Deliver(id, "ch/d", Delivery{Status: "ZZTEST"}, nil))
	check(s.Deliver(id+99, "ch/d", Delivery{Status: StatusSent, Sent: []byte("ZZTEST")}, nil))
	check(s.Retry(id+99, "ch/d", 1, time.Now(), ""))
	_, err = s.Commit(&Message{Channel: "ch", Status: "ZZTEST", Raw: []byte("ZZTEST")}, nil, 0)
	check(err)
	_, err = s.Commit(&Message{Raw: []byte("ZZTEST PAT123")}, nil, 0)
	check(err)
	_, err = s.Get(id + 99)
	check(err)
	_, err = s.prune(func(string) Retention { return Retention{Content: time.Hour, Metadata: time.Hour} })
	check(err)
	check(s.Requeue(id, []string{"ch/d"}))
	check(s.Close())

	// A key file holding canary text, and the wrong key.
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("ZZTEST PAT123 20200101\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Path: cfg.Path, KeyFile: bad}, log)
	check(err)
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte(strings.Repeat("5a", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Path: cfg.Path, KeyFile: other}, log)
	check(err)

	if len(errs) < 8 {
		t.Fatalf("only %d errors exercised: %v", len(errs), errs)
	}
	var out strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n", e, e, e, e.Error())
	}
	out.WriteString(logs.String())
	for _, c := range canaries {
		if strings.Contains(out.String(), c) {
			t.Errorf("canary %q leaked:\n%s", c, out.String())
		}
	}
	if !strings.Contains(logs.String(), `"component":"store"`) {
		t.Errorf("expected store log lines, got:\n%s", logs.String())
	}
}
