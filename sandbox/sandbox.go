package sandbox

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// Config configures an IIS. The zero value is usable: any credentials are
// accepted, every facility gets the normal behaviour, and replies come from
// IISSANDBOX.
type Config struct {
	// Users maps user names to passwords. Empty (or nil) accepts any
	// credentials, including none.
	Users map[string]field.Secret
	// Behaviours selects a misbehaviour per facility: the key is the SOAP
	// facilityID of the request, or MSH-4.1 of the message when facilityID
	// is empty; "*" is the default for facilities without an entry.
	// Default: none (every facility behaves normally).
	Behaviours map[string]Behaviour
	// Now is the clock used for MSH-7, for "in the future" checks and as the
	// evaluation date of forecasts. Default: time.Now.
	Now func() time.Time
	// ReceivingApp and ReceivingFacility are MSH-3 and MSH-4 of every reply
	// (the message's receiver, hence their names); ReceivingFacility also
	// names the registry as assigning authority of its patient and dose
	// IDs. Default: "IISSANDBOX" for both.
	ReceivingApp, ReceivingFacility string
	// MaxMessageBytes is the largest message accepted, in bytes; a larger
	// one is answered with the TooLarge fault. Default: 1 MiB.
	MaxMessageBytes int
}

// Behaviour is a deliberate deviation from normal registry behaviour, for
// testing how a sender copes with what real registries do. The zero value
// is a well-behaved registry.
type Behaviour struct {
	// Fault answers every submit with a SOAP fault: "security", "unknown",
	// "toolarge" or "unsupported". Default "": no fault.
	Fault string
	// Unavailable answers the first N submits of the facility with
	// Unavailable (HTTP 503, Retry-After 1 s), then normally. Default 0.
	Unavailable int
	// Delay is slept before answering each submit; the wait ends early
	// when the request's context does. Default 0.
	Delay time.Duration
	// Z32ForZ44 answers an evaluated-history query (Z44) with a plain
	// history (Z32), without evaluation or forecast, as several registries
	// do.
	Z32ForZ44 bool
	// AEWithData answers a query that found one patient with MSA-1 AE and a
	// warning ERR, yet still carries the patient and history, as several
	// registries do.
	AEWithData bool
	// BatchWrap wraps every reply in FHS/BHS … BTS/FTS batch envelopes.
	BatchWrap bool
	// WarningsAsAE acknowledges a VXU that raised only warnings with MSA-1
	// AE (and W severities only) instead of AA plus W ERRs.
	WarningsAsAE bool
}

// The values Behaviour.Fault accepts.
const (
	FaultNameSecurity    = "security"
	FaultNameUnknown     = "unknown"
	FaultNameTooLarge    = "toolarge"
	FaultNameUnsupported = "unsupported"
)

// Validate reports every problem with c: unknown fault names, negative
// counts and durations.
func (c Config) Validate() error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(c.Behaviours)) { // problems in a stable order
		b := c.Behaviours[k]
		p := fmt.Sprintf("behaviours[%q]", k)
		switch b.Fault {
		case "", FaultNameSecurity, FaultNameUnknown, FaultNameTooLarge, FaultNameUnsupported:
		default:
			errs = append(errs, field.Errorf(p+".fault", "must be one of security, unknown, toolarge, unsupported, got %q", b.Fault))
		}
		if b.Unavailable < 0 {
			errs = append(errs, field.Errorf(p+".unavailable", "must not be negative, got %d", b.Unavailable))
		}
		if b.Delay < 0 {
			errs = append(errs, field.Errorf(p+".delay", "must not be negative, got %s", b.Delay))
		}
	}
	if c.MaxMessageBytes < 0 {
		errs = append(errs, field.Errorf("max_message_bytes", "must not be negative, got %d", c.MaxMessageBytes))
	}
	return errors.Join(errs...)
}

// Request is one submitSingleMessage call as the SOAP layer received it.
type Request struct {
	Username   string
	Password   field.Secret
	FacilityID string
	// Message is the HL7 v2 message; the IIS does not keep or modify it.
	Message []byte
}

// Outcome tells the transport what to answer.
type Outcome int

