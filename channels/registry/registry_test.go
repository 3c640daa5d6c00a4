package registry_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
)

// A chart of one patient, ZZTEST (a PHI canary), with one historical dose.
const chartVXU = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000||VXU^V04^VXU_V04|C-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^CLINIC^MR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
	"ORC|RE||EHR-1^CLINIC\r" +
	"RXA|0|1|20240101|20240101|08^Hep B^CVX|999|||01^Historical^NIP001|||||||||||CP|A\r"

// stubRegistry answers every QBP with answer (the query's control ID and tag
// filled in), or with a SOAP fault when down is set, and VXUs with AA.
type stubRegistry struct {
	answer  string
	down    atomic.Bool
	queries atomic.Int32
}

func (r *stubRegistry) SubmitSingleMessage(_ context.Context, req soap.SubmitRequest) ([]byte, error) {
	if r.down.Load() {
		return nil, &soap.Fault{Kind: soap.FaultUnknown}
	}
	m, err := hl7.Parse(bytes.Clone(req.Message))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(m.Type(), "QBP") {
		return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{}), nil
	}
	r.queries.Add(1)
	a := strings.ReplaceAll(r.answer, "{CTL}", m.ControlID())
	return []byte(strings.ReplaceAll(a, "{TAG}", m.Value("QPD-2"))), nil
}

func (r *stubRegistry) ConnectivityTest(_ context.Context, echo string) (string, error) {
	return echo, nil
}

const rspHead = "MSH|^~\\&|IIS|STATE|IISYNC|CLINIC|20250615120000||RSP^K11^RSP_K11|R-1|P|2.5.1|||NE|NE|||||%s^CDCPHINVS\r" +
	"MSA|AA|{CTL}\r"

// z31 lists two candidates.
var z31 = strings.Replace(rspHead, "%s", "Z31", 1) +
	"QAK|{TAG}|OK|Z34^Request Immunization History^CDCPHINVS\r" +
	"PID|1||SR1^^^STATE^SR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
	"PID|2||SR2^^^STATE^SR||ZZTEST^ZZTESTGIVEN^^^^^L||20200102|F\r"

// z32 is the history of SR2: the chart's dose and one more.
var z32 = strings.Replace(rspHead, "%s", "Z32", 1) +
	"QAK|{TAG}|OK|Z34^Request Immunization History^CDCPHINVS\r" +
	"PID|1||SR2^^^STATE^SR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
	"ORC|RE||R-A^STATE\r" +
	"RXA|0|1|20240101|20240101|08^Hep B^CVX|999|||01^Historical^NIP001|||||||||||CP|A\r" +
	"ORC|RE||R-B^STATE\r" +
	"RXA|0|1|20240301|20240301|10^IPV^CVX|0.5|mL^^UCUM||00^New^NIP001||||||L1||PMC^^MVX|||CP|A\r"

type world struct {
	reg  *stubRegistry
	st   *store.Store
	eng  *channels.Engine
	svc  *registry.Service
	logs *phitest.LogBuffer
	dir  string
	cfg  channels.Config
}

func newWorld(t testing.TB, answer string) *world {
	t.Helper()
	w := &world{reg: &stubRegistry{answer: answer}, logs: &phitest.LogBuffer{}, dir: t.TempDir()}
	srv := httptest.NewServer(soap.NewServer(w.reg, soap.ServerOptions{}))
	t.Cleanup(srv.Close)
	var err error
	w.st, err = store.Open(store.Config{Path: filepath.Join(w.dir, "db"), KeyFile: filepath.Join(w.dir, "key"), CreateKey: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.st.Close() })
	iis := func() []channels.DestinationConfig {
		return []channels.DestinationConfig{{Name: "iis", Paused: false,
			IIS: &channels.IISDestinationConfig{ClientConfig: soap.ClientConfig{URL: srv.URL + "/IISService", MaxRetries: -1, Timeout: 5 * time.Second}}}}
	}
	w.cfg = channels.Config{Channels: []channels.ChannelConfig{
		{Name: "vxu", Source: channels.SourceConfig{MLLP: &mllp.Config{Addr: "127.0.0.1:0"}}, Destinations: iis(),
			Sync: &channels.SyncConfig{Profile: "Z34"}},
		{Name: "plain", Source: channels.SourceConfig{MLLP: &mllp.Config{Addr: "127.0.0.1:0"}}, Destinations: iis()},
	}}.WithDefaults()
	if err := w.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w.start(t)
	t.Cleanup(func() { phitest.Check(t, "log output", w.logs.String()) })
	return w
}

