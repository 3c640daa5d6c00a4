package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

func TestCredentials(t *testing.T) {
	users := map[string]field.Secret{"zzuser": field.NewSecret("zzpass-secret")}
	tests := []struct {
		name     string
		users    map[string]field.Secret
		user, pw string
		want     Outcome
	}{
		{"right credentials", users, "zzuser", "zzpass-secret", Reply},
		{"wrong password", users, "zzuser", "nope", FaultSecurity},
		{"unknown user", users, "someone", "zzpass-secret", FaultSecurity},
		{"no credentials", users, "", "", FaultSecurity},
		{"empty user table accepts anything", nil, "anyone", "anything", Reply},
		{"empty user table accepts nothing", map[string]field.Secret{}, "", "", Reply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestIIS(Config{Users: tc.users})
			resp := s.Submit(t.Context(), Request{Username: tc.user, Password: field.NewSecret(tc.pw), Message: []byte(baseVXU)})
			if resp.Outcome != tc.want {
				t.Fatalf("outcome %v, want %v", resp.Outcome, tc.want)
			}
			if tc.want == FaultSecurity {
				if resp.FaultText == "" || strings.Contains(resp.FaultText, "zzpass") || resp.Message != nil {
					t.Errorf("fault text %q, message %d bytes", resp.FaultText, len(resp.Message))
				}
				if len(s.Patients()) != 0 {
					t.Error("a rejected request was stored")
				}
			}
		})
	}
}

func TestSizeLimits(t *testing.T) {
	s := newTestIIS(Config{MaxMessageBytes: 200})
	if resp := s.Submit(t.Context(), Request{Message: []byte(baseVXU)}); resp.Outcome != FaultTooLarge || resp.FaultText == "" {
		t.Errorf("large message: %v %q", resp.Outcome, resp.FaultText)
	}
	s = newTestIIS(Config{})
	two := []byte(baseVXU + baseVXU)
	if resp := s.Submit(t.Context(), Request{Message: two}); resp.Outcome != FaultTooLarge || !strings.Contains(resp.FaultText, "one and only one") {
		t.Errorf("two messages: %v %q", resp.Outcome, resp.FaultText)
	}
	if len(s.Patients()) != 0 {
		t.Error("a rejected request was stored")
	}
}

func TestFaultBehaviours(t *testing.T) {
	tests := []struct {
		fault string
		want  Outcome
	}{
		{FaultNameSecurity, FaultSecurity},
		{FaultNameUnknown, FaultUnknown},
		{FaultNameTooLarge, FaultTooLarge},
		{FaultNameUnsupported, FaultUnsupported},
		{"", Reply},
	}
	for _, tc := range tests {
		t.Run(tc.want.String(), func(t *testing.T) {
			s := newTestIIS(Config{Behaviours: map[string]Behaviour{"ZZCLINIC": {Fault: tc.fault}}})
			for range 2 { // every submit, not just the first
				resp := s.Submit(t.Context(), Request{Message: []byte(baseVXU)})
				if resp.Outcome != tc.want {
					t.Fatalf("outcome %v, want %v", resp.Outcome, tc.want)
				}
				if tc.want != Reply && resp.FaultText == "" {
					t.Error("fault without text")
				}
			}
		})
	}
}

