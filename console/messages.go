package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/iis"
)

// Summary is one message in a search result: header fields, statuses and
// error codes, never content.
type Summary struct {
	ID            store.ID          `json:"id"`
	Channel       string            `json:"channel"`
	Source        string            `json:"source,omitempty"`
	ReceivedAt    time.Time         `json:"received_at"`
	ControlID     string            `json:"control_id"`
	Sender        string            `json:"sender"`
	Type          string            `json:"type"`
	PatientRef    string            `json:"patient_ref,omitempty"`
	Status        store.Status      `json:"status"`
	ParseError    string            `json:"parse_error,omitempty"`
	ContentPruned bool              `json:"content_pruned,omitempty"`
	Deliveries    []DeliverySummary `json:"deliveries"`
}

// DeliverySummary is one destination's handling of a message, without content.
type DeliverySummary struct {
	Destination string       `json:"destination"`
	Status      store.Status `json:"status"`
	Attempts    int          `json:"attempts"`
	ACKCode     string       `json:"ack_code,omitempty"`
	ErrorCodes  []string     `json:"error_codes,omitempty"`
	LastError   string       `json:"last_error,omitempty"`
	SentAt      *time.Time   `json:"sent_at,omitempty"`
	NextAttempt *time.Time   `json:"next_attempt,omitempty"`
	Return      bool         `json:"return,omitempty"`
}

// Record is the full record of one message, content included (PHI).
type Record struct {
	Summary
	// Raw is the message as received; Transformed is after filter and
	// transforms (absent when equal to Raw). HL7 segments end in "\r".
	Raw         string           `json:"raw,omitempty"`
	Transformed string           `json:"transformed,omitempty"`
	Deliveries  []DeliveryRecord `json:"deliveries"`
}

// DeliveryRecord is a delivery with its content: what was sent and what the
// destination answered.
type DeliveryRecord struct {
	DeliverySummary
	Sent     string `json:"sent,omitempty"`
	Response string `json:"response,omitempty"`
	// Errors are the ERR segments of an HL7 response (a registry's ACK or
	// RSP), each with its location, codes, severity, the registry's user
	// message and a plain-English explanation.
	Errors []iis.ACKError `json:"errors,omitempty"`
}

// MessageList is the answer of GET /api/messages.
type MessageList struct {
	Messages []Summary `json:"messages"`
	// NextAfter, when set, is the `after` value that fetches the next page.
	NextAfter store.ID `json:"next_after,omitempty"`
}

func summarize(m *store.Message) Summary {
	s := Summary{
		ID: m.ID, Channel: m.Channel, Source: m.Source, ReceivedAt: m.ReceivedAt.UTC(),
		ControlID: m.ControlID, Sender: m.Sender, Type: m.Type, PatientRef: m.PatientRef,
		Status: m.Status, ParseError: m.ParseError, ContentPruned: m.ContentPruned,
		Deliveries: make([]DeliverySummary, 0, len(m.Deliveries)),
	}
	for _, d := range m.Deliveries {
		s.Deliveries = append(s.Deliveries, summarizeDelivery(d))
	}
	return s
}

func summarizeDelivery(d store.Delivery) DeliverySummary {
	ds := DeliverySummary{
		Destination: d.Destination, Status: d.Status, Attempts: d.Attempts, ACKCode: d.ACKCode,
		ErrorCodes: d.ErrorCodes, LastError: d.LastError, Return: d.Return,
	}
	if !d.SentAt.IsZero() {
		t := d.SentAt.UTC()
		ds.SentAt = &t
	}
	if !d.NextAttempt.IsZero() {
		t := d.NextAttempt.UTC()
		ds.NextAttempt = &t
	}
	return ds
}

// statuses are the values the status parameter accepts.
var statuses = map[store.Status]bool{
	store.StatusReceived: true, store.StatusFiltered: true, store.StatusQueued: true,
	store.StatusSent: true, store.StatusAccepted: true, store.StatusAcceptedWithWarnings: true,
	store.StatusRejected: true, store.StatusErrored: true, store.StatusDeadLettered: true,
}

// maxLimit is the most messages one page holds.
const maxLimit = 1000