// The outcomes of Submit.
const (
	// Reply means: return Response.Message as the operation's result.
	Reply Outcome = iota
	// FaultSecurity means: answer with the WSDL's SecurityFault.
	FaultSecurity
	// FaultUnknown means: answer with the WSDL's generic fault (UnknownFault).
	FaultUnknown
	// FaultTooLarge means: answer with MessageTooLargeFault.
	FaultTooLarge
	// FaultUnsupported means: answer with UnsupportedOperationFault.
	FaultUnsupported
	// Unavailable means: answer HTTP 503 with Retry-After.
	Unavailable
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Reply:
		return "reply"
	case FaultSecurity:
		return "fault_security"
	case FaultUnknown:
		return "fault_unknown"
	case FaultTooLarge:
		return "fault_too_large"
	case FaultUnsupported:
		return "fault_unsupported"
	case Unavailable:
		return "unavailable"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Response is the IIS's answer to one Request.
type Response struct {
	Outcome Outcome
	// Message is the HL7 reply (ACK or RSP, CR-separated) when Outcome is
	// Reply. It may hold PHI: never log it.
	Message []byte
	// RetryAfter is the delay to advertise when Outcome is Unavailable.
	RetryAfter time.Duration
	// FaultText is the fault's reason for the fault outcomes. It never
	// holds PHI.
	FaultText string
}

// Fault texts. They are fixed, so they never carry message content.
const (
	textSecurity    = "Invalid Username or Password"
	textTooLarge    = "Message is larger than the registry accepts"
	textMultiple    = "More than one HL7 message was submitted. Please submit one and only one HL7 message per transaction"
	textUnknown     = "The registry could not process the request (simulated fault)"
	textUnsupported = "The operation is not supported (simulated fault)"
	textCancelled   = "The request was cancelled before the registry answered"
)

// IIS is a simulated immunization information system. It is safe for
// concurrent use.
type IIS struct {
	cfg Config // defaults applied; read-only after New

	mu sync.Mutex // guards the fields below
	st *store
	// submits counts submits per facility key, for Behaviour.Unavailable.
	submits map[string]int

	// control is the number of the last reply control ID handed out.
	control atomic.Int64
}

// New returns an empty IIS configured by cfg (defaults applied; cfg is
// not validated, see Config.Validate).
func New(cfg Config) *IIS {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReceivingApp == "" {
		cfg.ReceivingApp = "IISSANDBOX"
	}
	if cfg.ReceivingFacility == "" {
		cfg.ReceivingFacility = "IISSANDBOX"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 1 << 20
	}
	return &IIS{cfg: cfg, st: newStore(), submits: map[string]int{}}
}

// Preload processes one message as the registry's own data entry: as if
// submitted by an authorised user of the facility in MSH-4, with the normal
// behaviour. `iisync serve` uses it to give the demo registry histories
// from "other providers" (sandbox seed files). It returns the ACK.
func (s *IIS) Preload(msg []byte) []byte {
	_, sender := hl7.SalvageHeader(msg)
	return s.handle(msg, hl7.Unescape(sender, hl7.Standard), Behaviour{})
}

// Submit processes one submitSingleMessage request. The credentials are
// checked first (a mismatch gives FaultSecurity), then the size (a message
// above Config.MaxMessageBytes, or more than one message, gives
// FaultTooLarge), then the facility's Behaviour; then MSH-9 decides: a
// VXU^V04 is validated, stored and acknowledged, a QBP^Q11 (Z34 or Z44)
// answered with an RSP^K11, anything else acknowledged with AR. When ctx
// ends during a Behaviour.Delay the outcome is FaultUnknown.
func (s *IIS) Submit(ctx context.Context, req Request) Response {
	if !s.authorised(req.Username, req.Password) {
		return Response{Outcome: FaultSecurity, FaultText: textSecurity}
	}
	if len(req.Message) > s.cfg.MaxMessageBytes {
		return Response{Outcome: FaultTooLarge, FaultText: textTooLarge}
	}
	facility := req.FacilityID
	if facility == "" {
		_, sender := hl7.SalvageHeader(req.Message)
		facility = hl7.Unescape(sender, hl7.Standard)
	}
	b := s.behaviour(facility)
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return Response{Outcome: FaultUnknown, FaultText: textCancelled}
		case <-t.C:
		}
	}
	switch b.Fault {
	case FaultNameSecurity:
		return Response{Outcome: FaultSecurity, FaultText: textSecurity}
	case FaultNameTooLarge:
		return Response{Outcome: FaultTooLarge, FaultText: textTooLarge}
	case FaultNameUnsupported:
		return Response{Outcome: FaultUnsupported, FaultText: textUnsupported}
	case "":
	default: // "unknown" and any name Validate would reject
		return Response{Outcome: FaultUnknown, FaultText: textUnknown}
	}
	if b.Unavailable > 0 {
		s.mu.Lock()
		s.submits[facility]++
		n := s.submits[facility]
		s.mu.Unlock()
		if n <= b.Unavailable {
			return Response{Outcome: Unavailable, RetryAfter: time.Second}
		}
	}
	if len(hl7.Split(req.Message)) > 1 {
		return Response{Outcome: FaultTooLarge, FaultText: textMultiple}
	}
	reply := s.handle(req.Message, facility, b)
	if b.BatchWrap {
		reply = batchWrap(reply)
	}
	return Response{Outcome: Reply, Message: reply}
}

// authorised checks the credentials. It is the one place that reveals
// secrets.
func (s *IIS) authorised(user string, pw field.Secret) bool {
	if len(s.cfg.Users) == 0 {
		return true
	}
	want, ok := s.cfg.Users[user]
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want.Reveal()), []byte(pw.Reveal())) == 1
}

func (s *IIS) behaviour(facility string) Behaviour {
	if b, ok := s.cfg.Behaviours[facility]; ok {
		return b
	}
	return s.cfg.Behaviours["*"]
}

// Ping answers the WSDL's connectivityTest the way the NIST test tool
// expects: "You sent: " followed by echo.
func (s *IIS) Ping(echo string) string { return "You sent: " + echo }

