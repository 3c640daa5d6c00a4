package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/sandbox"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/reconcile"
)

// The EHR's chart of the sync scenario: one VXU with four doses.
// HepB 2013-12-20 is also in the registry; IPV 2014-02-21 is a historical
// record the registry holds as 2014-03-23 (reconciled); DTaP 2016-11-20 was
// given here and never reached the registry (sent); the flu dose was
// entered in error (deleted).
const syncVXU = "MSH|^~\\&|EHR|SHORELINE|IIS|IIS|20250101120000||VXU^V04^VXU_V04|EHRSYNC1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||VZ123456^^^SHORELINE^MR||Vazquez^Juana^Mariana^^^^L|Acosta^Maria^^^^^M|20131101|F||2106-3^White^CDCREC|4345 Standish Way^^Stamford^CT^06903^USA^L||^PRN^PH^^^203^5551212|||||||||2135-2^Hispanic or Latino^CDCREC||N|1\r" +
	"ORC|RE||EHR-HEPB2^EHR\r" +
	"RXA|0|1|20131220|20131220|08^Hep B, adolescent or pediatric^CVX|0.5|mL^^UCUM||00^New immunization record^NIP001||||||6352FK1||SKB^GlaxoSmithKline^MVX|||CP|A\r" +
	"OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F|||20131220\r" +
	"ORC|RE||EHR-IPV0^EHR\r" +
	"RXA|0|1|20140221|20140221|10^IPV^CVX|999|||01^Historical information - source unspecified^NIP001||||||||||CP|A\r" +
	"ORC|RE||EHR-DTAP5^EHR\r" +
	"RXA|0|1|20161120|20161120|106^DTaP, 5 pertussis antigens^CVX|0.5|mL^^UCUM||00^New immunization record^NIP001||||||C1234AA||PMC^Sanofi Pasteur^MVX|||CP|A\r" +
	"OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F|||20161120\r" +
	"ORC|RE||EHR-FLU9^EHR\r" +
	"RXA|0|1|20171015|20171015|161^Influenza, injectable, quadrivalent, preservative free, pediatric^CVX|999|||01^Historical information - source unspecified^NIP001||||||||||CP|A\r"

// syncWorld is the scenario's EHR, engine, registry and Sync Registry.
type syncWorld struct {
	iis *sandbox.IIS
	eng *channels.Engine
	reg *registry.Service
	st  *store.Store
	src string // the channel's MLLP address

	mu      sync.Mutex
	toEHR   []*hl7.Message // what the return channel delivered
	regID   string
	patient registry.Patient
}

func newSyncWorld(t *testing.T) *syncWorld {
	t.Helper()
	w := &syncWorld{patient: registry.Patient{Facility: "SHORELINE", MRN: "VZ123456"}}
	// The registry already holds two HepB doses and an IPV from other providers.
	w.iis = sandbox.New(sandbox.Config{})
	w.regID = w.iis.Seed(sandbox.Patient{MRNs: []string{"VZ123456"}, Facility: "SHORELINE", Family: "Vazquez", Given: "Juana",
		Middle: "Mariana", Sex: "F", DOB: "20131101", Address: "4345 Standish Way^^Stamford^CT^06903^USA^L",
		Doses: []sandbox.Dose{
			{CVX: "08", Date: "20131101", Lot: "6332FK33", MVX: "SKB", Source: "00", Facility: "SHOREHOSP"},
			{CVX: "08", Date: "20131220", Lot: "6352FK1", MVX: "SKB", Source: "00", Facility: "SHORELINE"},
			{CVX: "10", Date: "20140323", Lot: "X7781", MVX: "PMC", Source: "00", Facility: "OCEANVIEW"},
		}})
	srv, err := sandbox.Listen(w.iis, sandbox.ServerConfig{HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	ehr := ehrtest.Acker(t, func(m *hl7.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.toEHR = append(w.toEHR, m)
	})

	dir := t.TempDir()
	w.st, err = store.Open(store.Config{Path: filepath.Join(dir, "store"), KeyFile: filepath.Join(dir, "key"), CreateKey: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.st.Close() })
	cfg := channels.Config{Channels: []channels.ChannelConfig{{
		Name:   "vxu",
		Source: channels.SourceConfig{MLLP: &mllp.Config{Addr: "127.0.0.1:0"}},
		Destinations: []channels.DestinationConfig{{
			Name: "iis",
			// Routine sends go hourly; the scenario runs between two ticks,
			// so the EHR's doses have not reached the registry yet.
			Schedule: "@hourly",
			IIS:      &channels.IISDestinationConfig{ClientConfig: soap.ClientConfig{URL: srv.HTTPURL(), MaxRetries: -1}},
		}},
		Return: &channels.ReturnConfig{MLLP: mllp.SenderConfig{Addr: ehr}},
		Sync:   &channels.SyncConfig{},
	}}}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// The engine's clock stands at half past the hour (and moves on).
	start := time.Now()
	clock := start.Truncate(time.Hour).Add(30 * time.Minute)
	w.eng, err = channels.New(cfg, w.st, zerolog.Nop(), channels.Options{PatientKey: []byte("sync-test-patient-key"),
		Registerer: prometheus.NewRegistry(), Now: func() time.Time { return clock.Add(time.Since(start)) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.eng.Shutdown(ctx)
	})
	w.src = w.eng.Channels()[0].Address
	w.reg = registry.New(w.eng, zerolog.Nop())
	if err := w.reg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.reg.Shutdown(context.Background()) })
	return w
}

// ehrGot returns the messages the EHR received so far.
func (w *syncWorld) ehrGot() []*hl7.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.toEHR)
}

