package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/reconcile"
	"github.com/iisync/iisync/transforms/validate"
)

// Result is what an action did: the messages it wrote and, for a send, the
// registry's verdict; View is the window afterwards.
type Result struct {
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	// Rows are the IDs of the rows acted on.
	Rows       []string   `json:"rows,omitempty"`
	MessageIDs []store.ID `json:"message_ids,omitempty"`
	// Verdict, ACKCode and Errors are the registry's answer to a Send.
	Verdict iis.Verdict    `json:"verdict,omitempty"`
	ACKCode string         `json:"ack_code,omitempty"`
	Errors  []iis.ACKError `json:"errors,omitempty"`
	// Findings are the pre-flight validation's findings on a Send that the
	// channel stopped before the registry saw it.
	Findings []validate.Finding `json:"findings,omitempty"`
	View     *View              `json:"view"`
}

// ErrPreflight means the channel's pre-flight validation stopped a Send:
// the Result returned with it carries the findings.
var ErrPreflight = errors.New("registry: the channel's pre-flight validation stopped the VXU")

func ids(rs []Row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// act loads everything an action needs, under mu.
type act struct {
	sc  channels.SyncChannel
	ref string
	c   *chart.Chart
	ss  *Session
	all []Row
}

func (s *Service) begin(channel string, p Patient) (*act, error) {
	sc, err := s.e.SyncChannel(channel)
	if err != nil {
		return nil, err
	}
	if err := s.CatchUp(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ref, c, ss, err := s.loadAll(channel, p)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return &act{sc: sc, ref: ref, c: c, ss: ss, all: rows(sc, c, ss)}, nil
}

// toEHR queues a VXU of doses for the EHR on the return channel.
func (s *Service) toEHR(a *act, doses []chart.Dose, action, source string) (store.ID, []byte, error) {
	if !a.sc.Return {
		return 0, nil, ErrNoReturn
	}
	now := s.e.Now()
	app, fac := registryAddress(a.sc)
	if a.sc.ACK.SendingApp != "" {
		app = a.sc.ACK.SendingApp
	}
	if a.sc.ACK.SendingFacility != "" {
		fac = a.sc.ACK.SendingFacility
	}
	ctl := controlID('V', now)
	raw, err := chart.VXU(a.c, doses, chart.VXUOptions{SendingApp: app, SendingFacility: fac,
		ReceivingApp: "EHR", ReceivingFacility: a.c.Key.Facility, ControlID: ctl, Time: now,
		Action: action, Source: source, IncludeRegistryID: true})
	if err != nil {
		return 0, nil, fmt.Errorf("registry: build VXU: %w", err)
	}
	rec := s.record(a.sc, a.ref, a.c.Key, typeVXU, ctl, raw, now)
	id, err := s.e.ToEHR(a.sc.Name, rec)
	return id, raw, err
}

// Import sends the registry-only doses of rows (or of the selection) to
// the EHR as historical doses from the registry (RXA-9 05) and adds them to
// the chart.
func (s *Service) Import(channel string, p Patient, named []string, who string) (*Result, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	picked, err := pick(a.all, named, a.ss.Selected, func(r Row) bool { return r.State == reconcile.RegistryOnly })
	if err != nil {
		return nil, err
	}
	doses := make([]chart.Dose, len(picked))
	for i, r := range picked {
		doses[i] = *r.Registry
		doses[i].Source = chart.SourceFromRegistry
		doses[i].Valid = ""
	}
	id, raw, err := s.toEHR(a, doses, "A", chart.SourceFromRegistry)
	if err != nil {
		return nil, err
	}
	for _, d := range doses {
		a.c.Upsert(d)
	}
	return s.finish(a, who, ActionImport, picked, count(len(doses), "dose")+" queued for the EHR as historical (from the registry)",
		[]store.ID{id}, []AuditMessage{{Direction: toEHR, Raw: string(raw)}})
}

// Delete sends RXA-21 D for the local doses of rows (or of the selection)
// to the EHR and removes them from the chart.
func (s *Service) Delete(channel string, p Patient, named []string, who string) (*Result, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	picked, err := pick(a.all, named, a.ss.Selected, func(r Row) bool { return r.Local != nil })
	if err != nil {
		return nil, err
	}
	doses := make([]chart.Dose, len(picked))
	for i, r := range picked {
		doses[i] = *r.Local
	}
	id, raw, err := s.toEHR(a, doses, "D", "")
	if err != nil {
		return nil, err
	}
	for _, d := range doses {
		a.c.Remove(d.ID)
	}
	return s.finish(a, who, ActionDelete, picked, count(len(doses), "deletion")+" queued for the EHR",
		[]store.ID{id}, []AuditMessage{{Direction: toEHR, Raw: string(raw)}})
}

// Reconcile pairs a local-only row with a registry-only row of the same
// vaccine group: the local historical record takes the registry's data
// (RXA-21 U to the EHR, keeping the local dose ID). An administered local
// dose is refused (reconcile.ErrAdministered): the practice owns it.
func (s *Service) Reconcile(channel string, p Patient, localRow, registryRow string, who string) (*Result, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	l, err := pick(a.all, []string{localRow}, nil, func(r Row) bool { return r.State == reconcile.LocalOnly })
	if err != nil {
		return nil, err
	}
	r, err := pick(a.all, []string{registryRow}, nil, func(r Row) bool { return r.State == reconcile.RegistryOnly })
	if err != nil {
		return nil, err
	}
	if err := reconcile.CheckReconcile(*l[0].Local, *r[0].Registry); err != nil {
		return nil, err
	}
	d := *r[0].Registry
	d.ID, d.Source, d.Valid = l[0].Local.ID, chart.SourceFromRegistry, ""
	id, raw, err := s.toEHR(a, []chart.Dose{d}, "U", chart.SourceFromRegistry)
	if err != nil {
		return nil, err
	}
	a.c.Upsert(d)
	return s.finish(a, who, ActionReconcile, []Row{l[0], r[0]}, "local historical record updated to the registry's, queued for the EHR",
		[]store.ID{id}, []AuditMessage{{Direction: toEHR, Raw: string(raw)}})
}

// Send submits the local-only doses of rows (or of the selection), with the
// chart's demographics, to the registry as one VXU, through the channel's
// transforms and pre-flight validation, and reports the registry's
// verdict. Query again (Refresh) to see the registry's new history.
func (s *Service) Send(ctx context.Context, channel string, p Patient, named []string, who string) (*Result, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	picked, err := pick(a.all, named, a.ss.Selected, func(r Row) bool { return r.State == reconcile.LocalOnly })
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	doses := make([]chart.Dose, len(picked))
	for i, r := range picked {
		doses[i] = *r.Local
	}
	now := s.e.Now()
	app, fac := registryAddress(a.sc)
	ctl := controlID('S', now)
	raw, err := chart.VXU(a.c, doses, chart.VXUOptions{SendingApp: a.sc.Sync.Application, SendingFacility: a.c.Key.Facility,
		ReceivingApp: app, ReceivingFacility: fac, ControlID: ctl, Time: now, Action: "A", IncludeRegistryID: true})
	s.mu.Unlock() // not held while the registry answers
	if err != nil {
		return nil, fmt.Errorf("registry: build VXU: %w", err)
	}
	tr, err := s.e.Try(ctx, channel, raw)
	if err != nil {
		return nil, err
	}
	rec := s.record(a.sc, a.ref, a.c.Key, typeVXU, ctl, raw, now)
	if tr.Transformed != nil {
		rec.Transformed = tr.Transformed
	}
	res := &Result{Action: ActionSend, Rows: ids(picked)}
	switch tr.Outcome {
	case channels.TryQueued:
	case channels.TryRejected:
		res.Findings, res.Outcome = tr.Findings, "stopped by pre-flight validation"
		s.mu.Lock()
		s.audit(channel, a.ref, Audit{At: now, Who: who, Action: ActionSend, Rows: res.Rows, Outcome: res.Outcome,
			Messages: []AuditMessage{{Direction: toRegistry, Raw: string(raw)}}})
		s.mu.Unlock()
		return res, fmt.Errorf("%w: %d findings", ErrPreflight, len(tr.Findings))
	default:
		return nil, fmt.Errorf("registry: the channel did not take the VXU (%s): %s", tr.Outcome, tr.Error)
	}
	payload := tr.Transformed
	reply, cls, serr := s.e.Submit(ctx, channel, a.sc.Sync.Destination, payload)
	rec.Deliveries = []store.Delivery{delivered(a.sc, now, payload, reply, cls, serr)}
	id, err := s.st.Commit(rec, nil, 0)
	if err != nil {
		return nil, err
	}
	res.MessageIDs, res.Verdict, res.ACKCode, res.Errors = []store.ID{id}, cls.Verdict, cls.ACKCode, cls.Errors
	res.Outcome = "registry: " + cls.Reason
	if serr != nil {
		res.Outcome = "not sent: " + serr.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit(channel, a.ref, Audit{At: now, Who: who, Action: ActionSend, Rows: res.Rows, Outcome: res.Outcome, MessageIDs: res.MessageIDs,
		Messages: []AuditMessage{{Direction: toRegistry, Raw: string(payload)}, {Direction: fromRegistry, Raw: string(reply)}}})
	if c, err := s.loadChartRef(channel, a.ref); err == nil {
		a.c = c
	}
	if ss, err := s.loadSession(channel, a.ref); err == nil {
		a.ss = ss
	}
	res.View = s.view(a.sc, a.ref, a.c, a.ss)
	if serr != nil {
		return res, serr
	}
	return res, nil
}

// finish saves the chart and session after an action on the EHR side,
// records it and returns its result. Caller holds mu.
func (s *Service) finish(a *act, who, action string, picked []Row, outcome string, msgIDs []store.ID, msgs []AuditMessage) (*Result, error) {
	if err := s.saveChart(a.sc.Name, a.c); err != nil {
		return nil, err
	}
	a.ss.Selected = slices.DeleteFunc(a.ss.Selected, func(id string) bool { return slices.Contains(ids(picked), id) })
	if err := s.saveSession(a.sc.Name, a.ref, a.ss); err != nil {
		return nil, err
	}
	s.audit(a.sc.Name, a.ref, Audit{At: s.e.Now(), Who: who, Action: action, Rows: ids(picked), Outcome: outcome, MessageIDs: msgIDs, Messages: msgs})
	return &Result{Action: action, Outcome: outcome, Rows: ids(picked), MessageIDs: msgIDs, View: s.view(a.sc, a.ref, a.c, a.ss)}, nil
}

// Select adds the rows of which (reconcile.SelectAll, SelectMatching,
// SelectLocalOnly, SelectRegistryOnly) or the named rows to the selection.
func (s *Service) Select(channel string, p Patient, which string, named []string, who string) (*View, error) {
	return s.changeSelection(channel, p, which, named, who, true)
}

// Unselect removes the rows of which (or all rows when which and named are
// empty) or the named rows from the selection.
func (s *Service) Unselect(channel string, p Patient, which string, named []string, who string) (*View, error) {
	return s.changeSelection(channel, p, which, named, who, false)
}

func (s *Service) changeSelection(channel string, p Patient, which string, named []string, who string, add bool) (*View, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var picked []Row
	switch {
	case len(named) > 0:
		if picked, err = pick(a.all, named, nil, func(Row) bool { return true }); err != nil {
			return nil, err
		}
	case which == "" && !add:
		picked = a.all
	default:
		plain := make([]reconcile.Row, len(a.all))
		for i, r := range a.all {
			plain[i] = r.Row
		}
		idx := reconcile.Select(plain, which)
		if idx == nil && which != reconcile.SelectAll && which != reconcile.SelectMatching &&
			which != reconcile.SelectLocalOnly && which != reconcile.SelectRegistryOnly {
			return nil, fmt.Errorf("%w: selection must be all, matching, local_only or registry_only", ErrBadRow)
		}
		for _, i := range idx {
			picked = append(picked, a.all[i])
		}
	}
	for _, r := range picked {
		has := slices.Contains(a.ss.Selected, r.ID)
		switch {
		case add && !has:
			a.ss.Selected = append(a.ss.Selected, r.ID)
		case !add && has:
			a.ss.Selected = slices.DeleteFunc(a.ss.Selected, func(id string) bool { return id == r.ID })
		}
	}
	if err := s.saveSession(channel, a.ref, a.ss); err != nil {
		return nil, err
	}
	action := ActionSelect
	if !add {
		action = ActionUnselect
	}
	s.audit(channel, a.ref, Audit{At: s.e.Now(), Who: who, Action: action, Rows: ids(picked), Outcome: count(len(a.ss.Selected), "row") + " selected"})
	return s.view(a.sc, a.ref, a.c, a.ss), nil
}

// Drop forgets the link between the patient and the registry's ID; the
// next query matches on demographics again.
func (s *Service) Drop(channel string, p Patient, who string) (*View, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if a.c.RegistryID == "" {
		return nil, ErrNotLinked
	}
	a.c.RegistryID = ""
	if err := s.saveChart(channel, a.c); err != nil {
		return nil, err
	}
	s.audit(channel, a.ref, Audit{At: s.e.Now(), Who: who, Action: ActionDrop, Outcome: "registry link dropped"})
	return s.view(a.sc, a.ref, a.c, a.ss), nil
}

// count says "1 dose", "2 doses".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
