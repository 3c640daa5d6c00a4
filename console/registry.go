package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/transforms/iis/query"
	"github.com/iisync/iisync/transforms/iis/reconcile"
)

// The Sync Registry API (docs/API.md, "Sync Registry"): one patient's
// registry history compared with the local chart, and the actions that fix
// either side. Patients are PHI, so they travel in POST bodies, never in
// URLs; answers hold PHI (the View) and each one is audited ("phi
// accessed", with the patient_ref, never the MRN).

// registryTimeout bounds one Sync Registry call that talks to the registry
// (query, refresh, send, link, ping), under the API's write timeout, so a
// registry that never answers gives an answer rather than a dropped
// connection. The other actions do no network I/O.
const registryTimeout = 45 * time.Second

// Limits of a RegistryRequest.
const (
	maxPatientField = 256  // bytes of mrn and facility
	maxRows         = 1000 // entries of rows
	maxRowRef       = 256  // bytes of one row, local or registry
)

// errRegistryOff answers every /api/registry route while SetRegistry has
// not been given a Service.
const errRegistryOff = "the sync registry is not running"

// RegistryChannel is one channel with the Sync Registry on, in GET
// /api/registry.
type RegistryChannel struct {
	Name string `json:"name"`
	// Destination is the iis destination the channel queries and sends to.
	Destination string `json:"destination"`
	// Profile is the query profile, Z44 or Z34.
	Profile string `json:"profile"`
	// DayWindow is how many days apart two doses may be and still match.
	DayWindow int `json:"day_window"`
	// Return reports whether the channel has a return channel to the EHR
	// (import, reconcile and delete need one).
	Return bool `json:"return"`
}

// RegistryChannelList is the answer of GET /api/registry.
type RegistryChannelList struct {
	Channels []RegistryChannel `json:"channels"`
}

// RegistryRequest is the body of POST /api/registry/{channel}/{action}.
// MRN (and Facility when the MRN is not unique on the channel) names the
// patient; each action takes some of the other fields and refuses the rest.
type RegistryRequest struct {
	MRN      string `json:"mrn"`
	Facility string `json:"facility,omitempty"`
	// Which is a selection for select and unselect: all, matching,
	// local_only or registry_only.
	Which string `json:"which,omitempty"`
	// Rows name rows of the Immunizations tab by number ("3") or ID
	// ("L:…", "R:…"), for select, unselect, import, send and delete; empty
	// means the selection (import, send, delete).
	Rows []string `json:"rows,omitempty"`
	// Local and Registry are the two rows of a reconcile.
	Local    string `json:"local,omitempty"`
	Registry string `json:"registry,omitempty"`
	// Candidate is the 1-based candidate of a link.
	Candidate int `json:"candidate,omitempty"`
}

// RegistryAuditTrail is the answer of POST /api/registry/{channel}/audit.
type RegistryAuditTrail struct {
	Channel string           `json:"channel"`
	Entries []registry.Audit `json:"entries"`
}

// RegistryPingResponse is the answer of POST /api/registry/{channel}/ping.
type RegistryPingResponse struct {
	Channel string `json:"channel"`
	OK      bool   `json:"ok"`
	Echo    string `json:"echo,omitempty"`  // what the registry echoed (OK)
	Error   string `json:"error,omitempty"` // the fault kind or transport failure, never registry text
	Millis  int64  `json:"millis"`
}

// registryFailure is the body of an action that failed with a Result: a
// send stopped by pre-flight validation (422, the findings) or whose
// transport failed (502).
type registryFailure struct {
	Error string `json:"error"`
	*registry.Result
}

// Request fields an action may take besides mrn and facility.
const (
	takesWhich = 1 << iota
	takesRows
	takesPair
	takesCandidate
)

// registryAction is one patient route of the Sync Registry.
type registryAction struct {
	takes int
	run   func(ctx context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error)
}

