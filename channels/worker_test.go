package channels

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

func TestDeliveryVerdicts(t *testing.T) {
	warn := hl7.ErrorDetail{Code: "0", Severity: 'W', AppCode: "5", UserMessage: "informational only"}
	reject := hl7.ErrorDetail{Code: "101", Severity: 'E', AppCode: "4", UserMessage: "required field missing"}
	tests := []struct {
		name   string
		answer func(*hl7.Message) []byte
		want   store.Status
		code   string
	}{
		{"accepted", ackWith("AA"), store.StatusAccepted, "AA"},
		{"accepted with warnings", ackWith("AA", warn), store.StatusAcceptedWithWarnings, "AA"},
		{"rejected AE", ackWith("AE", reject), store.StatusRejected, "AE"},
		{"rejected AR", ackWith("AR"), store.StatusRejected, "AR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iis := startIIS(t, "127.0.0.1:0", tc.answer)
			h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", mllpDest("iis", iis.addr))}})
			send(t, h.addr("vxu"), vxu("CTL10", "PAT123"))
			m := h.waitStatus("CTL10", tc.want)
			d := m.Deliveries[0]
			if d.ACKCode != tc.code || d.Attempts != 1 || len(d.Response) == 0 || len(d.Sent) == 0 {
				t.Fatalf("delivery %s ack %s attempts %d", d.Status, d.ACKCode, d.Attempts)
			}
			if got := iis.received(); len(got) != 1 { // a rejection is final: never resent
				t.Fatalf("registry got %v", got)
			}
		})
	}
}

func TestTransformsAppliedBeforeDelivery(t *testing.T) {
	iis := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	ch := mllpChannel("vxu", mllpDest("iis", iis.addr))
	ch.Transforms = []mapping.StepConfig{{Set: &mapping.SetStep{Path: "MSH-6", Value: "NEWIIS"}}}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	send(t, h.addr("vxu"), vxu("CTL11", "PAT123"))
	m := h.waitStatus("CTL11", store.StatusAccepted)
	iis.mu.Lock()
	got := string(iis.raw[0])
	iis.mu.Unlock()
	if !strings.Contains(got, "|IIS|NEWIIS|") || got != string(m.Transformed) || string(m.Raw) != string(vxu("CTL11", "PAT123")) {
		t.Fatalf("registry got the untransformed message")
	}
}

func TestRetryThenSuccess(t *testing.T) {
	addr := freeAddr(t)
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", mllpDest("iis", addr))}})
	send(t, h.addr("vxu"), vxu("CTL12", "PAT123"))
	ehrtest.WaitFor(t, func() bool {
		m := h.find("CTL12")
		return m.Deliveries[0].Attempts >= 2 && m.Deliveries[0].LastError != ""
	}, "failed attempts")
	iis := startIIS(t, addr, ackWith("AA"))
	m := h.waitStatus("CTL12", store.StatusAccepted)
	if m.Deliveries[0].Attempts < 3 || len(iis.received()) != 1 {
		t.Fatalf("attempts %d, registry got %v", m.Deliveries[0].Attempts, iis.received())
	}
	if n := strings.Count(h.logs.String(), `"retrying"`); n != 1 { // first failure only, not every attempt
		t.Fatalf("logged retrying %d times, want 1", n)
	}
}

func TestDeadLetterAfterMaxAttempts(t *testing.T) {
	ch := mllpChannel("vxu", mllpDest("iis", refusingAddr(t)))
	ch.Retry.MaxAttempts = 3
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	send(t, h.addr("vxu"), vxu("CTL13", "PAT123"))
	m := h.waitStatus("CTL13", store.StatusDeadLettered)
	if d := m.Deliveries[0]; d.Attempts != 3 || d.LastError == "" {
		t.Fatalf("dead letter after %d attempts, error %q", d.Attempts, d.LastError)
	}
	// The log line follows the store update, so wait for it too.
	ehrtest.WaitFor(t, func() bool { return strings.Contains(h.logs.String(), `"dead-lettered"`) }, "dead letter logged")
}

