package channels

import (
	"strings"
	"testing"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/validate"
)

// badVXU has its dose dated before the birth date.
func badVXU(ctl string) []byte { return preflightVXU(ctl, "20190101") }

// preflightVXU is a VXU that passes pre-flight validation unless the dose
// date is wrong.
func preflightVXU(ctl, doseDate string) []byte {
	return []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|" + ctl + "|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^CLINIC^MR||ZZTEST^CHILD^^^^^L||20200101|F||2106-3^White^CDCREC|1 Main St^^Springfield^IL^62701^USA^P\r" +
		"ORC|RE||9999^CLINIC\r" +
		"RXA|0|1|" + doseDate + "||08^HepB^CVX|999|||01^Historical^NIP001|||||||||||CP|A\r")
}

// TestPreflightReject: with validate.action reject, a message with errors is
// answered AE with the findings as ERR segments, stored as rejected with a
// "preflight" delivery searchable by its codes, and never sent; a clean one
// goes through.
func TestPreflightReject(t *testing.T) {
	peer := startIIS(t, "127.0.0.1:0", ackWith("AA"))
	ch := mllpChannel("vxu", mllpDest("iis", peer.addr))
	ch.Preflight = &ValidateConfig{Action: ValidateReject}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})

	ack := send(t, h.addr("vxu"), badVXU("BAD1"))
	if code, ctl := msa(t, ack); code != "AE" || ctl != "BAD1" {
		t.Fatalf("MSA %s|%s, want AE|BAD1", code, ctl)
	}
	if !strings.Contains(string(ack), "ERR||RXA^1^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533") {
		t.Errorf("ACK lacks the dose-before-birth ERR:\n%q", ack)
	}
	m := h.find("BAD1")
	if m.Status != store.StatusRejected || len(m.Deliveries) != 1 || m.Deliveries[0].Destination != "vxu/preflight" {
		t.Fatalf("stored %s with %+v, want rejected with one preflight delivery", m.Status, m.Deliveries)
	}
	for _, code := range []string{"0357:999", "0533:1", "rule:mqe.dose_before_birth"} {
		found, err := h.st.Search(store.Query{ErrorCode: code})
		if err != nil || len(found) != 1 {
			t.Errorf("search by %s: %v, %d found", code, err, len(found))
		}
	}
	full, err := h.st.Get(m.ID)
	if err != nil || string(full.Deliveries[0].Response) != string(ack) {
		t.Errorf("preflight response %q, want the AE sent (%v)", full.Deliveries[0].Response, err)
	}

	if code, _ := msa(t, send(t, h.addr("vxu"), preflightVXU("GOOD1", "20210101"))); code != "AA" {
		t.Fatalf("clean message: %s", code)
	}
	h.waitStatus("GOOD1", store.StatusAccepted)
	if got := peer.received(); len(got) != 1 || got[0] != "GOOD1" {
		t.Errorf("the registry received %v, want only GOOD1", got)
	}
	if n := counterValue(t, h, "iisync_validation_findings_total", "mqe.dose_before_birth"); n != 1 {
		t.Errorf("findings counter %v, want 1", n)
	}
}

// TestPreflightSendAndIgnore: action send delivers a message with errors
// (the findings are counted); severities can turn a rule off; action
// ignore does not validate.
func TestPreflightSendAndIgnore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    ValidateConfig
		counts bool
	}{
		{"send", ValidateConfig{Action: ValidateSend}, true},
		{"rule ignored", ValidateConfig{Action: ValidateReject, Severities: map[string]validate.Severity{"mqe.dose_before_birth": validate.Ignore}}, false},
		{"ignore", ValidateConfig{Action: ValidateIgnore}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := startIIS(t, "127.0.0.1:0", ackWith("AA"))
			ch := mllpChannel("vxu", mllpDest("iis", peer.addr))
			v := tc.cfg
			ch.Preflight = &v
			h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
			if code, _ := msa(t, send(t, h.addr("vxu"), badVXU("B1"))); code != "AA" {
				t.Fatalf("MSA-1 %s, want AA", code)
			}
			h.waitStatus("B1", store.StatusAccepted)
			if got := counterValue(t, h, "iisync_validation_findings_total", "mqe.dose_before_birth"); (got == 1) != tc.counts {
				t.Errorf("dose_before_birth findings counted %v times", got)
			}
		})
	}
}

// TestPreflightConfig: a bad action or an unknown rule is a configuration
// error at its path.
func TestPreflightConfig(t *testing.T) {
	ch := mllpChannel("vxu", mllpDest("iis", "127.0.0.1:9"))
	ch.Preflight = &ValidateConfig{Action: "maybe", Severities: map[string]validate.Severity{"no.such.rule": validate.Error}}
	err := ch.WithDefaults().Validate()
	if err == nil || !strings.Contains(err.Error(), "validate.action") || !strings.Contains(err.Error(), "no.such.rule") {
		t.Errorf("error %v, want validate.action and the unknown rule", err)
	}
}

// counterValue sums the series of counter name that carry label value lv.
func counterValue(t testing.TB, h *harness, name, lv string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == lv {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