// registryActions are the patient routes by the last element of their path.
var registryActions = map[string]registryAction{
	"query": {0, func(ctx context.Context, reg *registry.Service, ch string, p registry.Patient, _ *RegistryRequest, who string) (any, error) {
		return orNil(reg.Query(ctx, ch, p, who))
	}},
	"refresh": {0, func(ctx context.Context, reg *registry.Service, ch string, p registry.Patient, _ *RegistryRequest, who string) (any, error) {
		return orNil(reg.Refresh(ctx, ch, p, who))
	}},
	"show": {0, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, _ *RegistryRequest, _ string) (any, error) {
		return orNil(reg.Show(ch, p))
	}},
	"drop": {0, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, _ *RegistryRequest, who string) (any, error) {
		return orNil(reg.Drop(ch, p, who))
	}},
	"audit": {0, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, _ *RegistryRequest, _ string) (any, error) {
		trail, err := reg.AuditTrail(ch, p)
		if err != nil {
			return nil, err
		}
		if trail == nil {
			trail = []registry.Audit{}
		}
		return RegistryAuditTrail{Channel: ch, Entries: trail}, nil
	}},
	"select": {takesWhich | takesRows, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Select(ch, p, req.Which, req.Rows, who))
	}},
	"unselect": {takesWhich | takesRows, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Unselect(ch, p, req.Which, req.Rows, who))
	}},
	"import": {takesRows, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Import(ch, p, req.Rows, who))
	}},
	"send": {takesRows, func(ctx context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Send(ctx, ch, p, req.Rows, who))
	}},
	"delete": {takesRows, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Delete(ch, p, req.Rows, who))
	}},
	"reconcile": {takesPair, func(_ context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Reconcile(ch, p, req.Local, req.Registry, who))
	}},
	"link": {takesCandidate, func(ctx context.Context, reg *registry.Service, ch string, p registry.Patient, req *RegistryRequest, who string) (any, error) {
		return orNil(reg.Link(ctx, ch, p, req.Candidate, who))
	}},
}

// orNil keeps a nil *View or *Result a nil interface, so callers can test
// for it. A *Result may come with an error.
func orNil[T any](v *T, err error) (any, error) {
	if v == nil {
		return nil, err
	}
	return v, err
}

// who names the caller in the Sync Registry's audit trail: the claimed
// user (X-Iisync-User) when given, else the authentication identity.
func (c caller) who() string {
	if c.claimed != "" {
		return c.claimed
	}
	return c.user
}

// registryChannels answers GET /api/registry: the channels with the Sync
// Registry on.
func (s *Server) registryChannels(w http.ResponseWriter, _ *http.Request, _ caller) {
	if s.reg.Load() == nil {
		writeError(w, http.StatusNotFound, errRegistryOff)
		return
	}
	out := RegistryChannelList{Channels: []RegistryChannel{}}
	for _, sc := range s.eng.SyncChannels() {
		out.Channels = append(out.Channels, RegistryChannel{Name: sc.Name, Destination: sc.Sync.Destination,
			Profile: sc.Sync.Profile, DayWindow: sc.Sync.DayWindow, Return: sc.Return})
	}
	writeJSON(w, http.StatusOK, out)
}

// registry returns the handler of POST /api/registry/{channel}/{name},
// which runs a.
func (s *Server) registry(name string, a registryAction) func(http.ResponseWriter, *http.Request, caller) {
	return func(w http.ResponseWriter, r *http.Request, c caller) {
		reg := s.reg.Load()
		if reg == nil {
			writeError(w, http.StatusNotFound, errRegistryOff)
			return
		}
		req, code, msg := decodeRegistryRequest(r.Body, a.takes)
		if code != 0 {
			writeError(w, code, msg)
			return
		}
		ch := r.PathValue("channel")
		ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
		defer cancel()
		out, err := a.run(ctx, reg, ch, registry.Patient{Facility: req.Facility, MRN: req.MRN}, &req, c.who())
		if res, ok := out.(*registry.Result); ok && err != nil {
			// A send that got as far as a Result: stopped by pre-flight
			// validation, or the registry could not be reached.
			code := http.StatusBadGateway
			if errors.Is(err, registry.ErrPreflight) {
				code = http.StatusUnprocessableEntity
			}
			s.auditRegistry(r, c, name, ch, req.MRN, res.Outcome)
			writeJSON(w, code, registryFailure{Error: err.Error(), Result: res})
			return
		}
		if err != nil {
			s.registryFail(w, r, name, err)
			return
		}
		s.auditRegistry(r, c, name, ch, req.MRN, "")
		writeJSON(w, http.StatusOK, out)
	}
}

// registryPing answers POST /api/registry/{channel}/ping: the registry's
// connectivity test through the channel's sync destination. Like the
// destination ping, a registry that fails is a 200 with ok false.
func (s *Server) registryPing(w http.ResponseWriter, r *http.Request, c caller) {
	reg := s.reg.Load()
	if reg == nil {
		writeError(w, http.StatusNotFound, errRegistryOff)
		return
	}
	if err := drainEmpty(r.Body); err != nil {
		writeError(w, bodyStatus(err), bodyError(err))
		return
	}
	ch := r.PathValue("channel")
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), registryTimeout)
	defer cancel()
	got, err := reg.Ping(ctx, ch, c.who())
	resp := RegistryPingResponse{Channel: ch, Millis: time.Since(start).Milliseconds()}
	switch {
	case errors.Is(err, channels.ErrNoSync):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		resp.Error = err.Error()
	default:
		resp.OK, resp.Echo = true, got
	}
	writeJSON(w, http.StatusOK, resp)
}

