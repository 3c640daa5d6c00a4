package hl7

import (
	"os"
	"testing"
	"time"
)

func benchVXU(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile("testdata/bench_vxu.hl7")
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkParse(b *testing.B) {
	raw := benchVXU(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseGet6 is the hot path of a pipeline step: parse, then read the
// six fields routing and logging need. Target: >= 300 MB/s, <= 10 allocs/op.
func BenchmarkParseGet6(b *testing.B) {
	raw := benchVXU(b)
	paths := []string{"MSH-9", "MSH-10", "PID-3.1", "PID-5.1", "PID-7", "RXA-5.1"}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range paths {
			if _, ok, err := m.Get(p); !ok || err != nil {
				b.Fatal(p, ok, err)
			}
		}
	}
}

func BenchmarkEncodeEdited(b *testing.B) {
	raw := benchVXU(b)
	m, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := m.Set("PID-5.1", "ZZTEST^O'Brien")
		if err != nil {
			b.Fatal(err)
		}
		if len(e.Encode()) == 0 {
			b.Fatal("empty")
		}
	}
}

func BenchmarkACK(b *testing.B) {
	raw := benchVXU(b)
	m, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	errs := []ErrorDetail{{
		Location: Location{Segment: "RXA", Seq: 1, Field: 5, Rep: 1, Component: 1},
		Code:     "999", CodeText: "Application error", Severity: 'E',
		AppCode: "5", AppCodeText: "Table value not found",
		UserMessage: "Vaccine code not recognized - message rejected",
	}}
	opt := ACKOptions{ControlID: "ACK-1", Now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	b.SetBytes(int64(len(BuildACK(m, "AE", errs, opt))))
	b.ReportAllocs()
	for b.Loop() {
		BuildACK(m, "AE", errs, opt)
	}
}
