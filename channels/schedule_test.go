package channels

import (
	"slices"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
)

// TestScheduledDestination: a destination with a schedule queues (AA after
// the commit as always) and delivers nothing until the schedule fires, then
// everything queued, in order.
func TestScheduledDestination(t *testing.T) {
	peer := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	dest := mllpDest("iis", peer.addr)
	dest.Schedule = "@hourly"
	ch := mllpChannel("vxu", dest)
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	h.stop()

	// The engine's clock stands 3 s before the top of the hour (room for the three sends on a slow machine).
	real := time.Now()
	top := real.Truncate(time.Hour).Add(time.Hour)
	offset := top.Add(-3 * time.Second).Sub(real)
	e, err := New(Config{Channels: []ChannelConfig{ch}}, h.st, h.e.log, Options{
		PatientKey: []byte("test-patient-key-0123"), Now: func() time.Time { return time.Now().Add(offset) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.e = e
	for _, ctl := range []string{"S1", "S2", "S3"} {
		if code, _ := msa(t, send(t, h.addr("vxu"), vxu(ctl, "PAT123"))); code != "AA" {
			t.Fatalf("%s: MSA-1 %s", ctl, code)
		}
	}
	if got := peer.received(); len(got) != 0 {
		t.Fatalf("delivered %v before the schedule fired", got)
	}
	if m := h.find("S1"); m.Status != store.StatusQueued {
		t.Errorf("S1 status %s before the tick, want queued", m.Status)
	}
	for _, ctl := range []string{"S1", "S2", "S3"} {
		h.waitStatus(ctl, store.StatusAccepted)
	}
	if got := peer.received(); !slices.Equal(got, []string{"S1", "S2", "S3"}) {
		t.Errorf("delivered %v, want S1 S2 S3 in order", got)
	}
}

func TestScheduleValidation(t *testing.T) {
	d := mllpDest("iis", "127.0.0.1:9")
	d.Schedule = "every hour"
	if err := d.Validate(); err == nil {
		t.Fatal("a bad schedule validated")
	}
}
