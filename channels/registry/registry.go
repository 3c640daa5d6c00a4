package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
)

// Record kinds in the store.
const (
	kindChart   = "registry.chart"   // <channel>/<ref> -> chart JSON
	kindMRN     = "registry.mrn"     // <channel>/<Ref(mrn)>/<ref> -> facility (lookup without a facility)
	kindSession = "registry.session" // <channel>/<ref> -> the last sync session
	kindAudit   = "registry.audit"   // <channel>/<ref>/<unixnano> -> audit entry
	kindCursor  = "registry.cursor"  // "mirror" -> the last message ID folded into charts
)

// Errors. Their text carries no patient data.
var (
	// ErrNoChart means no VXU of that patient has reached the channel.
	ErrNoChart = errors.New("registry: no chart for this patient on this channel")
	// ErrAmbiguous means an MRN without a facility names charts of
	// several facilities.
	ErrAmbiguous = errors.New("registry: several facilities have a patient with this MRN; give the facility")
	// ErrNoSession means the patient was never queried: query first.
	ErrNoSession = errors.New("registry: the patient has not been queried yet")
	// ErrBadRow means a row number is out of range or of the wrong kind
	// for the action.
	ErrBadRow = errors.New("registry: row not usable for this action")
	// ErrNothingSelected means an action found no rows to work on.
	ErrNothingSelected = errors.New("registry: no rows selected for this action")
	// ErrNoReturn means the channel has no return channel, so nothing can
	// be written to the EHR.
	ErrNoReturn = errors.New("registry: the channel has no return channel to the EHR")
	// ErrNotLinked means the action needs the registry's patient ID.
	ErrNotLinked = errors.New("registry: the patient is not linked to a registry ID")
)

// Patient names one patient of a channel: the EHR's facility (MSH-4.1, may
// be empty when the MRN is unique on the channel) and MRN. Both are PHI.
type Patient struct {
	Facility string `json:"facility,omitempty"`
	MRN      string `json:"mrn"`
}

// Service is the Sync Registry of an engine. Create it with New, start the
// chart follower with Start, stop it with Shutdown. Its methods are safe
// for concurrent use.
type Service struct {
	e   *channels.Engine
	st  *store.Store
	log zerolog.Logger

	mu       sync.Mutex // guards charts, sessions and cursor in the store
	cursor   store.ID
	auditSeq uint64 // orders audit entries of one clock tick

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// followEvery is how often the follower looks for new messages.
const followEvery = time.Second

// New returns the Sync Registry of e. It does no I/O.
func New(e *channels.Engine, log zerolog.Logger) *Service {
	return &Service{e: e, st: e.Store(), log: log.With().Str("component", "registry").Logger(), stop: make(chan struct{})}
}

// Start reads the follower's cursor and runs the follower.
func (s *Service) Start() error {
	v, err := s.st.GetRecord(kindCursor, "mirror")
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("registry: read cursor: %w", err)
	default:
		var c uint64
		if _, err := fmt.Sscan(string(v), &c); err != nil {
			return fmt.Errorf("registry: cursor: %w", store.ErrCorrupt)
		}
		s.cursor = store.ID(c)
	}
	s.wg.Go(s.follow)
	return nil
}

// Shutdown stops the follower; calling it again is harmless.
func (s *Service) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("registry: shutdown: %w", context.Cause(ctx))
	}
}

// follow folds new messages into charts until stopped.
func (s *Service) follow() {
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		if err := s.CatchUp(); err != nil && !errors.Is(err, store.ErrClosed) {
			s.log.Error().Err(err).Msg("chart mirror behind")
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// CatchUp folds every message stored since the last call into the charts
// of the sync channels: the VXUs the EHR sent (raw, as the EHR has them),
// whether or not the registry accepted them. Filtered and unparseable
// messages, and the Sync Registry's own, are skipped. The queries and
// actions catch up first, under the same hold of mu, so they see every VXU
// stored before them.
func (s *Service) CatchUp() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catchUp()
}

// catchUp is CatchUp. Caller holds mu.
func (s *Service) catchUp() error {
	syncOn := map[string]bool{}
	for _, c := range s.e.SyncChannels() {
		syncOn[c.Name] = true
	}
	if len(syncOn) == 0 {
		return nil // nothing to mirror; a reload that turns sync on folds the history then
	}
	for {
		ids, err := s.st.IDsAfter(s.cursor, 500)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			if err := s.fold(id, syncOn); err != nil {
				return err
			}
			s.cursor = id
		}
		if err := s.st.PutRecord(kindCursor, "mirror", []byte(fmt.Sprint(uint64(s.cursor)))); err != nil {
			return err
		}
	}
}