func TestPerPatientOrdering(t *testing.T) {
	var fixed atomic.Bool
	iis := startIIS(t, "127.0.0.1:0", func(m *hl7.Message) []byte {
		if m.ControlID() == "A1" && !fixed.Load() { // an ACK out of step: the destination retries
			other, _ := m.Set("MSH-10", "OTHER")
			return hl7.BuildACK(other, "AA", nil, hl7.ACKOptions{})
		}
		return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{})
	})
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", mllpDest("iis", iis.addr))}})
	send(t, h.addr("vxu"), vxu("A1", "PAT123"))
	send(t, h.addr("vxu"), vxu("A2", "PAT123"))
	send(t, h.addr("vxu"), vxu("B1", "PAT456"))
	h.waitStatus("B1", store.StatusAccepted) // B is not blocked behind A
	ehrtest.WaitFor(t, func() bool { return h.find("A1").Deliveries[0].Attempts >= 2 }, "A1 retried")
	if slices.Contains(iis.received(), "A2") {
		t.Fatal("A2 was sent while A1 waits for a retry")
	}
	if h.find("A2").Status != store.StatusQueued {
		t.Fatal("A2 left the queue")
	}
	fixed.Store(true)
	h.waitStatus("A2", store.StatusAccepted)
	got := iis.received()
	if i1, i2 := slices.Index(got, "A1"), slices.Index(got, "A2"); i2 < i1 || got[len(got)-1] != "A2" {
		t.Fatalf("order %v: A2 must follow A1's success", got)
	}
	if h.find("A1").Status != store.StatusAccepted {
		t.Fatal("A1 not accepted")
	}
}

// ehr is a test EHR listener for the return channel.
func startEHR(t *testing.T) (*fakeIIS, chan *hl7.Message) {
	got := make(chan *hl7.Message, 10)
	f := startIIS(t, "127.0.0.1:0", func(m *hl7.Message) []byte {
		got <- m
		return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{})
	})
	return f, got
}

func TestReturnChannel(t *testing.T) {
	iis := startIIS(t, "127.0.0.1:0", ackWith("AE", hl7.ErrorDetail{Code: "101", Severity: 'E', UserMessage: "missing"}))
	ehr, returned := startEHR(t)
	ok := mllpChannel("vxu", mllpDest("iis", iis.addr))
	ok.Return = &ReturnConfig{MLLP: *mllpDest("", ehr.addr).MLLP}
	dead := mllpChannel("dead", mllpDest("iis", refusingAddr(t)))
	dead.Source.MLLP.Addr = "127.0.0.2:0"
	dead.Retry.MaxAttempts = 2
	dead.Return = ok.Return
	h := newHarness(t, Config{Channels: []ChannelConfig{ok, dead}})

	send(t, h.addr("vxu"), vxu("CTL20", "PAT123"))
	r := <-returned
	if r.Value("MSA-2") != "CTL20" || r.Value("MSA-1") != "AE" || r.Value("ERR-3.1") != "101" || r.Value("MSH-5") != "EHR" {
		t.Fatalf("return MSA %s %s ERR %s MSH-5 %s", r.Value("MSA-1"), r.Value("MSA-2"), r.Value("ERR-3.1"), r.Value("MSH-5"))
	}
	m := h.waitStatus("CTL20", store.StatusRejected)
	ehrtest.WaitFor(t, func() bool {
		m = h.find("CTL20")
		for _, d := range m.Deliveries {
			if d.Return && d.Status == store.StatusAccepted {
				return true
			}
		}
		return false
	}, "return delivered")

	send(t, h.addr("dead"), vxu("CTL21", "PAT123"))
	r = <-returned
	if r.Value("MSA-2") != "CTL21" || r.Value("MSA-1") != "AE" || r.Value("ERR-3.1") != "207" || !strings.Contains(r.Value("ERR-8"), "not delivered") {
		t.Fatalf("dead-letter return MSA %s %s ERR %s %q", r.Value("MSA-1"), r.Value("MSA-2"), r.Value("ERR-3.1"), r.Value("ERR-8"))
	}
	h.waitStatus("CTL21", store.StatusDeadLettered)
}

func TestShutdownWithQueuedMessagesThenRestart(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	logs := &phitest.LogBuffer{}
	h := &harness{t: t, dir: dir, logs: logs, mux: nil}
	h.st = openStore(t, dir)
	ch := mllpChannel("vxu", mllpDest("iis", addr))
	h.e = h.start(Config{Channels: []ChannelConfig{ch}})
	for _, c := range []string{"Q1", "Q2", "Q3"} {
		send(t, h.addr("vxu"), vxu(c, "PAT123"))
	}
	h.stop()
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}

	iis := startIIS(t, addr, ackWith("AA"))
	h.st = openStore(t, dir)
	h.e = h.start(Config{Channels: []ChannelConfig{ch}})
	t.Cleanup(func() { h.stop(); _ = h.st.Close(); checkCanaries(t, logs.String()) })
	for _, c := range []string{"Q1", "Q2", "Q3"} {
		h.waitStatus(c, store.StatusAccepted)
	}
	if got := iis.received(); !slices.Equal(got, []string{"Q1", "Q2", "Q3"}) {
		t.Fatalf("registry got %v", got)
	}
}

func TestBackoff(t *testing.T) {
	r := RetryConfig{InitialBackoff: time.Second, MaxBackoff: 10 * time.Second}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		for range 20 {
			if d := backoff(r, attempts); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", attempts, d, want/2, want)
			}
		}
	}
}
