package channels

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
)

// vxu returns a test VXU with control id ctl for patient mrn.
func vxu(ctl, mrn string) []byte {
	return []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000||VXU^V04^VXU_V04|" + ctl + "|P|2.5.1\r" +
		"PID|1||" + mrn + "^^^CLINIC^MR||ZZTEST^CHILD||20200101|F\r" +
		"RXA|0|1|20250101|20250101|08^HepB^CVX|0.5|mL\r")
}

// fastRetry keeps tests quick.
var fastRetry = RetryConfig{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxAttempts: 50, MaxAge: time.Hour}

// harness is one engine on a real Badger store in a temp dir.
type harness struct {
	t    *testing.T
	dir  string
	st   *store.Store
	e    *Engine
	logs *phitest.LogBuffer
	mux  *http.ServeMux
	reg  *prometheus.Registry
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Config{Path: dir + "/db", KeyFile: dir + "/key", CreateKey: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newHarness starts an engine for cfg; cleanup shuts it down, closes the
// store and checks the logs for PHI canaries.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), logs: &phitest.LogBuffer{}, mux: http.NewServeMux()}
	h.st = openStore(t, h.dir)
	h.e = h.start(cfg)
	t.Cleanup(func() {
		h.stop()
		_ = h.st.Close()
		checkCanaries(t, h.logs.String())
	})
	return h
}

// start builds and starts an engine on h's store.
func (h *harness) start(cfg Config) *Engine {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	log := zerolog.New(h.logs).Level(zerolog.DebugLevel)
	e, err := New(cfg, h.st, log, Options{PatientKey: []byte("test-patient-key-0123"), Registerer: h.reg, HTTPMux: h.mux})
	if err != nil {
		h.t.Fatal(err)
	}
	e.depthEvery = 50 * time.Millisecond
	if err := e.Start(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
	return e
}

func (h *harness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.e.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
}

func checkCanaries(t testing.TB, logs string) {
	t.Helper()
	phitest.Check(t, "log output", logs)
}

// addr returns the bound address of channel name's MLLP source.
func (h *harness) addr(name string) string {
	for _, c := range h.e.Channels() {
		if c.Name == name {
			return c.Address
		}
	}
	h.t.Fatalf("no channel %q", name)
	return ""
}

// send sends raw to addr over MLLP and returns the ACK.
func send(t testing.TB, addr string, raw []byte) []byte {
	t.Helper()
	s, err := mllp.NewSender(mllp.SenderConfig{Addr: addr, ACKTimeout: 10 * time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ack, err := s.Send(context.Background(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// msa returns MSA-1 and MSA-2 of ack.
func msa(t testing.TB, ack []byte) (code, control string) {
	t.Helper()
	m, err := hl7.Parse(ack)
	if err != nil {
		t.Fatalf("ack does not parse: %v", err)
	}
	return m.Value("MSA-1"), m.Value("MSA-2")
}

// find returns the newest stored message with control id ctl.
func (h *harness) find(ctl string) *store.Message {
	h.t.Helper()
	ms, err := h.st.Search(store.Query{ControlID: ctl})
	if err != nil || len(ms) == 0 {
		h.t.Fatalf("message %s not found: %v", ctl, err)
	}
	m, err := h.st.Get(ms[0].ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// waitStatus waits until message ctl has status want.
func (h *harness) waitStatus(ctl string, want store.Status) *store.Message {
	h.t.Helper()
	var m *store.Message
	ehrtest.WaitFor(h.t, func() bool {
		ms, err := h.st.Search(store.Query{ControlID: ctl})
		if err != nil || len(ms) == 0 {
			return false
		}
		m, err = h.st.Get(ms[0].ID)
		return err == nil && m.Status == want
	}, "message "+ctl+" status "+string(want))
	return m
}

// fakeIIS is a registry on a real MLLP listener answering with answer.
type fakeIIS struct {
	addr string
	srv  *mllp.Server
	mu   sync.Mutex
	got  []string // control ids received, in order
	raw  [][]byte
}

// startIIS listens on addr ("127.0.0.1:0" for any port).
func startIIS(t testing.TB, addr string, answer func(m *hl7.Message) []byte) *fakeIIS {
	t.Helper()
	f := &fakeIIS{}
	srv, err := mllp.New(mllp.Config{Addr: "127.0.0.1:0"}, mllp.HandlerFunc(func(_ context.Context, r *mllp.Request) []byte {
		m, err := hl7.Parse(bytes.Clone(r.Payload))
		if err != nil {
			return hl7.BuildNAK(r.Payload, err, "AE", hl7.ACKOptions{})
		}
		f.mu.Lock()
		f.got = append(f.got, m.ControlID())
		f.raw = append(f.raw, m.Raw())
		f.mu.Unlock()
		return answer(m)
	}), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	ehrtest.WaitFor(t, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }, "listen "+addr)
	f.addr, f.srv = ln.Addr().String(), srv
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { f.close(); <-done })
	return f
}

func (f *fakeIIS) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}

func (f *fakeIIS) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// ackWith answers every message with code and errs.
func ackWith(code string, errs ...hl7.ErrorDetail) func(*hl7.Message) []byte {
	return func(m *hl7.Message) []byte { return hl7.BuildACK(m, code, errs, hl7.ACKOptions{}) }
}

// freeAddr returns a loopback address nobody listens on (for a peer that
// is down, then started on the same port).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// refusingAddr is the address of a peer that closes every connection as
// soon as it is made: a destination that always fails in transport. A port
// that was merely free when asked for can be taken meanwhile by a server of
// another package's tests (go test runs packages side by side), and then
// the "dead" destination accepts.
func refusingAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String()
}

// mllpDest is an MLLP destination to addr with quick timeouts.
func mllpDest(name, addr string) DestinationConfig {
	return DestinationConfig{Name: name, MLLP: &mllp.SenderConfig{Addr: addr, DialTimeout: time.Second,
		ACKTimeout: 2 * time.Second, MaxAttempts: 1, Backoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}}
}

// mllpChannel is a channel with an MLLP source on a free port.
func mllpChannel(name string, dests ...DestinationConfig) ChannelConfig {
	return ChannelConfig{Name: name, Source: SourceConfig{MLLP: &mllp.Config{Addr: "127.0.0.1:0"}},
		Destinations: dests, Retry: fastRetry}
}

// gauge reads a gauge without labels from reg.
func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestNewValidates(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	good := Config{Channels: []ChannelConfig{mllpChannel("a", DestinationConfig{Name: "f", File: &FileDestinationConfig{Dir: t.TempDir()}})}}
	tests := []struct {
		name string
		cfg  Config
		opts Options
		want string
	}{
		{"no patient key", good, Options{}, "PatientKey"},
		{"no channels", Config{}, Options{PatientKey: []byte("k")}, "at least one channel"},
		{"bad filter", Config{Channels: []ChannelConfig{func() ChannelConfig {
			c := good.Channels[0]
			c.Filter.Expr = "type =="
			return c
		}()}}, Options{PatientKey: []byte("k")}, "channels[0].filter.expr"},
		{"http without mux", Config{Channels: []ChannelConfig{{Name: "h", Source: SourceConfig{HTTP: &HTTPSourceConfig{}},
			Destinations: good.Channels[0].Destinations}}}, Options{PatientKey: []byte("k")}, "channels[0].source.http"},
		{"shared address", Config{Channels: []ChannelConfig{fixedAddr(good.Channels[0], "a"), fixedAddr(good.Channels[0], "b")}},
			Options{PatientKey: []byte("k")}, "channels[1].source.mllp.addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, st, zerolog.Nop(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestChannelsInfo(t *testing.T) {
	iis := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	ch := mllpChannel("vxu", mllpDest("iis", iis.addr))
	ch.Return = &ReturnConfig{MLLP: mllp.SenderConfig{Addr: refusingAddr(t)}}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	infos := h.e.Channels()
	if len(infos) != 1 || infos[0].Source != "mllp" || strings.HasSuffix(infos[0].Address, ":0") {
		t.Fatalf("Channels() = %+v", infos)
	}
	var queues []string
	for _, d := range infos[0].Destinations {
		queues = append(queues, d.Queue)
	}
	if fmt.Sprint(queues) != "[vxu/iis vxu/return]" {
		t.Fatalf("queues = %v", queues)
	}
}

// fixedAddr is c named name, listening on a fixed port (port 0 is each
// channel's own and never shared).
func fixedAddr(c ChannelConfig, name string) ChannelConfig {
	c.Name = name
	c.Source.MLLP = &mllp.Config{Addr: "127.0.0.1:24601"}
	return c
}
