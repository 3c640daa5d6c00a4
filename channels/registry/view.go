package registry

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
	"github.com/iisync/iisync/transforms/iis/reconcile"
)

// View is the Sync Registry window for one patient, as data: the last
// query's three-part status and the five tabs, comparing the chart as it
// is now with the registry's last answer. It holds PHI.
type View struct {
	Channel string `json:"channel"`
	// PatientRef is the patient_ref of the MRN (Engine.PatientRef), which
	// also names the patient in the logs and the stored messages.
	PatientRef string    `json:"patient_ref"`
	Patient    Patient   `json:"patient"`
	RegistryID string    `json:"registry_id,omitempty"`
	QueriedAt  time.Time `json:"queried_at"`
	QueriedBy  string    `json:"queried_by"`
	Profile    string    `json:"profile"`
	MessageID  store.ID  `json:"message_id,omitempty"`

	// MessageStatus: received, received with warnings, received with
	// errors, not received (Failure says why) or unreadable.
	MessageStatus     query.MessageStatus `json:"message_status"`
	MessageStatusText string              `json:"message_status_text"`
	Failure           string              `json:"failure,omitempty"`
	// QueryQuality is what QAK-2 means, and Checks the derived checks.
	QueryQuality     query.Quality  `json:"query_quality"`
	QueryQualityText string         `json:"query_quality_text"`
	Checks           []query.Check  `json:"checks,omitempty"`
	Errors           []iis.ACKError `json:"errors,omitempty"`
	Summary          string         `json:"summary"`

	// Immunizations are the rows of the first tab, numbered from 1.
	Immunizations []Row                    `json:"immunizations"`
	Counts        reconcile.Counts         `json:"counts"`
	Indicators    []reconcile.IndicatorRow `json:"indicators"`
	Forecast      []ForecastRow            `json:"forecast"`
	// Demographics compares the Chart Demographics and IIS Demographics
	// tabs field by field; ChartDemographics and IISDemographics are the
	// two tabs themselves.
	Demographics      []reconcile.FieldDiff `json:"demographics"`
	ChartDemographics chart.Demographics    `json:"chart_demographics"`
	IISDemographics   *chart.Demographics   `json:"iis_demographics,omitempty"`
	// Candidates are the registry's possible matches (a Z31 answer): Link
	// one to query it.
	Candidates []query.Candidate `json:"candidates,omitempty"`
}

// Row is one line of the Immunizations tab.
type Row struct {
	// N numbers the row from 1, in the tab's order; actions take it.
	N int `json:"n"`
	// ID names the row across changes: "L:<local dose ID>" for a row with a
	// local dose, else "R:<registry dose ID>".
	ID string `json:"id"`
	reconcile.Row
	// Color is the window's colour: white (match, or match with
	// differences), blue (local only) or yellow (registry only).
	Color    string `json:"color"`
	Selected bool   `json:"selected"`
}

// ForecastRow is one line of the IIS Forecast tab: the registry's
// recommendation and its normalised status in plain words.
type ForecastRow struct {
	query.Forecast
	StatusWords string `json:"status_words"`
}

func rowID(r reconcile.Row) string {
	if r.Local != nil {
		return "L:" + r.Local.ID
	}
	if r.Registry != nil {
		return "R:" + r.Registry.ID
	}
	return ""
}

// rows compares chart c with the session's registry side.
func rows(sc channels.SyncChannel, c *chart.Chart, ss *Session) []Row {
	var reg []chart.Dose
	if ss.Registry != nil {
		reg = ss.Registry.Doses
	}
	cmp := reconcile.Compare(c.Doses, reg, reconcile.Options{DayWindow: sc.Sync.DayWindow})
	out := make([]Row, len(cmp))
	for i, r := range cmp {
		out[i] = Row{N: i + 1, ID: rowID(r), Row: r, Color: r.State.Color(), Selected: slices.Contains(ss.Selected, rowID(r))}
	}
	return out
}

// view lays out the window for chart c and session ss.
func (s *Service) view(sc channels.SyncChannel, c *chart.Chart, ss *Session) *View {
	a := ss.Answer
	v := &View{Channel: sc.Name, PatientRef: s.e.PatientRef(c.Key.MRN), Patient: Patient{Facility: c.Key.Facility, MRN: c.Key.MRN},
		RegistryID: c.RegistryID, QueriedAt: ss.At, QueriedBy: ss.Who, Profile: ss.Profile, MessageID: ss.MessageID,
		MessageStatus: a.Status, MessageStatusText: a.Status.Words(), Failure: ss.Failure,
		QueryQuality: a.Quality, QueryQualityText: a.Quality.Words(), Checks: a.Checks, Errors: a.Errors, Summary: a.Reason,
		ChartDemographics: c.Patient, Candidates: ss.Candidates}
	v.Immunizations = rows(sc, c, ss)
	plain := make([]reconcile.Row, len(v.Immunizations))
	for i, r := range v.Immunizations {
		plain[i] = r.Row
	}
	v.Counts = reconcile.Summary(plain)
	var regInd []chart.Indicator
	var regDem chart.Demographics
	if ss.Registry != nil {
		regInd, regDem = ss.Registry.Indicators, ss.Registry.Patient
		v.IISDemographics = &regDem
	}
	v.Demographics = reconcile.Demographics(c.Patient, regDem)
	v.Indicators = reconcile.Indicators(c.Indicators, regInd)
	for _, f := range a.Forecast {
		v.Forecast = append(v.Forecast, ForecastRow{Forecast: f, StatusWords: f.Status.Words()})
	}
	if v.Immunizations == nil {
		v.Immunizations = []Row{}
	}
	return v
}

// Show returns the view of the patient's last query, compared with the
// chart as it is now.
func (s *Service) Show(channel string, p Patient) (*View, error) {
	a, err := s.begin(channel, p)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return s.view(a.sc, a.c, a.ss), nil
}

// pick resolves the rows an action names: numbers ("3") or IDs ("L:..."),
// or the selection when none are named. ok filters the usable ones; a named
// row that is not usable is an error.
func pick(all []Row, named []string, selected []string, ok func(Row) bool) ([]Row, error) {
	var out []Row
	if len(named) == 0 {
		for _, r := range all {
			if slices.Contains(selected, r.ID) && ok(r) {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			return nil, ErrNothingSelected
		}
		return out, nil
	}
	for _, n := range named {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(all, func(r Row) bool { return r.ID == n })
		if k, err := strconv.Atoi(n); err == nil {
			i = k - 1
		}
		if i < 0 || i >= len(all) || !ok(all[i]) {
			return nil, errBadRow(n)
		}
		if !slices.ContainsFunc(out, func(r Row) bool { return r.ID == all[i].ID }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func errBadRow(n string) error {
	if _, err := strconv.Atoi(n); err == nil {
		return &rowError{n}
	}
	return &rowError{"given by ID"} // IDs may be registry data: not echoed
}

type rowError struct{ row string }

func (e *rowError) Error() string { return "registry: row " + e.row + " is not usable for this action" }
func (e *rowError) Unwrap() error { return ErrBadRow }
