package main

// The crash-safety proof of issue 3 §8: a real engine process takes MLLP
// traffic over several connections and is killed with SIGKILL at random
// points, then restarted. Every message it answered AA must afterwards be in
// the store and delivered downstream (at least once).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/transforms/hl7"
)

// downstream records every control ID an ehrtest.Acker hands it.
type downstream struct {
	mu   sync.Mutex
	seen map[string]int
}

func (d *downstream) record(m *hl7.Message) {
	d.mu.Lock()
	d.seen[m.ControlID()]++
	d.mu.Unlock()
}

func (d *downstream) count(ids []string) (missing int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if d.seen[id] == 0 {
			missing++
		}
	}
	return missing
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iisync")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestCrashSafetySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skips under -short")
	}
	dir := t.TempDir()
	bin := buildBinary(t)

	down := &downstream{seen: map[string]int{}}
	downAddr := ehrtest.Acker(t, down.record)

	inAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfgPath := filepath.Join(dir, "crash.yaml")
	cfg := fmt.Sprintf(`storage:
  path: %[1]s/store
  key_file: %[1]s/store.key
security:
  patient_ref_key_file: %[1]s/patient-ref.key
  create_keys: true
api:
  addr: %[2]s
channels:
  - name: crash
    source:
      mllp:
        addr: %[3]s
    destinations:
      - name: downstream
        mllp:
          addr: %[4]s
          ack_timeout: 5s
        retry:
          initial_backoff: 20ms
          max_backoff: 200ms
          max_attempts: 1000
`, dir, apiAddr, inAddr, downAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked []string
		seq   int
	)
	nextID := func() (string, int) {
		mu.Lock()
		defer mu.Unlock()
		seq++
		return fmt.Sprintf("CRASH-%06d", seq), seq
	}
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-c", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if !testing.Verbose() {
			cmd.Stdout, cmd.Stderr = nil, nil
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitListening(t, inAddr)
		return cmd
	}

	// Senders run across every restart; a failed send is simply not counted.
	ctx, stopSending := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	for c := range 4 {
		senders.Go(func() {
			s, err := mllp.NewSender(mllp.SenderConfig{Addr: inAddr, ACKTimeout: 3 * time.Second, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 2}.WithDefaults(), zerolog.Nop())
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			for ctx.Err() == nil {
				id, n := nextID()
				msg := fmt.Sprintf("MSH|^~\\&|EHR|CLINIC%d|IIS|STATE|20250101120000||VXU^V04^VXU_V04|%s|P|2.5.1\rPID|1||PAT%d^^^CLINIC^MR||ZZTEST^CRASH||20200101|F\r", c, id, n%50)
				reply, err := s.Send(ctx, []byte(msg), func(r []byte) error { _, err := hl7.CheckACK(r, id); return err })
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if code, _ := hl7.CheckACK(reply, id); code == "AA" {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}

	const rounds = 5
	for round := range rounds {
		cmd := start()
		time.Sleep(time.Duration(200+rand.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("round %d: killed after %d AA", round, ackedCount())
	}
	cmd := start()
	time.Sleep(500 * time.Millisecond)
	stopSending()
	senders.Wait()

	mu.Lock()
	ids := append([]string(nil), acked...)
	mu.Unlock()
	if len(ids) < 100 {
		t.Fatalf("only %d messages were acknowledged; the test proves nothing", len(ids))
	}
	deadline := time.Now().Add(60 * time.Second)
	for down.count(ids) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if m := down.count(ids); m > 0 {
		t.Errorf("%d of %d AA-acknowledged messages never reached downstream", m, len(ids))
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	st, err := store.Open(store.Config{Path: filepath.Join(dir, "store"), KeyFile: filepath.Join(dir, "store.key")}.WithDefaults(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	missing := 0
	for _, id := range ids {
		got, err := st.Search(store.Query{ControlID: id, Limit: 5})
		if err != nil || len(got) == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d AA-acknowledged messages are not in the store", missing, len(ids))
	}
	t.Logf("%d messages acknowledged AA across %d SIGKILLs; all stored and delivered", len(ids), rounds)
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("engine did not listen on %s", addr)
}
