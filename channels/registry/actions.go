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

// inState is a pick filter: the rows in state st.
func inState(st reconcile.State) func(Row) bool {
	return func(r Row) bool { return r.State == st }
}

// localDoses returns the local doses of rows.
func localDoses(rows []Row) []chart.Dose {
	out := make([]chart.Dose, len(rows))
	for i, r := range rows {
		out[i] = *r.Local
	}
	return out
}

// asImported is the registry's dose d as the EHR records it: historical,
// from the registry (RXA-9 05), without the registry's evaluation.
func asImported(d chart.Dose) chart.Dose {
	d.Source, d.Valid = chart.SourceFromRegistry, ""
	return d
}

// act is what an action works on: the channel, and the patient's chart
// and session, loaded under mu.
type act struct {
	sc  channels.SyncChannel
	ref string
	c   *chart.Chart
	ss  *Session
}

// rows compares the chart with the session's registry side.
func (a *act) rows() []Row { return rows(a.sc, a.c, a.ss) }

// begin folds the messages stored so far into the charts and loads the
// patient's chart and session. On success it returns with mu held.
func (s *Service) begin(channel string, p Patient) (*act, error) {
	sc, err := s.e.SyncChannel(channel)
	if err != nil {
		return nil, err
	}
	a := &act{sc: sc}
	s.mu.Lock()
	err = s.catchUp()
	if err == nil {
		a.ref, a.c, a.ss, err = s.loadAll(channel, p)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return a, nil
}

// toEHR carries out an action on the EHR's side: it queues one VXU of
// doses (RXA-21 rxa21: A, U or D) for the EHR on the return channel,
// applies the doses to the chart, saves chart and session (the rows acted
// on leave the selection), records the action and returns its result.
// Caller holds mu.
func (s *Service) toEHR(a *act, who, action string, picked []Row, doses []chart.Dose, rxa21, outcome string) (*Result, error) {
	if !a.sc.Return {
		return nil, ErrNoReturn
	}
	now := s.e.Now()
	app, fac := registryAddress(a.sc)
	if a.sc.ACK.SendingApp != "" {
		app = a.sc.ACK.SendingApp
	}
	if a.sc.ACK.SendingFacility != "" {
		fac = a.sc.ACK.SendingFacility
	}
	ctl := channels.ControlID('V', now)
	raw, err := chart.VXU(a.c, doses, chart.VXUOptions{SendingApp: app, SendingFacility: fac,
		ReceivingApp: "EHR", ReceivingFacility: a.c.Key.Facility, ControlID: ctl, Time: now,
		Action: rxa21, IncludeRegistryID: true})
	if err != nil {
		return nil, fmt.Errorf("registry: build VXU: %w", err)
	}
	id, err := s.e.ToEHR(a.sc.Name, s.record(a.sc, a.c.Key, typeVXU, ctl, raw, now))
	if err != nil {
		return nil, err
	}
	for _, d := range doses {
		if rxa21 == "D" {
			a.c.Remove(d.ID)
		} else {
			a.c.Upsert(d)
		}
	}
	if err := s.saveChart(a.sc.Name, a.c); err != nil {
		return nil, err
	}
	rows := ids(picked)
	a.ss.Selected = slices.DeleteFunc(a.ss.Selected, func(id string) bool { return slices.Contains(rows, id) })
	if err := s.saveSession(a.sc.Name, a.ref, a.ss); err != nil {
		return nil, err
	}
	msgIDs := []store.ID{id}
	s.audit(a.sc.Name, &a.c.Key, Audit{At: now, Who: who, Action: action, Rows: rows, Outcome: outcome, MessageIDs: msgIDs,
		Messages: []AuditMessage{{Direction: toEHR, Raw: string(raw)}}})
	return &Result{Action: action, Outcome: outcome, Rows: rows, MessageIDs: msgIDs, View: s.view(a.sc, a.c, a.ss)}, nil
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
	picked, err := pick(a.rows(), named, a.ss.Selected, inState(reconcile.RegistryOnly))
	if err != nil {
		return nil, err
	}
	doses := make([]chart.Dose, len(picked))
	for i, r := range picked {
		doses[i] = asImported(*r.Registry)
	}
	return s.toEHR(a, who, ActionImport, picked, doses, "A",
		count(len(doses), "dose")+" queued for the EHR as historical (from the registry)")
}

// Delete sends RXA-21 D for the local doses of rows (or of the selection)
// to the EHR and removes them from the chart.
func (s *Service) Delete(channel string, p Patient, named []string, who string) (*Result, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	picked, err := pick(a.rows(), named, a.ss.Selected, func(r Row) bool { return r.Local != nil })
	if err != nil {
		return nil, err
	}
	return s.toEHR(a, who, ActionDelete, picked, localDoses(picked), "D", count(len(picked), "deletion")+" queued for the EHR")
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
	all := a.rows()
	l, err := pick(all, []string{localRow}, nil, inState(reconcile.LocalOnly))
	if err != nil {
		return nil, err
	}
	r, err := pick(all, []string{registryRow}, nil, inState(reconcile.RegistryOnly))
	if err != nil {
		return nil, err
	}
	if err := reconcile.CheckReconcile(*l[0].Local, *r[0].Registry); err != nil {
		return nil, err
	}
	d := asImported(*r[0].Registry)
	d.ID = l[0].Local.ID
	return s.toEHR(a, who, ActionReconcile, []Row{l[0], r[0]}, []chart.Dose{d}, "U",
		"local historical record updated to the registry's, queued for the EHR")
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
	picked, err := pick(a.rows(), named, a.ss.Selected, inState(reconcile.LocalOnly))
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	now := s.e.Now()
	app, fac := registryAddress(a.sc)
	ctl := channels.ControlID('S', now)
	raw, err := chart.VXU(a.c, localDoses(picked), chart.VXUOptions{SendingApp: a.sc.Sync.Application, SendingFacility: a.c.Key.Facility,
		ReceivingApp: app, ReceivingFacility: fac, ControlID: ctl, Time: now, Action: "A", IncludeRegistryID: true})
	s.mu.Unlock() // not held while the registry answers
	if err != nil {
		return nil, fmt.Errorf("registry: build VXU: %w", err)
	}
	tr, err := s.e.Try(ctx, channel, raw)
	if err != nil {
		return nil, err
	}
	rec := s.record(a.sc, a.c.Key, typeVXU, ctl, raw, now)
	if tr.Transformed != nil {
		rec.Transformed = tr.Transformed
	}
	res := &Result{Action: ActionSend, Rows: ids(picked)}
	switch tr.Outcome {
	case channels.TryQueued:
	case channels.TryRejected:
		res.Findings, res.Outcome = tr.Findings, "stopped by pre-flight validation"
		s.mu.Lock()
		s.audit(channel, &a.c.Key, Audit{At: now, Who: who, Action: ActionSend, Rows: res.Rows, Outcome: res.Outcome,
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
	s.audit(channel, &a.c.Key, Audit{At: now, Who: who, Action: ActionSend, Rows: res.Rows, Outcome: res.Outcome, MessageIDs: res.MessageIDs,
		Messages: []AuditMessage{{Direction: toRegistry, Raw: string(payload)}, {Direction: fromRegistry, Raw: string(reply)}}})
	if c, err := s.loadChartRef(channel, a.ref); err == nil {
		a.c = c
	}
	if ss, err := s.loadSession(channel, a.ref); err == nil {
		a.ss = ss
	}
	res.View = s.view(a.sc, a.c, a.ss)
	return res, serr
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
	all := a.rows()
	var picked []Row
	switch {
	case len(named) > 0:
		if picked, err = pick(all, named, nil, func(Row) bool { return true }); err != nil {
			return nil, err
		}
	case which == "" && !add:
		picked = all
	default:
		plain := make([]reconcile.Row, len(all))
		for i, r := range all {
			plain[i] = r.Row
		}
		idx := reconcile.Select(plain, which)
		if idx == nil && which != reconcile.SelectAll && which != reconcile.SelectMatching &&
			which != reconcile.SelectLocalOnly && which != reconcile.SelectRegistryOnly {
			return nil, fmt.Errorf("%w: selection must be all, matching, local_only or registry_only", ErrBadRow)
		}
		for _, i := range idx {
			picked = append(picked, all[i])
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
	s.audit(channel, &a.c.Key, Audit{At: s.e.Now(), Who: who, Action: action, Rows: ids(picked), Outcome: count(len(a.ss.Selected), "row") + " selected"})
	return s.view(a.sc, a.c, a.ss), nil
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
	s.audit(channel, &a.c.Key, Audit{At: s.e.Now(), Who: who, Action: ActionDrop, Outcome: "registry link dropped"})
	return s.view(a.sc, a.c, a.ss), nil
}

// count says "1 dose", "2 doses".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
