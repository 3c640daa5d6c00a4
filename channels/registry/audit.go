package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// The actions, as recorded in the audit trail.
const (
	ActionQuery     = "query"
	ActionRefresh   = "refresh"
	ActionImport    = "import"
	ActionSend      = "send"
	ActionReconcile = "reconcile"
	ActionDelete    = "delete"
	ActionSelect    = "select"
	ActionUnselect  = "unselect"
	ActionDrop      = "drop"
	ActionLink      = "link"
	ActionPing      = "ping"
)

// Directions of the raw messages of an audit entry.
const (
	toRegistry   = "to_registry"
	fromRegistry = "from_registry"
	toEHR        = "to_ehr"
)

// Audit is one entry of a patient's audit trail: who did what, when, on
// which rows, with which outcome and which messages. It holds PHI (the raw
// messages).
type Audit struct {
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Action string    `json:"action"`
	// Rows are the row IDs acted on ("L:<local dose ID>", "R:<registry
	// dose ID>").
	Rows []string `json:"rows,omitempty"`
	// Outcome says what happened in plain words, without PHI.
	Outcome string `json:"outcome"`
	// MessageIDs are the stored messages the action wrote (`iisync
	// messages show ID`).
	MessageIDs []store.ID     `json:"message_ids,omitempty"`
	Messages   []AuditMessage `json:"messages,omitempty"`
}

// AuditMessage is one raw message of an action, kept with the audit entry
// so that it outlives message retention.
type AuditMessage struct {
	Direction string `json:"direction"` // to_registry, from_registry, to_ehr
	Raw       string `json:"raw"`
}

// audit appends an entry to the trail of the patient of chart key k (nil
// for a channel-wide action, kept under "-") and logs it, naming the
// patient by patient_ref only. A failure to record is logged, not
// returned: the action has already happened. Caller holds mu.
func (s *Service) audit(channel string, k *chart.Key, a Audit) {
	if a.Who == "" {
		a.Who = "unknown"
	}
	a.Messages = slices.DeleteFunc(a.Messages, func(m AuditMessage) bool { return strings.TrimSpace(m.Raw) == "" })
	ref := "-"
	if k != nil {
		ref = s.ref(*k)
	}
	v, err := json.Marshal(a)
	if err == nil {
		s.auditSeq++ // two entries in the same clock tick keep their order
		err = s.st.PutRecord(kindAudit, fmt.Sprintf("%s/%s/%020d.%010d", channel, ref, a.At.UnixNano(), s.auditSeq), v)
	}
	ev := s.log.Info()
	if err != nil {
		ev = s.log.Error().Err(err)
	}
	if k != nil {
		ev = ev.Str("patient_ref", s.e.PatientRef(k.MRN))
	}
	ev.Str("channel", channel).Str("action", a.Action).Str("who", a.Who).Str("outcome", a.Outcome).Msg("sync registry action")
}

// AuditTrail returns the patient's audit entries, oldest first.
func (s *Service) AuditTrail(channel string, p Patient) ([]Audit, error) {
	if _, err := s.e.SyncChannel(channel); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ref, err := s.resolve(channel, p)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []Audit
	prefix, after := channel+"/"+ref+"/", ""
	for {
		rs, err := s.st.Records(kindAudit, prefix, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			var a Audit
			if err := json.Unmarshal(r.Value, &a); err != nil {
				return nil, fmt.Errorf("registry: audit: %w", store.ErrCorrupt)
			}
			out = append(out, a)
			after = r.Key
		}
		if len(rs) < 1000 {
			return out, nil
		}
	}
}
