// Package ehrtest plays the EHR's side in tests of the engine, the console
// and the CLI: an MLLP peer on loopback that answers AA to what it is sent,
// and a wait for what it has received. It is imported only by tests.
package ehrtest

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// Acker runs an MLLP server on loopback until the test ends and returns its
// address. It answers AA to every message that parses, after handing it to
// seen (if not nil; seen runs on the connection's goroutine, so it locks what
// it shares); a frame that does not parse gets no answer.
func Acker(t testing.TB, seen func(*hl7.Message)) string {
	t.Helper()
	h := mllp.HandlerFunc(func(_ context.Context, r *mllp.Request) []byte {
		m, err := hl7.Parse(bytes.Clone(r.Payload))
		if err != nil {
			return nil
		}
		if seen != nil {
			seen(m)
		}
		return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{})
	})
	srv, err := mllp.New(mllp.Config{Addr: "127.0.0.1:0"}, h, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// waitLimit is how long WaitFor waits: generous, because CI runs the race
// detector on two cores.
var waitLimit = 15 * time.Second

// WaitFor polls cond every 10 ms and fails t when it is still false after
// waitLimit.
func WaitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
			return
		}
	}
}
