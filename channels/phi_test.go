package channels

import (
	"fmt"
	"strings"
	"testing"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

// TestPHICanary sends canary patients through every path that logs (receive,
// parse failure, filter, step failure, delivery, rejection, retries, dead
// letter, return) and checks the logs and the engine's errors.
func TestPHICanary(t *testing.T) {
	rejecting := startIIS(t, "127.0.0.1:0", ackWith("AR", hl7.ErrorDetail{Code: "101", UserMessage: "ZZTEST PAT123 20200101 rejected"}))
	ehr, _ := startEHR(t)
	main := mllpChannel("vxu", mllpDest("iis", rejecting.addr), mllpDest("down", refusingAddr(t)))
	main.Retry.MaxAttempts = 2
	main.Filter = FilterConfig{Expr: `field("PID-5.1") != "ZZTESTDROP"`, OnReject: "AR"}
	main.Transforms = []mapping.StepConfig{{Map: &mapping.MapStep{Path: "PID-8", Table: map[string]string{"F": "F"}}}}
	main.Return = &ReturnConfig{MLLP: *mllpDest("", ehr.addr).MLLP}
	failing := mllpChannel("steps", mllpDest("iis", rejecting.addr))
	failing.Source.MLLP.Addr = "127.0.0.2:0"
	failing.Transforms = []mapping.StepConfig{{Copy: &mapping.CopyStep{From: "PID-5", To: "ZZZ-1"}}}
	h := newHarness(t, Config{Channels: []ChannelConfig{main, failing}})

	send(t, h.addr("vxu"), vxu("P1", "PAT123"))
	send(t, h.addr("vxu"), []byte(strings.Replace(string(vxu("P2", "PAT123")), "ZZTEST^", "ZZTESTDROP^", 1)))
	send(t, h.addr("vxu"), []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|2025||VXU^V04|P3|P|2.5.1\rPID|1||PAT123||ZZTEST\rZZ TEST|20200101\r"))
	send(t, h.addr("steps"), vxu("P4", "PAT123"))
	h.waitStatus("P1", store.StatusDeadLettered) // rejected by one, dead-lettered by the other
	_, err := h.e.Reprocess(t.Context(), h.find("P1").ID)
	for _, s := range []string{fmt.Sprint(err), fmt.Sprintf("%+v", h.e.Channels())} {
		checkCanaries(t, s)
	}
	// The logs are checked by the harness at cleanup; make sure they were written.
	// Log lines follow the store updates, so wait for each rather than read once.
	for _, want := range []string{`"queued"`, `"filtered"`, `"unparseable"`, `"errored"`, `"dead-lettered"`, `"delivered"`, `"retrying"`} {
		ehrtest.WaitFor(t, func() bool { return strings.Contains(h.logs.String(), want) }, "a "+want+" line logged")
	}
}
