package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
)

// Message types of what the Sync Registry writes.
const (
	typeQBP = "QBP^Q11^QBP_Q11"
	typeVXU = "VXU^V04^VXU_V04"
)

// registryAddress returns MSH-5 and MSH-6 for messages to the registry.
func registryAddress(sc channels.SyncChannel) (app, facility string) {
	facility = "IIS"
	if sc.Destination.IIS != nil && sc.Destination.IIS.FacilityID != "" {
		facility = sc.Destination.IIS.FacilityID
	}
	return "IIS", facility
}

// Query asks the registry for the patient's history, keeps the answer as
// the patient's session and returns the view. A transport failure is not an
// error: the view says "not received" with the reason. Errors are for what
// cannot be asked at all (no chart, no name or birth date to query with,
// the store failing).
func (s *Service) Query(ctx context.Context, channel string, p Patient, who string) (*View, error) {
	return s.ask(ctx, channel, p, who, ActionQuery)
}

// Refresh is Query again, recorded as a refresh: the window's button after
// an action, to see the registry's side as it is now.
func (s *Service) Refresh(ctx context.Context, channel string, p Patient, who string) (*View, error) {
	return s.ask(ctx, channel, p, who, ActionRefresh)
}

// ask loads the patient's chart and queries for it.
func (s *Service) ask(ctx context.Context, channel string, p Patient, who, action string) (*View, error) {
	sc, err := s.e.SyncChannel(channel)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var ref string
	var c *chart.Chart
	err = s.catchUp()
	if err == nil {
		ref, err = s.resolve(channel, p)
	}
	if err == nil {
		c, err = s.loadChartRef(channel, ref)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.query(ctx, sc, ref, c, who, action)
}

// query runs one QBP for chart c (loaded by the caller) and records it.
func (s *Service) query(ctx context.Context, sc channels.SyncChannel, ref string, c *chart.Chart, who, action string) (*View, error) {
	now := s.e.Now()
	app, fac := registryAddress(sc)
	req := query.Request{Chart: c, Profile: sc.Sync.Profile, ControlID: channels.ControlID('Q', now),
		SendingApp: sc.Sync.Application, SendingFacility: c.Key.Facility,
		ReceivingApp: app, ReceivingFacility: fac, Time: now}
	raw, err := query.Build(req)
	if err != nil {
		return nil, fmt.Errorf("registry: build query: %w", err)
	}
	reply, cls, serr := s.e.Submit(ctx, sc.Name, sc.Sync.Destination, raw)
	var answer query.Response
	if serr != nil {
		answer = query.NotReceived(serr.Error())
	} else {
		answer = query.Parse(reply, &req)
	}
	rec := s.record(sc, c.Key, typeQBP, req.ControlID, raw, now)
	d := delivered(sc, now, raw, reply, cls, serr)
	d.Status = queryStatus(answer.Status)
	rec.Deliveries = []store.Delivery{d}
	id, err := s.st.Commit(rec, nil, 0)
	if err != nil {
		return nil, err
	}
	ss := &Session{At: now, Who: who, Profile: req.Profile, MessageID: id, Request: raw, Response: reply,
		Answer: answer, Registry: answer.Patient, Candidates: answer.Candidates}
	if serr != nil {
		ss.Failure = serr.Error()
	}
	ss.Answer.Patient, ss.Answer.Candidates = nil, nil // kept once, in Registry and Candidates

	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, err := s.loadChartRef(sc.Name, ref); err == nil {
		c = cur // the follower may have folded a VXU meanwhile
	}
	if answer.Patient != nil && answer.Patient.RegistryID != "" && answer.Patient.RegistryID != c.RegistryID {
		c.RegistryID = answer.Patient.RegistryID // the registry found the patient: linked
		if err := s.saveChart(sc.Name, c); err != nil {
			return nil, err
		}
	}
	if old, err := s.loadSession(sc.Name, ref); err == nil {
		ss.Selected = old.Selected
	}
	v := s.view(sc, c, ss)
	ss.Selected = nil // the selection outlives a refresh for the rows still there
	for _, r := range v.Immunizations {
		if r.Selected {
			ss.Selected = append(ss.Selected, r.ID)
		}
	}
	if err := s.saveSession(sc.Name, ref, ss); err != nil {
		return nil, err
	}
	s.audit(sc.Name, &c.Key, Audit{At: now, Who: who, Action: action, Outcome: answer.Reason, MessageIDs: []store.ID{id},
		Messages: []AuditMessage{{Direction: toRegistry, Raw: string(raw)}, {Direction: fromRegistry, Raw: string(reply)}}})
	return v, nil
}

// queryStatus is the stored status of a query by its message status.
func queryStatus(st query.MessageStatus) store.Status {
	switch st {
	case query.StatusReceived:
		return store.StatusAccepted
	case query.StatusReceivedWithWarnings:
		return store.StatusAcceptedWithWarnings
	case query.StatusReceivedWithErrors:
		return store.StatusRejected
	}
	return store.StatusErrored
}

// record is the stored message of something the Sync Registry sends.
func (s *Service) record(sc channels.SyncChannel, k chart.Key, typ, ctl string, raw []byte, now time.Time) *store.Message {
	return &store.Message{Channel: sc.Name, Source: channels.SourceRegistry, ReceivedAt: now, ControlID: ctl,
		Sender: sc.Sync.Application, Type: typ, PatientRef: s.e.PatientRef(k.MRN), Raw: raw, Status: store.StatusSent}
}

// delivered is the delivery record of one real-time submit.
func delivered(sc channels.SyncChannel, now time.Time, sent, reply []byte, cls iis.Classification, serr error) store.Delivery {
	d := store.Delivery{Destination: sc.Name + "/" + sc.Sync.Destination, Attempts: 1, SentAt: now, Sent: sent,
		Response: reply, ACKCode: cls.ACKCode, ErrorCodes: cls.ErrorCodes}
	switch {
	case serr != nil:
		d.Status, d.LastError = store.StatusErrored, serr.Error()
	case cls.Verdict == iis.Accepted:
		d.Status = store.StatusAccepted
	case cls.Verdict == iis.AcceptedWithWarnings:
		d.Status = store.StatusAcceptedWithWarnings
	case cls.Verdict == iis.Rejected:
		d.Status = store.StatusRejected
	default:
		d.Status = store.StatusSent
	}
	return d
}

// Link takes candidate n (1-based) of the last answer's list as the
// patient's registry record and queries again with its registry ID.
func (s *Service) Link(ctx context.Context, channel string, p Patient, n int, who string) (*View, error) {
	sc, err := s.e.SyncChannel(channel)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ref, c, ss, err := s.loadAll(channel, p)
	if err == nil && (n < 1 || n > len(ss.Candidates) || ss.Candidates[n-1].RegistryID == "") {
		err = fmt.Errorf("%w: candidate %d of %d (or it has no registry ID)", ErrBadRow, n, len(ss.Candidates))
	}
	if err == nil {
		c.RegistryID = ss.Candidates[n-1].RegistryID
		err = s.saveChart(channel, c)
	}
	if err == nil {
		s.audit(channel, &c.Key, Audit{At: s.e.Now(), Who: who, Action: ActionLink, Rows: []string{fmt.Sprint("candidate ", n)}, Outcome: "linked"})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.query(ctx, sc, ref, c, who, ActionRefresh)
}

// loadAll loads the ref, chart and session of p. Caller holds mu.
func (s *Service) loadAll(channel string, p Patient) (string, *chart.Chart, *Session, error) {
	ref, err := s.resolve(channel, p)
	if err != nil {
		return "", nil, nil, err
	}
	c, err := s.loadChartRef(channel, ref)
	if err != nil {
		return "", nil, nil, err
	}
	ss, err := s.loadSession(channel, ref)
	if err != nil {
		return "", nil, nil, err
	}
	return ref, c, ss, nil
}

// Ping runs the registry's connectivity test through the channel's iis
// destination.
func (s *Service) Ping(ctx context.Context, channel, who string) (string, error) {
	sc, err := s.e.SyncChannel(channel)
	if err != nil {
		return "", err
	}
	echo := "iisync sync registry ping"
	answer, err := s.e.Ping(ctx, channel, sc.Sync.Destination, echo)
	outcome := "answered"
	if err != nil {
		outcome = "failed: " + err.Error()
	}
	s.mu.Lock()
	s.audit(channel, nil, Audit{At: s.e.Now(), Who: who, Action: ActionPing, Outcome: outcome})
	s.mu.Unlock()
	return answer, err
}
