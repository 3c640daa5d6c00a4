package ehrtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// TestAcker sends a VXU and a frame that is not HL7: the VXU is handed to
// seen and answered AA with its control ID; the other gets no answer.
func TestAcker(t *testing.T) {
	var mu sync.Mutex
	var got []string
	addr := Acker(t, func(m *hl7.Message) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m.ControlID())
	})
	s, err := mllp.NewSender(mllp.SenderConfig{Addr: addr}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	vxu := []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000||VXU^V04^VXU_V04|CTL42|P|2.5.1\rPID|1||MRN1^^^CLINIC^MR\r")
	reply, err := s.Send(context.Background(), vxu, nil)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hl7.Parse(reply)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "CTL42" {
		t.Errorf("answer MSA %s|%s, want AA|CTL42", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	WaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 && got[0] == "CTL42" }, "the VXU handed to seen")
}

// timeoutTB records Fatalf instead of stopping the test.
type timeoutTB struct {
	testing.TB
	failed bool
}

func (f *timeoutTB) Helper()               {}
func (f *timeoutTB) Fatalf(string, ...any) { f.failed = true }

// TestWaitForFails: a condition that never holds fails the test.
func TestWaitForFails(t *testing.T) {
	defer func(d time.Duration) { waitLimit = d }(waitLimit)
	waitLimit = 50 * time.Millisecond
	tb := &timeoutTB{TB: t}
	WaitFor(tb, func() bool { return false }, "nothing")
	if !tb.failed {
		t.Fatal("WaitFor returned without failing")
	}
}