// Reset forgets every patient, dose and counter, as if the IIS were new.
func (s *IIS) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = newStore()
	s.submits = map[string]int{}
	s.control.Store(0)
}

// Patients returns a copy of every patient the registry holds, in the order
// they were created, with their doses (deleted ones included, marked).
func (s *IIS) Patients() []Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Patient, 0, len(s.st.patients))
	for _, p := range s.st.patients {
		out = append(out, p.export())
	}
	return out
}

// Seed adds a patient with a history, as if another provider had reported
// it, and returns the registry ID. p.ID is used when it is set and free;
// otherwise an ID is assigned. p.MRNs are recorded as identifiers assigned
// by p.Facility, so a VXU or query from that facility with the same MRN
// finds the patient. Doses without an ID get one; a dose without
// Completion is "RE" when Refusal is set and "CP" otherwise.
func (s *IIS) Seed(p Patient) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.seed(p)
}

// handle answers one message that passed the transport checks.
func (s *IIS) handle(raw []byte, facility string, b Behaviour) []byte {
	now := s.cfg.Now()
	m, err := hl7.Parse(raw)
	if err != nil {
		return hl7.BuildNAK(raw, err, "AR", s.ackOptions(now))
	}
	typ, trigger := m.Value("MSH-9.1"), m.Value("MSH-9.2")
	if e, bad := checkHeader(m); bad {
		return hl7.BuildACK(m, "AR", []hl7.ErrorDetail{e}, s.ackOptions(now))
	}
	switch {
	case typ == "VXU" && trigger == "V04":
		return s.vxu(m, facility, b, now)
	case typ == "QBP" && trigger == "Q11":
		return s.query(m, facility, b, now)
	case typ == "VXU" || typ == "QBP":
		return hl7.BuildACK(m, "AR", []hl7.ErrorDetail{{
			Location: hl7.Location{Segment: "MSH", Seq: 1, Field: 9, Component: 2},
			Code:     "201", CodeText: "Unsupported event code", Severity: 'E',
			UserMessage: "Event code not supported - message rejected",
		}}, s.ackOptions(now))
	default:
		return hl7.BuildACK(m, "AR", []hl7.ErrorDetail{{
			Location: hl7.Location{Segment: "MSH", Seq: 1, Field: 9},
			Code:     "200", CodeText: "Unsupported message type", Severity: 'E',
			UserMessage: "Message type not supported - message rejected",
		}}, s.ackOptions(now))
	}
}

// checkHeader checks what every message needs: a control ID and a
// supported version.
func checkHeader(m *hl7.Message) (hl7.ErrorDetail, bool) {
	if m.ControlID() == "" {
		return hl7.ErrorDetail{
			Location: hl7.Location{Segment: "MSH", Seq: 1, Field: 10},
			Code:     "101", CodeText: "Required field missing", Severity: 'E',
			AppCode: "7", AppCodeText: "Required data missing",
			UserMessage: "Message control ID (MSH-10) is missing - message rejected",
		}, true
	}
	switch v := m.Value("MSH-12.1"); v {
	case "", "2.5", "2.5.1":
	default:
		return hl7.ErrorDetail{
			Location: hl7.Location{Segment: "MSH", Seq: 1, Field: 12, Rep: 1, Component: 1},
			Code:     "203", CodeText: "Unsupported version ID", Severity: 'E',
			UserMessage: "Version ID not recognized - message rejected",
		}, true
	}
	return hl7.ErrorDetail{}, false
}

// ackOptions returns the options of the next ACK: a fresh control ID, the
// configured sender and the clock's time.
func (s *IIS) ackOptions(now time.Time) hl7.ACKOptions {
	return hl7.ACKOptions{
		ControlID:       s.nextControlID(),
		Now:             now,
		SendingApp:      s.cfg.ReceivingApp,
		SendingFacility: s.cfg.ReceivingFacility,
	}
}

// nextControlID returns a new reply control ID: "SBR" and a counter.
func (s *IIS) nextControlID() string {
	return fmt.Sprintf("SBR%08d", s.control.Add(1))
}

// String describes the response without its message, which holds PHI:
// e.g. "reply (512 bytes)" or "fault_security: Invalid Username or
// Password".
func (r Response) String() string {
	switch r.Outcome {
	case Reply:
		return "reply (" + strconv.Itoa(len(r.Message)) + " bytes)"
	case Unavailable:
		return "unavailable (retry after " + r.RetryAfter.String() + ")"
	}
	return r.Outcome.String() + ": " + r.FaultText
}

// GoString returns String, so %#v does not dump the message.
func (r Response) GoString() string { return r.String() }

// Format writes String for every verb.
func (r Response) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// String describes the request by facility and size only: its message
// holds PHI.
func (r Request) String() string {
	return "request facility=" + strconv.Quote(r.FacilityID) + " (" + strconv.Itoa(len(r.Message)) + " bytes)"
}

// GoString returns String, so %#v does not dump the message.
func (r Request) GoString() string { return r.String() }

// Format writes String for every verb.
func (r Request) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }
