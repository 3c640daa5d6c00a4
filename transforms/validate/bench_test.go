package validate

import (
	"os"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// benchVXU is the 2 KB VXU the hl7 benchmarks use (NIST AD-9.1, two doses).
func benchVXU(b *testing.B) []byte {
	b.Helper()
	raw, err := os.ReadFile("../hl7/testdata/bench_vxu.hl7")
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func benchValidator(b *testing.B) *Validator {
	b.Helper()
	v, err := New(Config{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkValidateVXU validates an already parsed 2 KB VXU (Z22, two
// order groups) with every rule enabled. Target: <= 12 µs per message.
func BenchmarkValidateVXU(b *testing.B) {
	raw := benchVXU(b)
	v := benchValidator(b)
	m, err := hl7.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	if fs := v.Validate(m); len(fs) != 0 {
		b.Fatalf("bench message has findings: %v", fs)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		v.Validate(m)
	}
}

// BenchmarkParseValidateVXU is the pre-flight hot path: parse, then
// validate.
func BenchmarkParseValidateVXU(b *testing.B) {
	raw := benchVXU(b)
	v := benchValidator(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := hl7.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		v.Validate(m)
	}
}