// TestBehaviourSelection checks that behaviours are chosen by the SOAP
// facility ID, else MSH-4, else "*".
func TestBehaviourSelection(t *testing.T) {
	s := newTestIIS(Config{Behaviours: map[string]Behaviour{
		"ZZCLINIC": {Fault: FaultNameUnknown},
		"ZZSOAP":   {Fault: FaultNameUnsupported},
		"*":        {Fault: FaultNameTooLarge},
	}})
	tests := []struct {
		facility string
		msh4     string
		want     Outcome
	}{
		{"", "ZZCLINIC", FaultUnknown},
		{"ZZSOAP", "ZZCLINIC", FaultUnsupported},
		{"", "ZZELSEWHERE", FaultTooLarge},
		{"ZZELSEWHERE", "ZZCLINIC", FaultTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.facility+"/"+tc.msh4, func(t *testing.T) {
			resp := s.Submit(t.Context(), Request{FacilityID: tc.facility, Message: apply(t, baseVXU, set("MSH-4", tc.msh4))})
			if resp.Outcome != tc.want {
				t.Errorf("outcome %v, want %v", resp.Outcome, tc.want)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	s := newTestIIS(Config{Behaviours: map[string]Behaviour{"ZZCLINIC": {Unavailable: 2}}})
	var got []Outcome
	for range 3 {
		resp := s.Submit(t.Context(), Request{Message: []byte(baseVXU)})
		got = append(got, resp.Outcome)
		if resp.Outcome == Unavailable && resp.RetryAfter != time.Second {
			t.Errorf("RetryAfter %v, want 1s", resp.RetryAfter)
		}
	}
	if want := []Outcome{Unavailable, Unavailable, Reply}; !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	// Another facility is not affected.
	if resp := s.Submit(t.Context(), Request{FacilityID: "ZZOTHER", Message: []byte(baseVXU)}); resp.Outcome != Reply {
		t.Errorf("other facility: %v", resp.Outcome)
	}
	// Reset starts the count again.
	s.Reset()
	if resp := s.Submit(t.Context(), Request{Message: []byte(baseVXU)}); resp.Outcome != Unavailable {
		t.Errorf("after Reset: %v, want unavailable", resp.Outcome)
	}
}

func TestDelay(t *testing.T) {
	s := newTestIIS(Config{Behaviours: map[string]Behaviour{"*": {Delay: 30 * time.Millisecond}}})
	start := time.Now()
	if resp := s.Submit(t.Context(), Request{Message: []byte(baseVXU)}); resp.Outcome != Reply {
		t.Fatalf("outcome %v", resp.Outcome)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v, want at least 30ms", d)
	}
	s = newTestIIS(Config{Behaviours: map[string]Behaviour{"*": {Delay: time.Minute}}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	resp := s.Submit(ctx, Request{Message: []byte(baseVXU)})
	if resp.Outcome != FaultUnknown || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled: outcome %v after %v", resp.Outcome, time.Since(start))
	}
	if len(s.Patients()) != 0 {
		t.Error("a cancelled request was stored")
	}
}

func TestReplyBehaviours(t *testing.T) {
	tests := []struct {
		name    string
		b       Behaviour
		msg     []byte
		check   func(t *testing.T, reply []byte)
		verdict iis.Verdict
	}{
		{name: "Z32 for Z44", b: Behaviour{Z32ForZ44: true}, msg: []byte(baseQBP), verdict: iis.Accepted,
			check: func(t *testing.T, reply []byte) {
				if value(t, reply, "MSH-21.1") != "Z32" || strings.Contains(string(reply), "998^") || len(obxValues(t, reply, "30956-7")) != 0 {
					t.Errorf("not a plain Z32:\n%s", lines(reply))
				}
			}},
		{name: "AE with data", b: Behaviour{AEWithData: true}, msg: []byte(baseQBP), verdict: iis.AcceptedWithWarnings,
			check: func(t *testing.T, reply []byte) {
				if value(t, reply, "MSA-1") != "AE" || value(t, reply, "QAK-2") != "OK" || value(t, reply, "ERR-4") != "W" || value(t, reply, "PID-5.1") != "ZZTESTFAMILY" {
					t.Errorf("not AE with data:\n%s", lines(reply))
				}
			}},
		{name: "AE with data only when there is data", b: Behaviour{AEWithData: true}, verdict: iis.Accepted,
			msg: apply(t, baseQBP, set("QPD-3", ""), set("QPD-6", "20200102")),
			check: func(t *testing.T, reply []byte) {
				if value(t, reply, "MSA-1") != "AA" || value(t, reply, "QAK-2") != "NF" {
					t.Errorf("NF changed:\n%s", lines(reply))
				}
			}},
		{name: "warnings as AE", b: Behaviour{WarningsAsAE: true}, msg: apply(t, baseVXU, set("PID-11", "")), verdict: iis.AcceptedWithWarnings,
			check: func(t *testing.T, reply []byte) {
				if value(t, reply, "MSA-1") != "AE" || value(t, reply, "ERR-4") != "W" {
					t.Errorf("not AE with W:\n%s", lines(reply))
				}
			}},
		{name: "warnings as AE leaves clean messages AA", b: Behaviour{WarningsAsAE: true}, msg: []byte(baseVXU), verdict: iis.Accepted,
			check: func(t *testing.T, reply []byte) {
				if value(t, reply, "MSA-1") != "AA" {
					t.Errorf("clean VXU not AA:\n%s", lines(reply))
				}
			}},
		{name: "batch wrap ACK", b: Behaviour{BatchWrap: true}, msg: []byte(baseVXU), verdict: iis.Accepted, check: checkBatch},
		{name: "batch wrap rejected ACK", b: Behaviour{BatchWrap: true}, msg: apply(t, baseVXU, set("PID-7", "")), verdict: iis.Rejected, check: checkBatch},
		{name: "batch wrap RSP", b: Behaviour{BatchWrap: true}, msg: []byte(baseQBP), verdict: iis.Accepted, check: checkBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestIIS(Config{Behaviours: map[string]Behaviour{"ZZCLINIC": tc.b}})
			submit(t, s, []byte(baseVXU)) // the patient the queries look for
			reply := submit(t, s, tc.msg)
			if c := iis.Classify(reply); c.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", c.Verdict, c.Reason, tc.verdict)
			}
			tc.check(t, reply)
		})
	}
}

func checkBatch(t *testing.T, reply []byte) {
	t.Helper()
	names := segmentNames(t, reply)
	if !bytes.HasPrefix(reply, []byte("FHS|^~\\&|IISSANDBOX|IISSANDBOX|ZZEHR|ZZCLINIC|20250615103000-0500|")) ||
		!bytes.Contains(reply, []byte("\rBHS|^~\\&|")) || !bytes.HasSuffix(reply, []byte("\rBTS|1\rFTS|1\r")) {
		t.Errorf("not batch-wrapped:\n%s", lines(reply))
	}
	if names[0] != "MSH" {
		t.Errorf("segments %v", names)
	}
	if got := hl7.Split(reply); len(got) != 1 {
		t.Errorf("Split finds %d messages", len(got))
	}
}

func TestPing(t *testing.T) {
	if got := New(Config{}).Ping("Hello world!"); got != "You sent: Hello world!" {
		t.Errorf("Ping = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Behaviours: map[string]Behaviour{"*": {Fault: "security", Unavailable: 1, Delay: time.Second}}}
	if err := good.Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
	bad := Config{MaxMessageBytes: -1, Behaviours: map[string]Behaviour{"X": {Fault: "boom", Unavailable: -1, Delay: -time.Second}}}
	err := bad.Validate()
	if n := len(field.Flatten(err)); n != 4 {
		t.Errorf("%d problems, want 4: %v", n, err)
	}
	var fe *field.Error
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Path, "behaviours[") && fe.Path != "max_message_bytes" {
		t.Errorf("problems are not field errors: %v", err)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Reply: "reply", FaultSecurity: "fault_security", Unavailable: "unavailable", Outcome(42): "outcome(42)"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), want)
		}
	}
}

// TestNoPHIInErrorsAndFaults sends bad messages carrying the canary
// markers and checks that no ERR-8 user message, fault text or printed
// value repeats them.
func TestNoPHIInErrorsAndFaults(t *testing.T) {
	markers := []string{"ZZTEST", "20200101", "PAT123", "zzpass"}
	msgs := [][]byte{
		apply(t, baseVXU, set("PID-7", "ZZTEST")),
		apply(t, baseVXU, set("PID-8", "ZZTEST")),
		apply(t, baseVXU, set("RXA-5", "ZZTEST^x^CVX"), set("RXA-17", "ZZTEST"), set("RXA-20", "ZZTEST"), set("RXA-21", "ZZTEST")),
		apply(t, baseVXU, set("RXA-3", "ZZTEST")),
		apply(t, baseQBP, set("QPD-6", "ZZTEST")),
		apply(t, baseQBP, set("QPD-1", "ZZTEST")),
		[]byte("ZZTEST PAT123 20200101"),
	}
	s := newTestIIS(Config{Users: map[string]field.Secret{"u": field.NewSecret("zzpass")}})
	for i, msg := range msgs {
		resp := s.Submit(t.Context(), Request{Username: "u", Password: field.NewSecret("zzpass"), Message: msg})
		for _, e := range iis.Classify(resp.Message).Errors {
			for _, mk := range markers {
				if strings.Contains(e.Message, mk) || strings.Contains(e.CodeText, mk) || strings.Contains(e.AppCodeText, mk) {
					t.Errorf("message %d: ERR text repeats %q", i, mk)
				}
			}
		}
	}
	bad := s.Submit(t.Context(), Request{Username: "ZZTEST", Password: field.NewSecret("PAT123"), Message: []byte(baseVXU)})
	printed := fmt.Sprintf("%v %+v %#v %s %v", bad, bad, Request{Password: field.NewSecret("zzpass"), Message: []byte(baseVXU)}, bad.FaultText, s.Patients()[0])
	for _, mk := range markers {
		if strings.Contains(printed, mk) {
			t.Errorf("printed values repeat %q: %s", mk, printed)
		}
	}
}

// TestConcurrentUse runs submits, queries, seeds and reads from several
// goroutines; run it with -race.
func TestConcurrentUse(t *testing.T) {
	s := newTestIIS(Config{})
	const workers, rounds = 8, 25
	var mu sync.Mutex
	controls := map[string]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			vxu := apply(t, baseVXU, set("PID-3.1", fmt.Sprintf("PAT%03d", w)), set("PID-5.1", fmt.Sprintf("ZZTESTW%d", w)))
			qbp := apply(t, baseQBP, set("QPD-3.1", fmt.Sprintf("PAT%03d", w)), set("QPD-4.1", fmt.Sprintf("ZZTESTW%d", w)))
			for r := range rounds {
				for _, msg := range [][]byte{vxu, qbp} {
					resp := s.Submit(context.Background(), Request{Message: msg})
					if resp.Outcome != Reply {
						t.Errorf("outcome %v", resp.Outcome)
						return
					}
					if c := iis.Classify(resp.Message); c.Verdict != iis.Accepted {
						t.Errorf("worker %d round %d: %s", w, r, c.Reason)
					}
					m, _ := hl7.Parse(resp.Message)
					mu.Lock()
					controls[m.ControlID()] = true
					mu.Unlock()
				}
				if r%10 == 0 {
					s.Seed(Patient{Family: "ZZTESTSEED", DOB: "20200101"})
					_ = s.Patients()
				}
			}
		})
	}
	wg.Wait()
	if len(controls) != workers*rounds*2 {
		t.Errorf("%d distinct control IDs, want %d", len(controls), workers*rounds*2)
	}
	n := 0
	for _, p := range s.Patients() {
		if strings.HasPrefix(p.Family, "ZZTESTW") {
			n++
			if len(p.Doses) != 2 {
				t.Errorf("patient has %d doses, want 2 (adds are de-duplicated)", len(p.Doses))
			}
		}
	}
	if n != workers {
		t.Errorf("%d VXU patients, want %d", n, workers)
	}
}
