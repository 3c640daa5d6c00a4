package channels

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/transforms/hl7"
)

// slowRegistry answers every submit AA after a delay, keeping what arrived
// in which order and how many were in flight; the first submit of
// failFirst gets a 503.
type slowRegistry struct {
	delay     time.Duration
	failFirst string // MSH-10 answered 503 once

	mu          sync.Mutex
	inFlight    map[string]int // MRN → submits in flight
	now, maxAll int
	overlap     []string // MRNs seen twice in flight at once
	order       []string // MSH-10 in arrival order
	failed      bool
}

func (r *slowRegistry) SubmitSingleMessage(ctx context.Context, req soap.SubmitRequest) ([]byte, error) {
	m, err := hl7.Parse(req.Message)
	if err != nil {
		return nil, err
	}
	ctl, mrn := m.Value("MSH-10"), m.Value("PID-3.1")
	r.mu.Lock()
	r.order = append(r.order, ctl)
	r.inFlight[mrn]++
	if r.inFlight[mrn] > 1 {
		r.overlap = append(r.overlap, mrn)
	}
	r.now++
	r.maxAll = max(r.maxAll, r.now)
	fail := ctl == r.failFirst && !r.failed
	r.failed = r.failed || fail
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight[mrn]--
		r.now--
		r.mu.Unlock()
	}()
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
	}
	if fail {
		return nil, &soap.HTTPError{Status: 503}
	}
	return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{}), nil
}

func (r *slowRegistry) ConnectivityTest(_ context.Context, echo string) (string, error) {
	return echo, nil
}

// TestIISConcurrencyKeepsPatientOrder: with concurrency 4 the worker
// submits several patients' messages at once, but never two of one
// patient, and each patient's messages reach the registry in the order
// they were received, also when one of them needs a retry.
func TestIISConcurrencyKeepsPatientOrder(t *testing.T) {
	reg := &slowRegistry{delay: 30 * time.Millisecond, failFirst: "P1-1", inFlight: map[string]int{}}
	srv := httptest.NewServer(soap.NewServer(reg, soap.ServerOptions{}))
	t.Cleanup(srv.Close)
	dest := DestinationConfig{Name: "iis", IIS: &IISDestinationConfig{
		ClientConfig: soap.ClientConfig{URL: srv.URL, MaxRetries: -1}, Concurrency: 4}}
	h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", dest)}})

	const patients, each = 4, 4
	var sent []string
	for i := 1; i <= each; i++ { // interleaved: P1-1 P2-1 P3-1 P4-1 P1-2 ...
		for p := 1; p <= patients; p++ {
			ctl := fmt.Sprintf("P%d-%d", p, i)
			if code, _ := msa(t, send(t, h.addr("vxu"), vxu(ctl, fmt.Sprintf("MRN%d", p)))); code != "AA" {
				t.Fatalf("%s: MSA-1 %s", ctl, code)
			}
			sent = append(sent, ctl)
		}
	}
	for _, ctl := range sent {
		h.waitStatus(ctl, store.StatusAccepted)
	}

	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.maxAll < 2 {
		t.Errorf("at most %d submits in flight, want several (concurrency 4)", reg.maxAll)
	}
	if reg.maxAll > 4 {
		t.Errorf("%d submits in flight, more than concurrency 4", reg.maxAll)
	}
	if len(reg.overlap) > 0 {
		t.Errorf("patients with two submits in flight at once: %v", reg.overlap)
	}
	for p := 1; p <= patients; p++ {
		var got []string
		for _, ctl := range reg.order {
			if ctl[:3] == fmt.Sprintf("P%d-", p) && !slices.Contains(got, ctl) {
				got = append(got, ctl)
			}
		}
		want := []string{fmt.Sprintf("P%d-1", p), fmt.Sprintf("P%d-2", p), fmt.Sprintf("P%d-3", p), fmt.Sprintf("P%d-4", p)}
		if !slices.Equal(got, want) {
			t.Errorf("patient %d reached the registry as %v, want %v", p, got, want)
		}
	}
	// P1-1 failed once, so P1-2 must have arrived after P1-1's second try.
	first := slices.Index(reg.order, "P1-1")
	retry := slices.Index(reg.order[first+1:], "P1-1") + first + 1
	if retry <= first || slices.Index(reg.order, "P1-2") < retry {
		t.Errorf("arrival order %v: P1-2 overtook P1-1's retry", reg.order)
	}
}
