package channels

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
)

func TestReloadKeepsListenerAndChangesFilter(t *testing.T) {
	iis := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	ch := mllpChannel("vxu", mllpDest("iis", iis.addr))
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	addr := h.addr("vxu")
	s, err := mllp.NewSender(mllp.SenderConfig{Addr: addr}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sendOn := func(ctl string) string {
		ack, err := s.Send(context.Background(), vxu(ctl, "PAT123"), nil)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := msa(t, ack)
		return code
	}
	if code := sendOn("R1"); code != "AA" {
		t.Fatalf("before reload: %s", code)
	}

	ch.Filter = FilterConfig{Expr: `control_id != "R2"`, OnReject: "AE"}
	if err := h.e.Apply(t.Context(), Config{Channels: []ChannelConfig{ch}}); err != nil {
		t.Fatal(err)
	}
	if got := h.addr("vxu"); got != addr {
		t.Fatalf("listener moved from %s to %s", addr, got)
	}
	if code := sendOn("R2"); code != "AE" { // same connection, new filter
		t.Fatalf("after reload: %s, want AE", code)
	}
	if code := sendOn("R3"); code != "AA" {
		t.Fatalf("after reload: %s, want AA", code)
	}
	if v := gauge(t, h.reg, "iisync_config_last_reload_successful"); v != 1 {
		t.Fatalf("reload gauge %v", v)
	}
	h.waitStatus("R3", "accepted") // the reused worker still delivers
}

func TestReloadRejectedKeepsOld(t *testing.T) {
	ch := mllpChannel("vxu", parkedDest(t))
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	addr := h.addr("vxu")
	tlsOn := ch
	src := *ch.Source.MLLP
	src.TLS = &mllp.TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}
	tlsOn.Source.MLLP = &src
	badFilter := ch
	badFilter.Filter.Expr = "type =="
	added := mllpChannel("other", parkedDest(t))
	added.Source.MLLP.Addr = "127.0.0.2:0"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad filter", Config{Channels: []ChannelConfig{badFilter, added}}, "channels[0].filter.expr"},
		{"tls on a kept listener", Config{Channels: []ChannelConfig{added, tlsOn}}, "reload not supported for channels[1].source.mllp.tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.e.Apply(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply error = %v, want %q", err, tc.want)
			}
			if v := gauge(t, h.reg, "iisync_config_last_reload_successful"); v != 0 {
				t.Fatalf("reload gauge %v, want 0", v)
			}
			if code, _ := msa(t, send(t, addr, vxu("K1", "PAT123"))); code != "AA" {
				t.Fatalf("old config answers %s", code)
			}
			if n := len(h.e.Channels()); n != 1 {
				t.Fatalf("%d channels running, want the old 1", n)
			}
		})
	}
}

func TestReloadAddsAndRemovesChannels(t *testing.T) {
	iis := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	a := mllpChannel("a", mllpDest("iis", iis.addr))
	h := newHarness(t, Config{Channels: []ChannelConfig{a}})
	oldAddr := h.addr("a")
	b := mllpChannel("b", mllpDest("iis", iis.addr))
	b.Source.MLLP.Addr = "127.0.0.2:0"
	if err := h.e.Apply(t.Context(), Config{Channels: []ChannelConfig{b}}); err != nil {
		t.Fatal(err)
	}
	send(t, h.addr("b"), vxu("N1", "PAT123"))
	h.waitStatus("N1", "accepted")
	s, _ := mllp.NewSender(mllp.SenderConfig{Addr: oldAddr, DialTimeout: 200 * time.Millisecond, MaxAttempts: 1}, zerolog.Nop())
	defer s.Close()
	if _, err := s.Send(t.Context(), vxu("N2", "PAT123"), nil); err == nil {
		t.Fatal("removed channel's listener still accepts")
	}
	if _, ok := (*h.e.workers.Load())["a/iis"]; ok {
		t.Fatal("removed channel's worker still runs")
	}
}
