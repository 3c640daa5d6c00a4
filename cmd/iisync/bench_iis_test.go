package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
)

// iisBenchVXU returns the NIST AD-1.1 VXU (3 administered doses, 2
// historical, about 3 KB) with MSH-10, the MRN and the family name set from
// id, so every message is a new patient for the registry (as in a day of
// a clinic's traffic) rather than one record growing without end.
func iisBenchVXU(b *testing.B) func(id string) []byte {
	b.Helper()
	raw, err := os.ReadFile("../../testdata/messages/nist-onc2015/vxu_z22_AD-1.1_multi_rxa_ndc_plus_historical.hl7")
	if err != nil {
		b.Fatal(err)
	}
	m, err := hl7.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return func(id string) []byte {
		c, err := m.Set("MSH-10", id)
		if err == nil {
			c, err = c.Set("PID-3.1", id)
		}
		if err == nil {
			c, err = c.Set("PID-5.1", "Zzbench"+letters(id))
		}
		if err != nil {
			b.Fatal(err)
		}
		return c.Encode()
	}
}

// letters spells the digits of id as letters (names hold no digits).
func letters(id string) string {
	b := []byte(id)
	out := b[:0]
	for _, c := range b {
		if c >= '0' && c <= '9' {
			out = append(out, 'a'+c-'0')
		}
	}
	return string(out)
}

// BenchmarkServeIIS is issue 4's end-to-end figure: EHR → iisync → IIS
// sandbox over HTTPS with keep-alive, all in this process on loopback.
// 8 MLLP connections hand b.N VXUs to `serve` (each AA after the durable
// commit); the channel's iis destination submits each to the sandbox over
// SOAP 1.2, classifies the registry's ACK, records it and queues the
// return to an in-process EHR listener. msgs/s is b.N over the time from
// the first send until the registry has answered every message and the
// results are stored (the destination queue is empty).
//
// The registry shares this process, holding every patient in memory, so
// serve's default 256 MiB Go memory limit (meant for the engine alone)
// is lifted here: with it the collector, not the engine, set the pace.
func BenchmarkServeIIS(b *testing.B) {
	b.Setenv("IISYNC_TEST_SANDBOX_PASSWORD", sandboxPassword)
	b.Setenv("GOMEMLIMIT", "off") // serve leaves the limit alone
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	dir := b.TempDir()
	ehr := startEHR(b)
	e := &engine{dir: dir, log: &phitest.LogBuffer{}}
	e.configFile = writeIISConfig(b, dir, freePort(b), ehr.addr)
	run, stop := bootBench(b, e)
	defer stop()
	addr := mllpAddr(b, run, "vxu-in")
	vxu := iisBenchVXU(b)
	b.SetBytes(int64(len(vxu("BENCH-000000000"))))

	const conns = 8
	var seq atomic.Int64
	work := make(chan struct{}, conns)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i := range conns {
		s := newBenchSender(b, addr)
		wg.Go(func() {
			for range work {
				if failed.Load() {
					continue
				}
				id := fmt.Sprintf("IISBENCH-%09d", seq.Add(1))
				if _, err := s.Send(b.Context(), vxu(id), nil); err != nil {
					b.Errorf("conn %d: %v", i, err)
					failed.Store(true)
				}
			}
		})
	}
	start := time.Now()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	ingest := time.Since(start)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		n, err := run.Store.QueueDepth("vxu-in/iis")
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d still queued for the registry", n)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(seq.Load())/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(seq.Load())/ingest.Seconds(), "ingest_msgs/s")
	if s := e.log.String(); strings.Contains(s, sandboxPassword) {
		b.Error("the registry password leaked into the log")
	}
}

// bootBench runs serve -c e.configFile in-process for a benchmark.
func bootBench(b *testing.B, e *engine) (*running, func()) {
	b.Helper()
	ready := make(chan *running, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	o := serveOptions{configFile: e.configFile, ready: func(r *running) { ready <- r }}
	go func() { done <- serve(ctx, &env{stdin: strings.NewReader(""), stdout: e.log, stderr: e.log}, o) }()
	select {
	case r := <-ready:
		return r, func() {
			cancel()
			if code := <-done; code != 0 {
				b.Errorf("serve exited %d:\n%s", code, e.log)
			}
		}
	case code := <-done:
		cancel()
		b.Fatalf("serve exited with %d before listening:\n%s", code, e.log)
	case <-time.After(20 * time.Second):
		cancel()
		b.Fatal("serve did not start listening")
	}
	return nil, nil
}
