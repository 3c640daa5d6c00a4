package mllp

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// chunkReader returns at most n bytes per Read, so a read holds several
// frames and frames straddle reads.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

func BenchmarkScan(b *testing.B) {
	for _, size := range []int{1 << 10, 2 << 10} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			payload := bytes.Repeat([]byte("PID|1||PAT123^^^MRN||ZZTEST^ALPHA||20200101|F\r"), size/45+1)[:size]
			const frames = 64
			var wire []byte
			for range frames {
				wire = AppendFrame(wire, payload)
			}
			rd := bytes.NewReader(wire)
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(wire)
				sc := NewScanner(chunkReader{rd, 8 << 10}, 0)
				n := 0
				for sc.Scan() {
					n++
				}
				if n != frames {
					b.Fatalf("scanned %d frames", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
		})
	}
}

func BenchmarkServerRoundTrip(b *testing.B) {
	r := startServer(b, testConfig(), ackHandler, zerolog.Nop(), nil)
	cfg := testSender(r.addr)
	cfg.ACKTimeout = 5 * time.Second
	s := newSender(b, cfg)
	payload := msg("BENCH1")
	verify := verifyID("BENCH1")
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Send(b.Context(), payload, verify); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