// parseQuery turns the query string of GET /api/messages into a store.Query.
// Unknown parameters are an error, so a typo does not silently widen a search.
func (s *Server) parseQuery(v url.Values) (store.Query, error) {
	var q store.Query
	for k, vals := range v {
		if len(vals) != 1 {
			return q, fmt.Errorf("parameter %s given %d times", k, len(vals))
		}
		val := vals[0]
		if len(val) > 256 {
			return q, fmt.Errorf("parameter %s is too long", k)
		}
		var err error
		switch k {
		case "channel":
			q.Channel = val
		case "control_id":
			q.ControlID = val
		case "sender":
			q.Sender = val
		case "type":
			q.Type = val
		case "patient":
			if val != "" {
				q.PatientRef = s.eng.PatientRef(val)
			}
		case "status":
			q.Status = store.Status(val)
			if val != "" && !statuses[q.Status] {
				return q, fmt.Errorf("status: unknown status %q", val)
			}
		case "ack":
			q.ACKCode = val
		case "error":
			q.ErrorCode = val
		case "since":
			q.Since, err = parseTime(val)
		case "until":
			q.Until, err = parseTime(val)
		case "after":
			var id uint64
			id, err = strconv.ParseUint(val, 10, 64)
			q.After = store.ID(id)
		case "limit":
			q.Limit, err = strconv.Atoi(val)
			if err == nil && (q.Limit < 1 || q.Limit > maxLimit) {
				err = fmt.Errorf("must be 1..%d", maxLimit)
			}
		default:
			return q, fmt.Errorf("unknown parameter %q", k)
		}
		if err != nil {
			// The patient value is never echoed: it is an MRN.
			return q, fmt.Errorf("%s: %w", k, cleanParseErr(err))
		}
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return q, errors.New("until is before since")
	}
	return q, nil
}

// Times the store can index (Unix nanoseconds in an int64); bounds beyond
// them mean "unbounded".
var (
	minTime = time.Unix(0, -1<<63+1)
	maxTime = time.Unix(0, 1<<63-1)
)

func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, errors.New("must be an RFC 3339 time such as 2025-01-02T15:04:05Z")
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, nil
	}
	return t, nil
}

// cleanParseErr drops strconv's echo of the input.
func cleanParseErr(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return errors.New("must be a non-negative integer")
	}
	return err
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, _ caller) {
	q, err := s.parseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	msgs, err := s.eng.Store().Search(q)
	if err != nil {
		s.fail(w, r, "search", err)
		return
	}
	out := MessageList{Messages: make([]Summary, 0, len(msgs))}
	for i := range msgs {
		out.Messages = append(out.Messages, summarize(&msgs[i]))
	}
	if len(msgs) == q.Limit && len(msgs) > 0 {
		out.NextAfter = msgs[len(msgs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// pathID parses the {id} wildcard.
func pathID(r *http.Request) (store.ID, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, errors.New("message id must be a positive integer")
	}
	return store.ID(id), nil
}

func (s *Server) showMessage(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, err := s.eng.Store().Get(id)
	if err != nil {
		s.fail(w, r, "get", err)
		return
	}
	s.audit(r, c, id, "view", nil)
	rec := Record{Summary: summarize(m), Raw: string(m.Raw), Transformed: string(m.Transformed)}
	rec.Deliveries = make([]DeliveryRecord, 0, len(m.Deliveries))
	for _, d := range m.Deliveries {
		dr := DeliveryRecord{DeliverySummary: summarizeDelivery(d), Sent: string(d.Sent), Response: string(d.Response)}
		if len(d.Response) > 0 {
			dr.Errors = iis.Classify(d.Response).Errors
		}
		rec.Deliveries = append(rec.Deliveries, dr)
	}
	rec.Summary.Deliveries = nil // shadowed by Record.Deliveries
	writeJSON(w, http.StatusOK, rec)
}

// audit records an access to or an action on a message's PHI: what (view,
// reprocess, resend), who, from where, which message. Never the content.
// more adds the action's own fields.
func (s *Server) audit(r *http.Request, c caller, id store.ID, action string, more func(*zerolog.Event)) {
	ev := s.log.Info().Str("audit", action).Uint64("message_id", uint64(id)).
		Str("remote_addr", r.RemoteAddr).Str("user", c.user)
	if c.claimed != "" {
		ev = ev.Str("claimed_user", c.claimed)
	}
	if more != nil {
		more(ev)
	}
	ev.Msg("phi accessed")
}

// IDResponse is the answer of POST /api/messages/{id}/reprocess.
type IDResponse struct {
	ID store.ID `json:"id"`
}

func (s *Server) reprocess(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := drainEmpty(r.Body); err != nil {
		writeError(w, bodyStatus(err), bodyError(err))
		return
	}
	if _, ok := s.precheck(w, r, id, "reprocess", nil); !ok {
		return
	}
	newID, err := s.eng.Reprocess(r.Context(), id)
	if err != nil {
		s.fail(w, r, "reprocess", err)
		return
	}
	s.audit(r, c, id, "reprocess", func(e *zerolog.Event) { e.Uint64("new_id", uint64(newID)) })
	writeJSON(w, http.StatusOK, IDResponse{ID: newID})
}

// ResendRequest is the optional body of POST /api/messages/{id}/resend.
type ResendRequest struct {
	// Destinations names the channel's destinations to send to again; empty
	// means every destination the message had.
	Destinations []string `json:"destinations"`
}

// ResendResponse is the answer of POST /api/messages/{id}/resend.
type ResendResponse struct {
	ID           store.ID `json:"id"`
	Destinations []string `json:"destinations,omitempty"`
	Status       string   `json:"status"`
}

func (s *Server) resend(w http.ResponseWriter, r *http.Request, c caller) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req ResendRequest
	if code, msg := readJSON(r.Body, &req); code != 0 {
		writeError(w, code, msg)
		return
	}
	if len(req.Destinations) > 64 {
		writeError(w, http.StatusBadRequest, "destinations: at most 64")
		return
	}
	if _, ok := s.precheck(w, r, id, "resend", req.Destinations); !ok {
		return
	}
	if err := s.eng.Resend(r.Context(), id, req.Destinations); err != nil {
		s.fail(w, r, "resend", err)
		return
	}
	s.audit(r, c, id, "resend", func(e *zerolog.Event) { e.Strs("destinations", req.Destinations) })
	writeJSON(w, http.StatusAccepted, ResendResponse{ID: id, Destinations: req.Destinations, Status: "queued"})
}

// precheck answers the request itself, with the precise status, when the
// engine would refuse it: no such message (404), content pruned or channel
// not running (409), an unknown destination (400). The engine checks again;
// this only gives the client a better status than a generic failure.
func (s *Server) precheck(w http.ResponseWriter, r *http.Request, id store.ID, op string, dests []string) (*store.Message, bool) {
	m, err := s.eng.Store().Get(id)
	if err != nil {
		s.fail(w, r, op, err)
		return nil, false
	}
	if m.ContentPruned || m.Raw == nil {
		writeError(w, http.StatusConflict, op+": the message content was pruned by retention")
		return nil, false
	}
	var ch *channels.ChannelInfo
	infos := s.eng.Channels()
	for i := range infos {
		if infos[i].Name == m.Channel {
			ch = &infos[i]
		}
	}
	if ch == nil {
		if err := s.ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, op+": service unavailable ("+err.Error()+")")
			return nil, false
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("%s: channel %q is not running", op, m.Channel))
		return nil, false
	}
	for _, d := range dests {
		d = strings.TrimPrefix(d, m.Channel+"/")
		if !slices.ContainsFunc(ch.Destinations, func(di channels.DestinationInfo) bool { return di.Name == d }) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: channel %q has no destination %q", op, m.Channel, d))
			return nil, false
		}
	}
	return m, true
}

