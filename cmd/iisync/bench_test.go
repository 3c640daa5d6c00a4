package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
)

// The benchmarks here run the whole receive path of `iisync serve` in
// process, over real loopback sockets: MLLP in, parse, the synced commit to
// the store, then the AA. The channel has one MLLP destination, an
// in-process ACK responder, so deliveries run alongside as in production.
// Client, engine and destination share this process's GOMAXPROCS; the
// out-of-process comparison with the peer servers is scripts/bench-e2e.sh.
//
//	go test -run '^$' -bench 'Serve' -count 3 ./cmd/iisync/

// benchSeq makes control IDs unique across benchmarks and -count runs.
var benchSeq atomic.Int64

// benchVXU is a synthetic VXU with the canary patient and control ID id.
func benchVXU(id string) []byte {
	return []byte(strings.Replace(canaryVXU, "CANARY-1", id, 1))
}

// benchEngine is `iisync serve -c FILE` started in process for a benchmark.
type benchEngine struct {
	addr string // the channel's MLLP source
	log  *phitest.LogBuffer
}

// startBenchEngine starts an ACK-only MLLP peer as the destination and then
// serve with one channel "vxu-in" (MLLP source → MLLP destination "peer"),
// logging at warn. Both stop when b ends.
func startBenchEngine(b *testing.B) *benchEngine {
	b.Helper()
	dir := b.TempDir()
	peer := ehrtest.Acker(b, nil)
	var y strings.Builder
	fmt.Fprintf(&y, "storage:\n  path: %s\n", filepath.Join(dir, "store"))
	fmt.Fprintf(&y, "security:\n  patient_ref_key_file: %s\n  create_keys: true\n", filepath.Join(dir, "patient.key"))
	fmt.Fprintf(&y, "api:\n  addr: 127.0.0.1:0\nlog:\n  level: warn\n  format: json\nshutdown_grace: 5s\n")
	fmt.Fprintf(&y, "channels:\n  - name: vxu-in\n    source:\n      mllp:\n        addr: 127.0.0.1:0\n")
	fmt.Fprintf(&y, "    destinations:\n      - name: peer\n        mllp:\n          addr: %s\n", peer)
	cfg := filepath.Join(dir, "iisync.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		b.Fatal(err)
	}

	e := &benchEngine{log: &phitest.LogBuffer{}}
	ready := make(chan *running, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	o := serveOptions{configFile: cfg, ready: func(r *running) { ready <- r }}
	go func() { done <- serve(ctx, &env{stdin: strings.NewReader(""), stdout: e.log, stderr: e.log}, o) }()
	var run *running
	select {
	case run = <-ready:
	case code := <-done:
		cancel()
		b.Fatalf("serve exited with %d before listening:\n%s", code, e.log)
	case <-time.After(20 * time.Second):
		cancel()
		b.Fatal("serve did not start listening")
	}
	for _, c := range run.Engine.Channels() {
		if c.Name == "vxu-in" && c.Source == "mllp" {
			e.addr = c.Address
		}
	}
	if e.addr == "" {
		cancel()
		b.Fatal("channel vxu-in has no MLLP source")
	}
	b.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			b.Errorf("serve exited %d:\n%s", code, e.log)
		}
		for _, canary := range []string{"ZZTEST", "PAT123", "20200101"} {
			if strings.Contains(e.log.String(), canary) {
				b.Errorf("server log leaks %s", canary)
			}
		}
	})
	return e
}

// newBenchSender is one client connection to addr.
func newBenchSender(b *testing.B, addr string) *mllp.Sender {
	b.Helper()
	s, err := mllp.NewSender(mllp.SenderConfig{Addr: addr, ACKTimeout: 10 * time.Second}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// sendAA sends one fresh canary VXU on s and checks that the reply is AA for
// its control ID.
func sendAA(ctx context.Context, s *mllp.Sender) error {
	id := fmt.Sprintf("BENCH-%09d", benchSeq.Add(1))
	_, err := s.Send(ctx, benchVXU(id), func(reply []byte) error {
		m, err := hl7.Parse(reply)
		if err != nil {
			return err
		}
		if code, got := m.Value("MSA-1"), m.Value("MSA-2"); code != "AA" || got != id {
			return fmt.Errorf("MSA %s|%s, want AA|%s", code, got, id)
		}
		return nil
	})
	return err
}

// reportLatency reports the p50, p99 and max of d in milliseconds.
func reportLatency(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(ms(at(0.50)), "p50_ms")
	b.ReportMetric(ms(at(0.99)), "p99_ms")
	b.ReportMetric(ms(d[len(d)-1]), "max_ms")
}

// BenchmarkServeMLLP is issue 3's throughput figure: 8 connections, each an
// mllp.Sender sending one message at a time and waiting for its AA (the
// in-process equivalent of `mllpload -c 8 -w 1`). One op is one message
// handed to the pool, so ns/op is the inverse of the throughput.
func BenchmarkServeMLLP(b *testing.B) {
	const conns = 8
	e := startBenchEngine(b)
	ctx := b.Context()
	b.SetBytes(int64(len(benchVXU("BENCH-000000000"))))

	work := make(chan struct{}, conns)
	lat := make([][]time.Duration, conns)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i := range conns {
		s := newBenchSender(b, e.addr)
		if err := sendAA(ctx, s); err != nil { // connect before timing
			b.Fatalf("warm-up: %v\n%s", err, e.log)
		}
		wg.Go(func() {
			for range work {
				if failed.Load() {
					continue // drain, so the loop below never blocks
				}
				t0 := time.Now()
				if err := sendAA(ctx, s); err != nil {
					b.Errorf("conn %d: %v", i, err)
					failed.Store(true)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}

	start := time.Now()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	reportLatency(b, all)
}

// BenchmarkServePaced500 is issue 3's latency figure: one connection sending
// at 500 messages/s (one every 2 ms, on a ticker), each waiting for its AA.
// It reports the ACK latency percentiles and how many ticks were missed
// because a send took longer than the interval. One op is one message, so
// ns/op is about the 2 ms interval; for a stable p99 give it enough messages
// (-benchtime 5000x, 10 s).
func BenchmarkServePaced500(b *testing.B) {
	const interval = 2 * time.Millisecond
	e := startBenchEngine(b)
	ctx := b.Context()
	s := newBenchSender(b, e.addr)
	if err := sendAA(ctx, s); err != nil { // connect before timing
		b.Fatalf("warm-up: %v\n%s", err, e.log)
	}
	b.SetBytes(int64(len(benchVXU("BENCH-000000000"))))

	var lat []time.Duration
	var late int
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := time.Now()
	for b.Loop() {
		at := <-tick.C
		if at.Sub(last) > interval+interval/2 {
			late++ // the ticker dropped a tick: the previous send overran
		}
		last = at
		t0 := time.Now()
		if err := sendAA(ctx, s); err != nil {
			b.Fatalf("%v\n%s", err, e.log)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(late), "missed_ticks")
}