// start starts an engine and a Sync Registry on w's store.
func (w *world) start(t testing.TB) {
	t.Helper()
	log := zerolog.New(w.logs)
	var err error
	w.eng, err = channels.New(w.cfg, w.st, log, channels.Options{PatientKey: []byte("registry-test-key"), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.svc = registry.New(w.eng, log)
	if err := w.svc.Start(); err != nil {
		t.Fatal(err)
	}
	eng, svc := w.eng, w.svc
	t.Cleanup(func() { w.stopEngine(eng, svc) })
}

func (w *world) stopEngine(eng *channels.Engine, svc *registry.Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = svc.Shutdown(ctx)
	_ = eng.Shutdown(ctx)
}

// send sends a VXU to channel over MLLP and checks the AA.
func (w *world) send(t testing.TB, channel, msg string) {
	t.Helper()
	var addr string
	for _, c := range w.eng.Channels() {
		if c.Name == channel {
			addr = c.Address
		}
	}
	s, err := mllp.NewSender(mllp.SenderConfig{Addr: addr}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ack, err := s.Send(t.Context(), []byte(msg), nil)
	if err != nil || !bytes.Contains(ack, []byte("MSA|AA|")) {
		t.Fatalf("send: %v %q", err, ack)
	}
}

var patient = registry.Patient{MRN: "PAT123"}

func TestCandidatesLinkAndDrop(t *testing.T) {
	w := newWorld(t, z31)
	w.send(t, "vxu", chartVXU)
	v, err := w.svc.Query(t.Context(), "vxu", patient, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if v.QueryQuality != "candidates" || len(v.Candidates) != 2 || v.RegistryID != "" {
		t.Fatalf("quality %s, %d candidates, registry ID %q", v.QueryQuality, len(v.Candidates), v.RegistryID)
	}
	if _, err := w.svc.Link(t.Context(), "vxu", patient, 3, "tester"); !errors.Is(err, registry.ErrBadRow) {
		t.Fatalf("link to candidate 3 of 2: %v", err)
	}
	w.reg.answer = z32 // the registry answers the linked query with the history
	v, err = w.svc.Link(t.Context(), "vxu", patient, 2, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if v.RegistryID != "SR2" || v.QueryQuality != "match" || v.Counts.Match != 1 || v.Counts.RegistryOnly != 1 {
		t.Fatalf("after link: registry ID %q, quality %s, counts %+v", v.RegistryID, v.QueryQuality, v.Counts)
	}
	if v, err = w.svc.Drop("vxu", patient, "tester"); err != nil || v.RegistryID != "" {
		t.Fatalf("drop: %v, registry ID %q", err, v.RegistryID)
	}
	if _, err := w.svc.Drop("vxu", patient, "tester"); !errors.Is(err, registry.ErrNotLinked) {
		t.Fatalf("second drop: %v", err)
	}
}

func TestNotReceivedAndErrors(t *testing.T) {
	w := newWorld(t, z32)
	if _, err := w.svc.Query(t.Context(), "vxu", patient, "tester"); !errors.Is(err, registry.ErrNoChart) {
		t.Fatalf("query before any VXU: %v", err)
	}
	w.send(t, "plain", chartVXU) // a channel without sync builds no chart
	if _, err := w.svc.Query(t.Context(), "plain", patient, "tester"); !errors.Is(err, channels.ErrNoSync) {
		t.Fatalf("query on a channel without sync: %v", err)
	}
	if _, err := w.svc.Query(t.Context(), "vxu", patient, "tester"); !errors.Is(err, registry.ErrNoChart) {
		t.Fatalf("the plain channel's VXU built a chart: %v", err)
	}
	if _, err := w.svc.Show("vxu", patient); !errors.Is(err, registry.ErrNoChart) {
		t.Fatalf("show: %v", err)
	}
	w.send(t, "vxu", chartVXU)
	if _, err := w.svc.Show("vxu", patient); !errors.Is(err, registry.ErrNoSession) {
		t.Fatalf("show before a query: %v", err)
	}
	w.reg.down.Store(true)
	v, err := w.svc.Query(t.Context(), "vxu", patient, "tester")
	if err != nil {
		t.Fatalf("a registry that fails is an answer, not an error: %v", err)
	}
	if v.MessageStatus != "not_received" || v.Failure == "" || len(v.Immunizations) != 1 || v.Immunizations[0].Color != "blue" {
		t.Fatalf("status %s, failure %q, rows %+v", v.MessageStatus, v.Failure, v.Immunizations)
	}
	for _, err := range []error{
		func() error { _, err := w.svc.Import("vxu", patient, nil, "tester"); return err }(),
		func() error { _, err := w.svc.Import("vxu", patient, []string{"1"}, "tester"); return err }(),
		func() error { _, err := w.svc.Delete("vxu", patient, []string{"9"}, "tester"); return err }(),
		func() error { _, err := w.svc.Delete("vxu", patient, []string{"1"}, "tester"); return err }(), // no return channel
	} {
		if err == nil || strings.Contains(err.Error(), "PAT123") || strings.Contains(err.Error(), "ZZTEST") {
			t.Errorf("action error %v: want an error without patient data", err)
		}
	}
	// Two facilities with the same MRN: the MRN alone is ambiguous.
	w.send(t, "vxu", strings.Replace(chartVXU, "|CLINIC|IIS|", "|CLINIC2|IIS|", 1))
	if _, err := w.svc.Show("vxu", patient); !errors.Is(err, registry.ErrAmbiguous) {
		t.Fatalf("MRN of two facilities: %v", err)
	}
	if _, err := w.svc.Show("vxu", registry.Patient{Facility: "CLINIC", MRN: "PAT123"}); err != nil {
		t.Fatalf("with the facility: %v", err)
	}
}

// TestMirrorSurvivesRestart: charts and the follower's cursor are in the
// store; a restarted engine folds only new messages.
func TestMirrorSurvivesRestart(t *testing.T) {
	w := newWorld(t, z32)
	w.send(t, "vxu", chartVXU)
	v, err := w.svc.Query(t.Context(), "vxu", patient, "tester")
	if err != nil || len(v.Immunizations) != 2 {
		t.Fatalf("first query: %v", err)
	}
	w.stopEngine(w.eng, w.svc)
	w.start(t)
	v, err = w.svc.Show("vxu", patient)
	if err != nil {
		t.Fatal(err)
	}
	if v.Counts.Match != 1 || v.Counts.RegistryOnly != 1 {
		t.Fatalf("after restart: counts %+v", v.Counts)
	}
	// An update of the dose (RXA-21 U) after the restart reaches the chart.
	upd := strings.Replace(strings.Replace(chartVXU, "|C-1|", "|C-2|", 1), "|20240101|20240101|08", "|20240102|20240102|08", 1)
	w.send(t, "vxu", strings.Replace(upd, "|CP|A\r", "|CP|U\r", 1))
	if v, err = w.svc.Show("vxu", patient); err != nil {
		t.Fatal(err)
	}
	if v.Counts.Match != 0 || v.Counts.LocalOnly != 1 || v.Counts.RegistryOnly != 2 {
		t.Fatalf("after the update: counts %+v", v.Counts)
	}
	trail, err := w.svc.AuditTrail("vxu", patient)
	if err != nil || len(trail) != 1 || trail[0].Action != registry.ActionQuery || len(trail[0].Messages) != 2 {
		t.Fatalf("audit: %v %+v", err, trail)
	}
}

// BenchmarkQuery is one Sync Registry query as a user runs it: the chart
// caught up, a QBP built, submitted over SOAP on loopback (a stub registry
// answering a Z32), the answer parsed and stored with the query (synced),
// the session saved, the audit entry written and the view laid out.
func BenchmarkQuery(b *testing.B) {
	w := newWorld(b, z32)
	w.send(b, "vxu", chartVXU)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.svc.Query(b.Context(), "vxu", patient, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
