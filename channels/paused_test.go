package channels

import (
	"slices"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
)

// TestPausedDestination: a paused destination keeps queueing (AA after the
// commit as always) and delivers nothing; a reload that resumes it
// delivers the queue in order.
func TestPausedDestination(t *testing.T) {
	peer := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	dest := mllpDest("iis", peer.addr)
	dest.Paused = true
	ch := mllpChannel("vxu", dest)
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	for _, ctl := range []string{"P1", "P2", "P3"} {
		if code, _ := msa(t, send(t, h.addr("vxu"), vxu(ctl, "PAT123"))); code != "AA" {
			t.Fatalf("%s: MSA-1 %s", ctl, code)
		}
	}
	time.Sleep(200 * time.Millisecond) // what a running worker needs to deliver three
	if got := peer.received(); len(got) != 0 {
		t.Fatalf("paused destination delivered %v", got)
	}
	info := h.e.Channels()[0].Destinations[0]
	if !info.Paused || info.Depth != 3 {
		t.Errorf("destination info %+v, want paused with 3 queued", info)
	}
	if m := h.find("P1"); m.Status != store.StatusQueued {
		t.Errorf("P1 status %s, want queued", m.Status)
	}

	ch.Destinations[0].Paused = false
	if err := h.e.Apply(t.Context(), Config{Channels: []ChannelConfig{ch}}); err != nil {
		t.Fatal(err)
	}
	for _, ctl := range []string{"P1", "P2", "P3"} {
		h.waitStatus(ctl, store.StatusAccepted)
	}
	if got := peer.received(); !slices.Equal(got, []string{"P1", "P2", "P3"}) {
		t.Errorf("delivered %v, want P1 P2 P3 in order", got)
	}
}
