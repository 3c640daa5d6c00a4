package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Canary markers of the synthetic test patient (style guide §7).
const canary = "ZZTEST"

var canaries = []string{canary, "PAT123", "20200101"}

func vxu(ctl string) []byte {
	return []byte("MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20250101||VXU^V04^VXU_V04|" + ctl + "|P|2.5.1\r" +
		"PID|1||PAT123^^^MR||ZZTESTLAST^ZZTESTFIRST||20200101|F\r" +
		"RXA|0|1|20250101||08^HepB^CVX|0.5|mL\r")
}

func testConfig(dir string) Config {
	return Config{Path: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "key"), CreateKey: true}
}

func openTest(t testing.TB, cfg Config, log zerolog.Logger) *Store {
	t.Helper()
	s, err := Open(cfg, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return openTest(t, testConfig(t.TempDir()), zerolog.Nop())
}

func msg(channel, sender, ctl string) *Message {
	return &Message{
		Channel: channel, Source: "mllp", ControlID: ctl, Sender: sender,
		Type: "VXU^V04^VXU_V04", PatientRef: "ref-" + ctl, Raw: vxu(ctl),
	}
}

func mustCommit(t testing.TB, s *Store, m *Message, dests ...string) ID {
	t.Helper()
	id, err := s.Commit(m, dests, 0)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return id
}

func mustGet(t testing.TB, s *Store, id ID) *Message {
	t.Helper()
	m, err := s.Get(id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return m
}

func depth(t testing.TB, s *Store, dest string) int {
	t.Helper()
	n, err := s.QueueDepth(dest)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommitGetRoundTrip(t *testing.T) {
	s := newStore(t)
	in := msg("vxu", "CLINIC1", "C1")
	in.Transformed = []byte("MSH|transformed ZZTEST\r")
	in.ReceivedAt = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	id := mustCommit(t, s, in, "vxu/iis", "vxu/file")
	if id == 0 || in.ID != id || in.Status != StatusQueued || len(in.Deliveries) != 2 {
		t.Fatalf("after Commit: id=%d m.ID=%d status=%s deliveries=%d", id, in.ID, in.Status, len(in.Deliveries))
	}

	got := mustGet(t, s, id)
	if got.Channel != "vxu" || got.Source != "mllp" || got.ControlID != "C1" || got.Sender != "CLINIC1" ||
		got.Type != "VXU^V04^VXU_V04" || got.PatientRef != "ref-C1" || !got.ReceivedAt.Equal(in.ReceivedAt) {
		t.Errorf("metadata mismatch: %+v", got)
	}
	if !bytes.Equal(got.Raw, in.Raw) || !bytes.Equal(got.Transformed, in.Transformed) {
		t.Errorf("content mismatch")
	}
	if got.Status != StatusQueued || len(got.Deliveries) != 2 || got.Deliveries[0].Status != StatusQueued {
		t.Errorf("status %s deliveries %+v", got.Status, got.Deliveries)
	}

	sentAt := time.Date(2025, 1, 2, 3, 5, 0, 0, time.UTC)
	err := s.Deliver(id, "vxu/iis", Delivery{
		Status: StatusRejected, Attempts: 2, SentAt: sentAt, Sent: []byte("sent ZZTEST"),
		Response: []byte("MSA|AE|C1"), ACKCode: "AE", ErrorCodes: []string{"0357:101"},
	}, &Outgoing{Destination: "vxu/return", Payload: []byte("ack back")})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := s.DeadLetter(id, "vxu/file", 5, "disk: permission denied"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	got = mustGet(t, s, id)
	if got.Status != StatusDeadLettered {
		t.Errorf("status = %s, want dead_lettered", got.Status)
	}
	byDest := map[string]Delivery{}
	for _, d := range got.Deliveries {
		byDest[d.Destination] = d
	}
	iis := byDest["vxu/iis"]
	if iis.Status != StatusRejected || iis.Attempts != 2 || !iis.SentAt.Equal(sentAt) || string(iis.Sent) != "sent ZZTEST" ||
		string(iis.Response) != "MSA|AE|C1" || iis.ACKCode != "AE" || !slices.Equal(iis.ErrorCodes, []string{"0357:101"}) {
		t.Errorf("iis delivery = %+v", iis)
	}
	if f := byDest["vxu/file"]; f.Status != StatusDeadLettered || f.Attempts != 5 || f.LastError != "disk: permission denied" {
		t.Errorf("file delivery = %+v", f)
	}
	if r := byDest["vxu/return"]; !r.Return || r.Status != StatusQueued || string(r.Sent) != "ack back" {
		t.Errorf("return delivery = %+v", r)
	}
	if _, err := s.Get(id + 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func TestCommitWithoutDestinations(t *testing.T) {
	tests := []struct {
		name  string
		given Status
		want  Status
	}{
		{"default", "", StatusReceived},
		{"filtered", StatusFiltered, StatusFiltered},
		{"errored", StatusErrored, StatusErrored},
		{"queued without queues", StatusQueued, StatusReceived},
	}
	s := newStore(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := msg("ch", "S", tc.name)
			m.Status = tc.given
			id := mustCommit(t, s, m)
			if got := mustGet(t, s, id).Status; got != tc.want {
				t.Errorf("status = %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := s.Commit(&Message{Channel: "ch", Status: "bogus"}, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if _, err := s.Commit(&Message{}, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("no channel: %v", err)
	}
	if _, err := s.Commit(msg("ch", "S", "x"), []string{"a", "a"}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("repeated destination: %v", err)
	}
}

func TestReopenKeepsDataAndIDsGrow(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s := openTest(t, cfg, zerolog.Nop())
	var ids []ID
	for i := range 3 {
		ids = append(ids, mustCommit(t, s, msg("ch", "S", fmt.Sprint("C", i)), "ch/d"))
	}
	if err := s.Deliver(ids[0], "ch/d", Delivery{Status: StatusAccepted, ACKCode: "AA"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.Get(ids[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v", err)
	}
	if _, err := s.Commit(msg("ch", "S", "late"), nil, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}

	for round := range 2 {
		s = openTest(t, cfg, zerolog.Nop())
		for i, id := range ids[:3] {
			m := mustGet(t, s, id)
			if m.ControlID != fmt.Sprint("C", i) || !bytes.Equal(m.Raw, vxu(m.ControlID)) {
				t.Errorf("round %d: message %d lost", round, id)
			}
		}
		if got := mustGet(t, s, ids[0]).Status; got != StatusAccepted {
			t.Errorf("status after reopen = %s", got)
		}
		if n := depth(t, s, "ch/d"); n != 2+round {
			t.Errorf("round %d: depth = %d", round, n)
		}
		id := mustCommit(t, s, msg("ch", "S", fmt.Sprint("R", round)), "ch/d")
		if id <= ids[len(ids)-1] {
			t.Errorf("round %d: id %d not above %d", round, id, ids[len(ids)-1])
		}
		ids = append(ids, id)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := openTest(t, cfg, zerolog.Nop())
	for i := range 50 {
		m := msg("ch", "S", fmt.Sprint("C", i))
		m.PatientRef = canary + "REF"
		mustCommit(t, s, m, "ch/d")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(cfg.Path, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s contains %q in clear", filepath.Base(p), c)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v (%d files)", err, files)
	}
	if fi, err := os.Stat(cfg.Path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(cfg.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v", fi.Mode().Perm(), err)
	}

	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KeyFile, cfg.CreateKey = other, false
	if s, err := Open(cfg, zerolog.Nop()); !errors.Is(err, ErrKeyMismatch) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("Open with another key = %v, want ErrKeyMismatch", err)
	}
}

func TestKeyFile(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		content []byte // nil: no file
		create  bool
		wantErr error
	}{
		{"raw 32 bytes", bytes.Repeat([]byte{'\n'}, 32), false, nil},
		{"hex", []byte(hexKey), false, nil},
		{"hex newline", []byte(hexKey + "\n"), false, nil},
		{"hex crlf", []byte(hexKey + "\r\n"), false, nil},
		{"missing", nil, false, ErrKeyFile},
		{"created", nil, true, nil},
		{"short", []byte("ZZTESTsecret"), false, ErrKeyFile},
		{"bad hex", []byte(strings.Repeat("zz", 32)), false, ErrKeyFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "k", "store.key")
			if tc.content != nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			key, created, err := loadKey(path, tc.create)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("loadKey = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error does not name the file: %v", err)
				}
				if tc.content != nil && strings.Contains(err.Error(), string(tc.content[:6])) {
					t.Errorf("error shows key material: %v", err)
				}
				return
			}
			if len(key) != 32 || created != tc.create {
				t.Errorf("key len %d, created %v", len(key), created)
			}
			if tc.create {
				b, _ := os.ReadFile(path)
				fi, _ := os.Stat(path)
				if len(b) != 65 || fi.Mode().Perm() != 0o600 {
					t.Errorf("created key: %d bytes, mode %v", len(b), fi.Mode().Perm())
				}
				again, _, err := loadKey(path, true)
				if err != nil || !bytes.Equal(again, key) {
					t.Errorf("reload of created key differs: %v", err)
				}
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	s := newStore(t)
	first := mustCommit(t, s, msg("ch", "CLINIC1", "DUP1"), "ch/d")
	tests := []struct {
		name    string
		m       *Message
		window  time.Duration
		sleep   time.Duration
		wantDup bool
	}{
		{"same inside window", msg("ch", "CLINIC1", "DUP1"), time.Hour, 0, false}, // first commit had no window: no key
		{"again inside window", msg("ch", "CLINIC1", "DUP1"), time.Hour, 0, true},
		{"other sender", msg("ch", "CLINIC2", "DUP1"), time.Hour, 0, false},
		{"other channel", msg("ch2", "CLINIC1", "DUP1"), time.Hour, 0, false},
		{"no window", msg("ch", "CLINIC1", "DUP1"), 0, 0, false},
		{"short window first", msg("ch", "CLINIC1", "DUP2"), 30 * time.Millisecond, 0, false},
		{"short window expired", msg("ch", "CLINIC1", "DUP2"), 30 * time.Millisecond, 50 * time.Millisecond, false},
		{"short window inside", msg("ch", "CLINIC1", "DUP2"), time.Hour, 0, true},
	}
	var lastDUP1 ID
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(tc.sleep)
			before := depth(t, s, "ch/d")
			id, err := s.Commit(tc.m, []string{"ch/d"}, tc.window)
			if tc.wantDup {
				if !errors.Is(err, ErrDuplicate) || id == 0 || tc.m.ID != 0 {
					t.Fatalf("Commit = %d, %v (m.ID %d), want earlier ID and ErrDuplicate", id, err, tc.m.ID)
				}
				if tc.m.ControlID == "DUP1" && id != lastDUP1 {
					t.Errorf("duplicate of %d, want %d", id, lastDUP1)
				}
				if after := depth(t, s, "ch/d"); after != before {
					t.Errorf("duplicate enqueued: depth %d -> %d", before, after)
				}
				return
			}
			if err != nil || id == 0 || id == first {
				t.Fatalf("Commit = %d, %v", id, err)
			}
			if tc.m.ControlID == "DUP1" && tc.m.Channel == "ch" && tc.m.Sender == "CLINIC1" && tc.window > 0 {
				lastDUP1 = id
			}
		})
	}
}

func TestConcurrentCommits(t *testing.T) {
	s := newStore(t)
	const workers, each = 8, 100
	var mu sync.Mutex
	seen := map[ID]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := msg("ch", fmt.Sprint("S", w), fmt.Sprint("C", i))
				id, err := s.Commit(m, []string{"ch/d"}, time.Hour)
				if err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("id %d assigned twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	// Readers run alongside.
	wg.Go(func() {
		for range 20 {
			if _, err := s.Search(Query{Channel: "ch", Limit: 10}); err != nil {
				t.Errorf("Search: %v", err)
			}
		}
	})
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d ids", len(seen))
	}
	if n := depth(t, s, "ch/d"); n != workers*each {
		t.Errorf("depth = %d", n)
	}
	items, err := s.Pending("ch/d", 0, 1000)
	if err != nil || len(items) != workers*each {
		t.Fatalf("Pending: %d, %v", len(items), err)
	}
	if !slices.IsSortedFunc(items, func(a, b QueueItem) int { return int(a.ID) - int(b.ID) }) {
		t.Error("pending not in ID order")
	}
	// Every message again, concurrently: all duplicates.
	var dups sync.WaitGroup
	for w := range workers {
		dups.Go(func() {
			for i := range each / 10 {
				if _, err := s.Commit(msg("ch", fmt.Sprint("S", w), fmt.Sprint("C", i)), []string{"ch/d"}, time.Hour); !errors.Is(err, ErrDuplicate) {
					t.Errorf("recommit: %v", err)
				}
			}
		})
	}
	dups.Wait()
}

func TestClosedStore(t *testing.T) {
	s := newStore(t)
	id := mustCommit(t, s, msg("ch", "S", "C"), "ch/d")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]error{}
	_, calls["Get"] = s.Get(id)
	_, calls["Search"] = s.Search(Query{})
	_, calls["Pending"] = s.Pending("ch/d", 0, 1)
	_, calls["QueueDepth"] = s.QueueDepth("ch/d")
	calls["Deliver"] = s.Deliver(id, "ch/d", Delivery{Status: StatusSent}, nil)
	calls["Retry"] = s.Retry(id, "ch/d", 1, time.Now(), "x")
	calls["DeadLetter"] = s.DeadLetter(id, "ch/d", 1, "x")
	calls["Requeue"] = s.Requeue(id, []string{"ch/d"})
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v", name, err)
		}
	}
	s.StartPruner(nil) // no-op
}
