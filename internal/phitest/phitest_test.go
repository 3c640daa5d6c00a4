package phitest

import (
	"sync"
	"testing"
)

func TestLogBufferConcurrentWrites(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = l.Write([]byte("x"))
			}
		})
	}
	wg.Wait()
	if n := len(l.String()); n != 800 {
		t.Fatalf("got %d bytes, want 800", n)
	}
}

// fakeT records failures instead of failing the real test.
type fakeT struct {
	testing.TB
	failed int
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed++ }

func TestCheck(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"control_id=X1 bytes=120", 0},
		{"name ZZTESTLAST", 1},
		{"PAT123 born 20200101", 2},
	}
	for _, tc := range tests {
		f := &fakeT{}
		Check(f, "log", tc.s)
		if f.failed != tc.want {
			t.Errorf("Check(%q) failed %d times, want %d", tc.s, f.failed, tc.want)
		}
	}
}
