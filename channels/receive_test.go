package channels

import (
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

// parkedDest is a destination that never answers in time, so messages stay
// queued while the receive path is examined.
func parkedDest(t *testing.T) DestinationConfig {
	d := mllpDest("iis", refusingAddr(t))
	d.Retry = &RetryConfig{InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxAttempts: 5, MaxAge: time.Hour}
	return d
}

func TestReceiveAAAfterCommit(t *testing.T) {
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", parkedDest(t))}})
	ack := send(t, h.addr("vxu"), vxu("CTL1", "PAT123"))
	if code, ctl := msa(t, ack); code != "AA" || ctl != "CTL1" {
		t.Fatalf("ack = %s %s, want AA CTL1", code, ctl)
	}
	m := h.find("CTL1") // stored before the AA went out
	if m.Status != store.StatusQueued || string(m.Raw) != string(vxu("CTL1", "PAT123")) || m.Source != "mllp" {
		t.Fatalf("stored %s source %s", m.Status, m.Source)
	}
	if m.PatientRef == "" || m.Sender != "CLINIC" || len(m.Deliveries) != 1 || m.Deliveries[0].Destination != "vxu/iis" {
		t.Fatalf("stored record %+v", m.Deliveries)
	}
}

func TestReceiveParseError(t *testing.T) {
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", parkedDest(t))}})
	bad := []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL2|P|2.5.1\rP D|1||PAT123\r")
	ack := send(t, h.addr("vxu"), bad)
	am, err := hl7.Parse(ack)
	if err != nil {
		t.Fatal(err)
	}
	if am.Value("MSA-1") != "AE" || am.Value("MSA-2") != "CTL2" || am.Value("ERR-2") == "" || am.Value("ERR-3.1") != "100" {
		t.Fatalf("NAK = %q", strings.ReplaceAll(string(ack), "\r", "\n"))
	}
	m := h.find("CTL2")
	if m.Status != store.StatusErrored || m.ParseError == "" || string(m.Raw) != string(bad) || m.Sender != "CLINIC" {
		t.Fatalf("stored %s parse error %q", m.Status, m.ParseError)
	}
}

func TestReceiveFilter(t *testing.T) {
	tests := []struct{ onReject, want string }{{"AA", "AA"}, {"AE", "AE"}, {"AR", "AR"}}
	for _, tc := range tests {
		t.Run(tc.onReject, func(t *testing.T) {
			ch := mllpChannel("vxu", parkedDest(t))
			ch.Filter = FilterConfig{Expr: `sender == "OTHER"`, OnReject: tc.onReject}
			h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
			ack := send(t, h.addr("vxu"), vxu("CTL3", "PAT123"))
			am, _ := hl7.Parse(ack)
			if got := am.Value("MSA-1"); got != tc.want {
				t.Fatalf("MSA-1 = %s, want %s", got, tc.want)
			}
			if tc.want != "AA" && !strings.Contains(am.Value("ERR-8"), "filtered by channel rules") {
				t.Fatalf("ERR-8 = %q", am.Value("ERR-8"))
			}
			if m := h.find("CTL3"); m.Status != store.StatusFiltered || len(m.Deliveries) != 0 {
				t.Fatalf("stored %s with %d deliveries", m.Status, len(m.Deliveries))
			}
		})
	}
}

func TestReceiveStepError(t *testing.T) {
	ch := mllpChannel("vxu", parkedDest(t))
	ch.Transforms = []mapping.StepConfig{{Set: &mapping.SetStep{Path: "ZZZ-1", Value: "x"}}}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
	am, _ := hl7.Parse(send(t, h.addr("vxu"), vxu("CTL4", "PAT123")))
	if am.Value("MSA-1") != "AE" || am.Value("ERR-3.1") != "207" || !strings.Contains(am.Value("ERR-8"), "step ") {
		t.Fatalf("ack MSA-1 %s ERR-3 %s ERR-8 %q", am.Value("MSA-1"), am.Value("ERR-3.1"), am.Value("ERR-8"))
	}
	if m := h.find("CTL4"); m.Status != store.StatusErrored {
		t.Fatalf("stored %s", m.Status)
	}
}

func TestReceiveDedupe(t *testing.T) {
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", parkedDest(t))}})
	for range 2 {
		if code, _ := msa(t, send(t, h.addr("vxu"), vxu("CTL5", "PAT123"))); code != "AA" {
			t.Fatalf("ack %s, want AA", code)
		}
	}
	ms, err := h.st.Search(store.Query{ControlID: "CTL5"})
	if err != nil || len(ms) != 1 {
		t.Fatalf("stored %d copies (%v), want 1", len(ms), err)
	}
}

func TestReceiveStoreClosedAnswersAR(t *testing.T) {
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", parkedDest(t))}})
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{vxu("CTL6", "PAT123"), []byte("MSH|^~\\&|A|B|C|D|2025||VXU^V04|CTL7|P|2.5.1\rP D|x\r")} {
		am, _ := hl7.Parse(send(t, h.addr("vxu"), raw))
		if am.Value("MSA-1") != "AR" || am.Value("ERR-3.1") != "207" || !strings.Contains(am.Value("ERR-8"), "not stored") {
			t.Fatalf("ack MSA-1 %s ERR-3 %s ERR-8 %q, want AR 207", am.Value("MSA-1"), am.Value("ERR-3.1"), am.Value("ERR-8"))
		}
	}
}