// rowsBy lists the view's rows as "state date cvx".
func rowsBy(v *registry.View) []string {
	var out []string
	for _, r := range v.Immunizations {
		d := r.Local
		if d == nil {
			d = r.Registry
		}
		out = append(out, fmt.Sprintf("%s %s %s", r.State, r.Date, d.CVX))
	}
	return out
}

func rowN(t *testing.T, v *registry.View, state reconcile.State, date string) string {
	t.Helper()
	for _, r := range v.Immunizations {
		if r.State == state && r.Date == date {
			return fmt.Sprint(r.N)
		}
	}
	t.Fatalf("no %s row of %s in %v", state, date, rowsBy(v))
	return ""
}

// TestSyncRegistryEndToEnd is issue 6's scenario: the EHR's VXU builds a
// chart; the registry holds a different history; a sync shows the three
// colours; import, reconcile, delete and send change both sides; a second
// sync shows every row white.
func TestSyncRegistryEndToEnd(t *testing.T) {
	w := newSyncWorld(t)
	ctx := t.Context()
	snd, err := mllp.NewSender(mllp.SenderConfig{Addr: w.src}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	ack, err := snd.Send(ctx, []byte(syncVXU), nil)
	if err != nil || !strings.Contains(string(ack), "MSA|AA|EHRSYNC1") {
		t.Fatalf("VXU: %v %q", err, ack)
	}

	v, err := w.reg.Query(ctx, "vxu", w.patient, "nurse.kim")
	if err != nil {
		t.Fatal(err)
	}
	if v.MessageStatus != "received" || v.QueryQuality != "match" || v.RegistryID != w.regID {
		t.Fatalf("status %s, quality %s, registry ID %q (want %q): %s", v.MessageStatus, v.QueryQuality, v.RegistryID, w.regID, v.Summary)
	}
	want := []string{
		"registry_only 20131101 08",
		"match 20131220 08",
		"local_only 20140221 10",
		"registry_only 20140323 10",
		"local_only 20161120 106",
		"local_only 20171015 161",
	}
	if got := rowsBy(v); !slices.Equal(got, want) {
		t.Fatalf("first sync rows\n got %q\nwant %q", got, want)
	}
	colours := map[string]int{}
	for _, r := range v.Immunizations {
		colours[r.Color]++
	}
	if colours["white"] != 1 || colours["blue"] != 3 || colours["yellow"] != 2 {
		t.Errorf("colours %v, want 1 white, 3 blue, 2 yellow", colours)
	}
	if len(v.Forecast) == 0 {
		t.Error("no IIS forecast for a Z44 query")
	}

	// Select the registry-only rows and import them: they go to the EHR as
	// historical doses from the registry.
	if v, err = w.reg.Select("vxu", w.patient, reconcile.SelectRegistryOnly, nil, "nurse.kim"); err != nil {
		t.Fatal(err)
	}
	// But the 2014-03-23 IPV is the EHR's 2014-02-21 record: reconcile, not import.
	if v, err = w.reg.Unselect("vxu", w.patient, "", []string{rowN(t, v, reconcile.RegistryOnly, "20140323")}, "nurse.kim"); err != nil {
		t.Fatal(err)
	}
	var selected []string
	for _, r := range v.Immunizations {
		if r.Selected {
			selected = append(selected, r.Date)
		}
	}
	if !slices.Equal(selected, []string{"20131101"}) {
		t.Fatalf("selected rows %v, want the 2013-11-01 HepB only", selected)
	}
	res, err := w.reg.Import("vxu", w.patient, nil, "nurse.kim")
	if err != nil {
		t.Fatal(err)
	}
	v = res.View
	// An administered local dose cannot be reconciled away.
	if _, err := w.reg.Reconcile("vxu", w.patient, rowN(t, v, reconcile.LocalOnly, "20161120"), rowN(t, v, reconcile.RegistryOnly, "20140323"), "nurse.kim"); err == nil {
		t.Fatal("reconciled an administered DTaP with an IPV")
	}
	res, err = w.reg.Reconcile("vxu", w.patient, rowN(t, v, reconcile.LocalOnly, "20140221"), rowN(t, v, reconcile.RegistryOnly, "20140323"), "nurse.kim")
	if err != nil {
		t.Fatal(err)
	}
	res, err = w.reg.Delete("vxu", w.patient, []string{rowN(t, res.View, reconcile.LocalOnly, "20171015")}, "nurse.kim")
	if err != nil {
		t.Fatal(err)
	}
	res, err = w.reg.Send(ctx, "vxu", w.patient, []string{rowN(t, res.View, reconcile.LocalOnly, "20161120")}, "nurse.kim")
	if err != nil {
		t.Fatalf("send: %v (%s)", err, res.Outcome)
	}
	if res.ACKCode != "AA" {
		t.Errorf("send: registry answered %s: %s", res.ACKCode, res.Outcome)
	}

	// The EHR received the import (RXA-21 A, RXA-9 05), the reconcile
	// (RXA-21 U of its own IPV record) and the delete (RXA-21 D).
	ehrtest.WaitFor(t, func() bool { return len(w.ehrGot()) >= 3 }, "three VXUs at the EHR")
	var actions []string
	for _, m := range w.ehrGot() {
		for rxa := range m.SegmentsNamed("RXA") {
			actions = append(actions, fmt.Sprintf("%s %s %s %s", rxa.Field(21), rxa.Field(3), rxa.Field(5).Component(1), rxa.Field(9).Component(1)))
		}
	}
	wantEHR := []string{"A 20131101 08 05", "U 20140323 10 05", "D 20171015 161 01"}
	if !slices.Equal(actions, wantEHR) {
		t.Errorf("EHR got RXAs %q, want %q", actions, wantEHR)
	}
	// The registry got the DTaP.
	if p := w.iis.Patients(); len(p) != 1 || !slices.ContainsFunc(p[0].Doses, func(d sandbox.Dose) bool { return d.CVX == "106" && d.Date == "20161120" }) {
		t.Error("the registry does not hold the DTaP sent")
	}

	// A second sync: every row white.
	v, err = w.reg.Refresh(ctx, "vxu", w.patient, "nurse.kim")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Immunizations {
		if r.Color != "white" {
			t.Errorf("second sync: row %d %s %s is %s", r.N, r.Date, r.State, r.Color)
		}
	}
	if len(v.Immunizations) != 4 {
		t.Errorf("second sync: %d rows %q, want 4", len(v.Immunizations), rowsBy(v))
	}

	// Every action is in the audit trail, with who.
	trail, err := w.reg.AuditTrail("vxu", w.patient)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range trail {
		if a.Who != "nurse.kim" {
			t.Errorf("audit %s by %q", a.Action, a.Who)
		}
		got = append(got, a.Action)
	}
	wantTrail := []string{"query", "select", "unselect", "import", "reconcile", "delete", "send", "refresh"}
	if !slices.Equal(got, wantTrail) {
		t.Errorf("audit trail %q, want %q", got, wantTrail)
	}
}