// decodeRegistryRequest reads and checks the body of a patient route; a
// non-zero code is the status to answer with msg. Messages name fields,
// never their values (an MRN is PHI).
func decodeRegistryRequest(body io.Reader, takes int) (RegistryRequest, int, string) {
	var req RegistryRequest
	if code, msg := readJSON(body, &req); code != 0 {
		return req, code, msg
	}
	switch {
	case req.MRN == "":
		return req, http.StatusBadRequest, "mrn: required"
	case len(req.MRN) > maxPatientField:
		return req, http.StatusBadRequest, "mrn: at most 256 bytes"
	case len(req.Facility) > maxPatientField:
		return req, http.StatusBadRequest, "facility: at most 256 bytes"
	case len(req.Rows) > maxRows:
		return req, http.StatusBadRequest, "rows: at most 1000"
	case len(req.Local) > maxRowRef || len(req.Registry) > maxRowRef:
		return req, http.StatusBadRequest, "local, registry: at most 256 bytes each"
	}
	for _, r := range req.Rows {
		if len(r) > maxRowRef {
			return req, http.StatusBadRequest, "rows: at most 256 bytes each"
		}
	}
	unused := func(name string) (RegistryRequest, int, string) {
		return req, http.StatusBadRequest, name + ": not used by this action"
	}
	switch {
	case takes&takesWhich == 0 && req.Which != "":
		return unused("which")
	case takes&takesRows == 0 && req.Rows != nil:
		return unused("rows")
	case takes&takesPair == 0 && (req.Local != "" || req.Registry != ""):
		return unused("local, registry")
	case takes&takesCandidate == 0 && req.Candidate != 0:
		return unused("candidate")
	case takes&takesPair != 0 && (req.Local == "" || req.Registry == ""):
		return req, http.StatusBadRequest, "local and registry: both rows required"
	case takes&takesCandidate != 0 && req.Candidate < 1:
		return req, http.StatusBadRequest, "candidate: required, 1-based"
	}
	return req, 0, ""
}

// registryStatus maps a Sync Registry error to an HTTP status: 404 for
// what does not exist (the channel's sync, the chart, the session), 400 for
// a request that must change (name the facility, other rows), 409 for what
// the patient's or channel's state forbids; 0 for anything else.
func registryStatus(err error) int {
	switch {
	case errors.Is(err, channels.ErrNoSync), errors.Is(err, registry.ErrNoChart), errors.Is(err, registry.ErrNoSession):
		return http.StatusNotFound
	case errors.Is(err, registry.ErrAmbiguous), errors.Is(err, registry.ErrBadRow):
		return http.StatusBadRequest
	case errors.Is(err, registry.ErrNothingSelected), errors.Is(err, registry.ErrNotLinked), errors.Is(err, registry.ErrNoReturn),
		errors.Is(err, reconcile.ErrDifferentGroup), errors.Is(err, reconcile.ErrAdministered),
		errors.Is(err, query.ErrNoName), errors.Is(err, query.ErrNoBirthDate), errors.Is(err, query.ErrNoChart),
		errors.Is(err, query.ErrNoControlID), errors.Is(err, query.ErrProfile):
		return http.StatusConflict
	}
	return 0
}

// registryFail answers a failed action. The Sync Registry's errors carry
// no patient data (positions, counts, names of channels), so the 4xx texts
// are passed on; the rest goes through fail (500 with a generic message,
// the error in the log; 503 while shutting down or timed out).
func (s *Server) registryFail(w http.ResponseWriter, r *http.Request, action string, err error) {
	if code := registryStatus(err); code != 0 {
		writeError(w, code, err.Error())
		return
	}
	s.fail(w, r, "registry "+action, err)
}

// auditRegistry records an answer that showed or changed a patient's
// record: who, from where, which channel and patient (by patient_ref, the
// keyed hash of the MRN that message search uses), never the MRN.
func (s *Server) auditRegistry(r *http.Request, c caller, action, channel, mrn, outcome string) {
	ev := s.log.Info().Str("audit", "registry_"+action).Str("channel", channel).Str("patient_ref", s.eng.PatientRef(mrn)).
		Str("remote_addr", r.RemoteAddr).Str("user", c.user)
	if c.claimed != "" {
		ev = ev.Str("claimed_user", c.claimed)
	}
	if outcome != "" {
		ev = ev.Str("outcome", outcome)
	}
	ev.Msg("phi accessed")
}
