package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

const sendUsage = `usage: iisync send --to HOST:PORT [--tls] [--ca FILE] [--cert FILE --key FILE] FILE...

Sends every message in the files over MLLP, one at a time on one connection,
and prints one line per message: control ID, MSA-1, and a summary of the ERR
segments. A reply whose MSA-2 is not the MSH-10 sent is an error.
Exits 1 if any message was not answered AA.

`

func runSend(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("send", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, sendUsage); fs.PrintDefaults() }
	to := fs.String("to", "", "receiver `host:port` (required)")
	useTLS := fs.Bool("tls", false, "use TLS (implied by --ca or --cert)")
	ca := fs.String("ca", "", "PEM `file` of the CA to trust (default: system roots)")
	cert := fs.String("cert", "", "PEM client certificate `file` for mutual TLS")
	key := fs.String("key", "", "PEM client key `file` for mutual TLS")
	serverName := fs.String("server-name", "", "TLS server `name` to verify, if not the host of --to")
	ackTimeout := fs.Duration("ack-timeout", 30*time.Second, "how long to wait for each ACK")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *to == "" || len(files) == 0 {
		fs.Usage()
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(e.stderr, "iisync send: --cert and --key go together")
		return 2
	}
	cfg := mllp.SenderConfig{Addr: *to, ACKTimeout: *ackTimeout}
	if *useTLS || *ca != "" || *cert != "" {
		cfg.TLS = &mllp.TLSConfig{CAFile: *ca, CertFile: *cert, KeyFile: *key, ServerName: *serverName}
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "iisync send: %v\n", err)
		return 2
	}
	msgs, err := readMessages(e.stdin, files)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync send: %v\n", err)
		return 1
	}
	if len(msgs) == 0 {
		fmt.Fprintln(e.stderr, "iisync send: no messages found")
		return 1
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: e.stderr, NoColor: true}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	s, err := mllp.NewSender(cfg, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync send: %v\n", err)
		return 2
	}
	defer s.Close()

	failed := 0
	for _, fm := range msgs {
		if !sendOne(ctx, e.stdout, s, fm) {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "iisync send: %d of %d messages not accepted (AA)\n", failed, len(msgs))
		return 1
	}
	return 0
}

// sendOne sends one message and prints its result line; it reports whether
// the message was answered AA.
func sendOne(ctx context.Context, w io.Writer, s *mllp.Sender, fm fileMessage) bool {
	m, err := hl7.Parse(fm.raw)
	if err != nil {
		fmt.Fprintf(w, "%s\tNOT SENT\t%v\n", fm.where(), err)
		return false
	}
	id := m.ControlID()
	verify := func(reply []byte) error {
		_, err := hl7.CheckACK(reply, id)
		return err
	}
	reply, err := s.Send(ctx, m.Encode(), verify)
	if err != nil {
		fmt.Fprintf(w, "%s\tERROR\t%v\n", id, err)
		return false
	}
	ack, err := hl7.Parse(reply)
	if err != nil {
		fmt.Fprintf(w, "%s\tERROR\treply: %v\n", id, err)
		return false
	}
	code := ack.Value("MSA-1")
	fmt.Fprintf(w, "%s\t%s\t%s\n", id, code, errSummary(ack))
	return code == "AA" || code == "CA"
}

// errSummary describes the ERR segments of an ACK in one line:
// "2 ERR: E RXA^1^5^1^1 999 (5) Vaccine code not recognized; W …".
func errSummary(ack *hl7.Message) string {
	var parts []string
	for seg := range ack.SegmentsNamed("ERR") {
		sev := seg.Field(4).String()
		loc := seg.Field(2).String()
		if loc == "" {
			loc = seg.Field(1).String() // older ACKs put the location or code in ERR-1
		}
		p := strings.TrimSpace(strings.Join(nonEmpty(sev, loc, seg.Field(3).Component(1).String()), " "))
		if app := seg.Field(5).Component(1).String(); app != "" {
			p += " (" + app + ")"
		}
		if msg := seg.Field(8).String(); msg != "" {
			p += " " + msg
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "no ERR"
	}
	return fmt.Sprintf("%d ERR: %s", len(parts), strings.Join(parts, "; "))
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
