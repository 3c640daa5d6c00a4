package channels

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

// BenchmarkPipeline measures the receive path from an in-memory source:
// parse, filter, two transform steps, the synced Badger commit and the ACK.
// RunParallel at 8× GOMAXPROCS shows concurrent commits sharing syncs.
func BenchmarkPipeline(b *testing.B) {
	dir := b.TempDir()
	st := openStore(b, dir)
	defer st.Close()
	ch := mllpChannel("bench", mllpDest("iis", "127.0.0.1:9")) // workers are not started
	ch.Filter.Expr = `type == "VXU" && has("RXA")`
	ch.Transforms = []mapping.StepConfig{
		{Set: &mapping.SetStep{Path: "MSH-6", Value: "STATEIIS"}},
		{Map: &mapping.MapStep{Path: "PID-8", Table: map[string]string{"F": "F", "M": "M"}}},
	}
	e, err := New(Config{Channels: []ChannelConfig{ch}}, st, zerolog.Nop(), Options{PatientKey: []byte("bench-key")})
	if err != nil {
		b.Fatal(err)
	}
	defer e.closeFresh(context.Background(), e.plan)
	p := e.plan.pipes["bench"]
	var seq atomic.Int64
	one := func(b *testing.B) {
		raw := vxu(fmt.Sprintf("B%07d", seq.Add(1)), "PAT123")
		if r := e.receive(context.Background(), p, raw, "bench"); r.verdict != verdictAccepted {
			m, _ := hl7.Parse(r.ack)
			b.Fatalf("ack %s", m.Value("MSA-1"))
		}
	}
	// serial is one sender: every message waits for its own sync.
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(vxu("B0000000", "PAT123"))))
		b.ReportAllocs()
		start, n := time.Now(), 0
		for b.Loop() {
			one(b)
			n++
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	})
	// parallel8 is 8×GOMAXPROCS senders whose commits share syncs.
	b.Run("parallel8", func(b *testing.B) {
		b.SetBytes(int64(len(vxu("B0000000", "PAT123"))))
		b.ReportAllocs()
		b.SetParallelism(8)
		var n atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one(b)
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "msgs/s")
	})
}
