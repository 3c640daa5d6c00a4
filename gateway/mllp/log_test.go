package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/internal/phitest"
)

// TestNoPHIInLogs runs full exchanges, failures included, with debug
// logging and checks that no canary marker reaches a log line or an error.
func TestNoPHIInLogs(t *testing.T) {
	var sink phitest.LogBuffer
	log := zerolog.New(&sink).Level(zerolog.DebugLevel)
	h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
		switch {
		case req.Truncated:
			return ack("AR", req.Payload)
		case controlID(req.Payload) == "NOACK":
			return nil
		case controlID(req.Payload) == "PANIC":
			panic(string(req.Payload)) // a careless handler: the value must not be logged
		}
		return ack("AA", req.Payload)
	})
	cfg := testConfig()
	cfg.MaxFrameBytes = 1024
	r := startServer(t, cfg, h, log.With().Str("component", "server").Logger(), nil)
	scfg := testSender(r.addr)
	scfg.ACKTimeout = 100 * time.Millisecond
	s, err := NewSender(scfg, log.With().Str("component", "sender").Logger())
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	send := func(p []byte, verify func([]byte) error) {
		if _, err := s.Send(t.Context(), p, verify); err != nil {
			errs = append(errs, err)
		}
	}
	send(msg("LOG1"), verifyID("LOG1"))
	send(msg("LOG2"), func(reply []byte) error { return errMismatch })
	send(msg("NOACK"), nil)
	send(append(msg("BIG"), bytes.Repeat([]byte(canaryPID), 100)...), nil)
	send(msg("PANIC"), nil)
	c := dialRaw(t, r.addr)
	_, _ = c.Write([]byte("ZZTEST garbage\x0bPID|PAT123 partial" + string(Encode(msg("RAW1")))))
	c.next(t, 2*time.Second)
	_, _ = c.Write([]byte("\x0bPID|1||PAT123|ZZTEST^TRAILING"))
	c.Close()
	_ = s.Close()
	r.stop(t)
	if len(errs) < 3 {
		t.Fatalf("expected failing sends, got %d errors", len(errs))
	}
	out := sink.String()
	if !strings.Contains(out, `"message":"frame"`) || !strings.Contains(out, "connection closed") {
		t.Fatalf("log output lacks the expected lines:\n%s", out)
	}
	for _, e := range errs {
		out += fmt.Sprintf("\n%v %+v %#v %s", e, e, e, errors.Unwrap(e))
	}
	for _, canary := range []string{"ZZTEST", "PAT123", "20200101"} {
		if strings.Contains(out, canary) {
			t.Errorf("canary %s leaked:\n%s", canary, out)
		}
	}
}