// errBodyNotEmpty is a body where none is expected.
var errBodyNotEmpty = errors.New("none expected")

// drainEmpty accepts an empty body (or an empty JSON object) only.
// readJSON decodes an optional request body (empty is the zero value) of
// one JSON object into v, refusing unknown fields; a non-zero code is the
// status to answer with msg (which names fields, never values).
func readJSON(body io.Reader, v any) (code int, msg string) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return bodyStatus(err), bodyError(err)
	}
	if dec.More() {
		return http.StatusBadRequest, "body: one JSON object expected"
	}
	return 0, ""
}

func drainEmpty(body io.Reader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch string(trimSpace(b)) {
	case "", "{}":
		return nil
	}
	return errBodyNotEmpty
}

// bodyStatus is 413 for a body over the limit, else 400.
func bodyStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// bodyError describes a JSON decoding failure without echoing the body.
func bodyError(err error) string {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return "body: too large"
	case errors.As(err, &se):
		return fmt.Sprintf("body: invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("body: %s must be %s", te.Field, te.Type)
	}
	return "body: " + err.Error()
}

// fail maps an engine or store error to a status code. Error texts of the
// engine and store name positions and destinations, never content, so the
// 4xx ones are passed on; 5xx details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	code := statusFor(err)
	msg := err.Error()
	if code >= 500 {
		s.log.Error().Err(err).Str("op", op).Str("path", r.URL.Path).Msg("api request failed")
		msg = op + " failed; see the server log"
		if code == http.StatusServiceUnavailable {
			msg = op + ": service unavailable (" + unavailableReason(err) + ")"
		}
	}
	writeError(w, code, msg)
}

func unavailableReason(err error) string {
	switch {
	case errors.Is(err, store.ErrClosed):
		return "store closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "shutting down"
}