// fold applies message id to its patient's chart when it is a VXU of a
// sync channel. Caller holds mu.
func (s *Service) fold(id store.ID, syncOn map[string]bool) error {
	meta, err := s.st.Meta(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil // pruned meanwhile
	case err != nil:
		return err
	}
	if !syncOn[meta.Channel] || meta.Source == channels.SourceRegistry || meta.ParseError != "" || meta.ContentPruned ||
		meta.Status == store.StatusFiltered || meta.Status == store.StatusErrored || !strings.HasPrefix(meta.Type, "VXU") {
		return nil
	}
	m, err := s.st.Get(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if m.Raw == nil {
		return nil
	}
	msg, err := hl7.Parse(m.Raw)
	if err != nil {
		return nil
	}
	key, err := chart.KeyOf(msg)
	if err != nil {
		s.log.Warn().Uint64("id", uint64(id)).Str("channel", m.Channel).Err(err).Msg("VXU without patient: not in any chart")
		return nil
	}
	c, err := s.loadChart(m.Channel, key)
	if err != nil && !errors.Is(err, ErrNoChart) {
		return err
	}
	if c == nil {
		c = &chart.Chart{Key: key}
	}
	if err := chart.Apply(c, msg); err != nil {
		s.log.Warn().Uint64("id", uint64(id)).Str("channel", m.Channel).Err(err).Msg("VXU not folded into the chart")
		return nil
	}
	return s.saveChart(m.Channel, c)
}

// ref is the pseudonym of a chart key, which names the chart in the store.
// Logs and views name the patient by patient_ref (the MRN's) instead, as
// the stored messages do.
func (s *Service) ref(k chart.Key) string { return s.e.PatientRef(k.Facility + "\x00" + k.MRN) }

func (s *Service) loadChart(channel string, k chart.Key) (*chart.Chart, error) {
	return s.loadChartRef(channel, s.ref(k))
}

func (s *Service) loadChartRef(channel, ref string) (*chart.Chart, error) {
	v, err := s.st.GetRecord(kindChart, channel+"/"+ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNoChart
	case err != nil:
		return nil, err
	}
	var c chart.Chart
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("registry: chart: %w", store.ErrCorrupt)
	}
	return &c, nil
}

func (s *Service) saveChart(channel string, c *chart.Chart) error {
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ref := s.ref(c.Key)
	if err := s.st.PutRecord(kindChart, channel+"/"+ref, v); err != nil {
		return err
	}
	return s.st.PutRecord(kindMRN, channel+"/"+s.e.PatientRef(c.Key.MRN)+"/"+ref, []byte(c.Key.Facility))
}

// resolve finds the chart ref of p on channel. Caller holds mu.
func (s *Service) resolve(channel string, p Patient) (string, error) {
	if p.MRN == "" {
		return "", fmt.Errorf("%w: no MRN given", ErrNoChart)
	}
	if p.Facility != "" {
		ref := s.ref(chart.Key{Facility: p.Facility, MRN: p.MRN})
		if _, err := s.st.GetRecord(kindChart, channel+"/"+ref); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", ErrNoChart
			}
			return "", err
		}
		return ref, nil
	}
	prefix := channel + "/" + s.e.PatientRef(p.MRN) + "/"
	rs, err := s.st.Records(kindMRN, prefix, "", 2)
	switch {
	case err != nil:
		return "", err
	case len(rs) == 0:
		return "", ErrNoChart
	case len(rs) > 1:
		return "", ErrAmbiguous
	}
	return strings.TrimPrefix(rs[0].Key, prefix), nil
}

// Session is the last query of one patient: what was sent, what came
// back, and the user's selection. Sessions hold PHI.
type Session struct {
	At         time.Time         `json:"at"`
	Who        string            `json:"who"`
	Profile    string            `json:"profile"`
	MessageID  store.ID          `json:"message_id,omitempty"` // the stored QBP with its answer
	Request    []byte            `json:"request"`
	Response   []byte            `json:"response,omitempty"`
	Failure    string            `json:"failure,omitempty"` // transport failure, no PHI
	Answer     query.Response    `json:"answer"`
	Selected   []string          `json:"selected,omitempty"` // row IDs
	Registry   *chart.Chart      `json:"registry,omitempty"` // the registry's side as last known
	Candidates []query.Candidate `json:"candidates,omitempty"`
}

func (s *Service) loadSession(channel, ref string) (*Session, error) {
	v, err := s.st.GetRecord(kindSession, channel+"/"+ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNoSession
	case err != nil:
		return nil, err
	}
	var ss Session
	if err := json.Unmarshal(v, &ss); err != nil {
		return nil, fmt.Errorf("registry: session: %w", store.ErrCorrupt)
	}
	return &ss, nil
}

func (s *Service) saveSession(channel, ref string, ss *Session) error {
	v, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	return s.st.PutRecord(kindSession, channel+"/"+ref, v)
}
