package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/console"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/validate"
)

// regVXU is the EHR's chart of the Sync Registry tests (PHI canaries): a
// historical Hep B the registry also holds and a flu dose it lacks. No
// address, so a channel that makes mqe.address_missing an error stops it.
const regVXU = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|REG-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^CLINIC^MR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
	"ORC|RE||EHR-HEPB^CLINIC\r" +
	"RXA|0|1|20250101|20250101|08^Hep B, adolescent or pediatric^CVX|999|||01^Historical information - source unspecified^NIP001|||||||||||CP|A\r" +
	"ORC|RE||EHR-FLU^CLINIC\r" +
	"RXA|0|1|20241015|20241015|161^Influenza, injectable, quadrivalent, preservative free, pediatric^CVX|999|||01^Historical information - source unspecified^NIP001|||||||||||CP|A\r"

// syncRegistry is a CDC SOAP registry for the Sync Registry: it answers a
// QBP with a Z42 for the ZZTEST patient (the chart's Hep B, an MMR the
// chart lacks, a Hep B forecast) and any other message with AA.
type syncRegistry struct{ queries, others atomic.Int32 }

func (r *syncRegistry) SubmitSingleMessage(_ context.Context, req soap.SubmitRequest) ([]byte, error) {
	m, err := hl7.Parse(bytes.Clone(req.Message))
	if err != nil {
		return nil, &soap.Fault{Kind: soap.FaultMessageTooLarge}
	}
	if !strings.HasPrefix(m.Type(), "QBP") {
		r.others.Add(1)
		return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{}), nil
	}
	r.queries.Add(1)
	tag := m.Value("QPD-2")
	return []byte("MSH|^~\\&|IIS|STATE|IISYNC|CLINIC|20250615120000-0500||RSP^K11^RSP_K11|RSP-1|P|2.5.1|||NE|NE|||||Z42^CDCPHINVS\r" +
		"MSA|AA|" + m.ControlID() + "\r" +
		"QAK|" + tag + "|OK|Z44^Request Evaluated History and Forecast^CDCPHINVS\r" +
		"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + tag + "|PAT123^^^CLINIC^MR|ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
		"PID|1||PAT123^^^CLINIC^MR~SR777^^^STATE^SR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
		"ORC|RE||REG-HEPB^STATE\r" +
		"RXA|0|1|20250101|20250101|08^Hep B, adolescent or pediatric^CVX|999|||01^Historical information - source unspecified^NIP001|||||||||||CP|A\r" +
		"ORC|RE||REG-MMR^STATE\r" +
		"RXA|0|1|20210115|20210115|03^MMR^CVX|0.5|mL^^UCUM||00^New immunization record^NIP001||||||MMRLOT1||MSD^Merck^MVX|||CP|A\r" +
		"ORC|RE||9999^STATE\r" +
		"RXA|0|1|20250615|20250615|998^no vaccine administered^CVX|999||||||||||||||NA\r" +
		"OBX|1|CE|30956-7^Vaccine type^LN|1|45^Hep B, unspecified formulation^CVX||||||F\r" +
		"OBX|2|CE|59783-1^Status in immunization series^LN|1|LA13423-1^Overdue^LN||||||F\r" +
		"OBX|3|NM|30973-2^Dose number in series^LN|1|2|NA^^HL70353|||||F\r" +
		"OBX|4|DT|30980-7^Date vaccine due^LN|1|20250201||||||F\r"), nil
}

func (r *syncRegistry) ConnectivityTest(_ context.Context, echo string) (string, error) {
	return "echo: " + echo, nil
}

// ehr is the return channel's MLLP peer: it ACKs AA and keeps what it got.
type ehr struct {
	addr string
	mu   sync.Mutex
	got  []*hl7.Message
}

func startEHR(t *testing.T) *ehr {
	t.Helper()
	e := &ehr{}
	e.addr = ehrtest.Acker(t, func(m *hl7.Message) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.got = append(e.got, m)
	})
	return e
}

// vxus returns the VXUs the EHR got (it also gets the registry's ACKs).
func (e *ehr) vxus() []*hl7.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*hl7.Message
	for _, m := range e.got {
		if strings.HasPrefix(m.Type(), "VXU") {
			out = append(out, m)
		}
	}
	return out
}

// newRegistryFixture is the console fixture with a sync channel whose iis
// destination is a syncRegistry and whose return channel goes to an ehr;
// with on, the Sync Registry runs and the console serves it. preflight, when
// set, is the channel's validation.
func newRegistryFixture(t *testing.T, on bool, preflight *channels.ValidateConfig) (*fixture, *syncRegistry, *ehr) {
	t.Helper()
	reg := &syncRegistry{}
	url, ca := startRegistry(t, reg)
	peer := startEHR(t)
	f := newFixtureWith(t, "", true, func(string) channels.ChannelConfig {
		return channels.ChannelConfig{
			Destinations: []channels.DestinationConfig{{Name: "iis", IIS: &channels.IISDestinationConfig{ClientConfig: soap.ClientConfig{
				URL: url, CAFile: ca, Username: "ehr", Password: field.NewSecret("pw"), FacilityID: "STATE",
				Timeout: 5 * time.Second, MaxRetries: -1}}}},
			Return:    &channels.ReturnConfig{MLLP: mllp.SenderConfig{Addr: peer.addr}},
			Preflight: preflight,
			Sync:      &channels.SyncConfig{},
		}
	})
	if on {
		svc := registry.New(f.eng, zerolog.New(f.logs))
		if err := svc.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Shutdown(context.Background()) }) // before the fixture's: LIFO
		f.srv.SetRegistry(svc)
	}
	return f, reg, peer
}

// postHL7 sends msg through the channel's HTTP source and returns the ACK.
func (f *fixture) postHL7(t *testing.T, msg string) string {
	t.Helper()
	resp, err := http.Post(f.url+"/channels/vxu-in/messages", "x-application/hl7-v2+er7", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

const patient = `{"mrn":"PAT123"}`

func TestRegistryOff(t *testing.T) {
	f, _, _ := newRegistryFixture(t, false, nil)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/registry", ""},
		{"POST", "/api/registry/vxu-in/query", patient},
		{"POST", "/api/registry/vxu-in/show", patient},
		{"POST", "/api/registry/vxu-in/import", patient},
		{"POST", "/api/registry/vxu-in/ping", ""},
	}
	for _, tc := range routes {
		t.Run(tc.path, func(t *testing.T) {
			var e map[string]string
			if code, _ := f.call(t, tc.method, tc.path, "", tc.body, &e); code != 404 || e["error"] != "the sync registry is not running" {
				t.Errorf("%d %v, want 404 the sync registry is not running", code, e)
			}
		})
	}
	// Off again after on.
	f.srv.SetRegistry(registry.New(f.eng, zerolog.Nop()))
	if code, _ := f.call(t, "GET", "/api/registry", "", "", nil); code != 200 {
		t.Errorf("after SetRegistry: %d", code)
	}
	f.srv.SetRegistry(nil)
	if code, _ := f.call(t, "GET", "/api/registry", "", "", nil); code != 404 {
		t.Errorf("after SetRegistry(nil): %d", code)
	}
}

// TestRegistryErrors covers the refusals: each answer is JSON with a
// status, and none echoes the patient.
func TestRegistryErrors(t *testing.T) {
	f, reg, _ := newRegistryFixture(t, true, nil)
	if ack := f.postHL7(t, regVXU); !strings.Contains(ack, "MSA|AA|") {
		t.Fatalf("VXU not accepted: %q", ack)
	}
	tests := []struct {
		name, path, body string
		code             int
		errHas           string
	}{
		{"not JSON", "query", `mrn=PAT123`, 400, "invalid JSON"},
		{"unknown field", "query", `{"mrn":"PAT123","dob":"20200101"}`, 400, "unknown field"},
		{"two objects", "query", `{"mrn":"PAT123"} {"mrn":"PAT123"}`, 400, "one JSON object"},
		{"wrong type", "query", `{"mrn":123}`, 400, "mrn must be string"},
		{"no body", "query", ``, 400, "mrn: required"},
		{"no mrn", "show", `{"facility":"CLINIC"}`, 400, "mrn: required"},
		{"long mrn", "show", `{"mrn":"` + strings.Repeat("9", 257) + `"}`, 400, "256"},
		{"which on query", "query", `{"mrn":"PAT123","which":"all"}`, 400, "which: not used"},
		{"rows on show", "show", `{"mrn":"PAT123","rows":["1"]}`, 400, "rows: not used"},
		{"reconcile without pair", "reconcile", `{"mrn":"PAT123","local":"1"}`, 400, "both rows"},
		{"link without candidate", "link", `{"mrn":"PAT123"}`, 400, "candidate"},
		{"too large", "query", `{"mrn":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too large"},
		{"no chart", "query", `{"mrn":"PAT999"}`, 404, "no chart"},
		{"no chart at facility", "query", `{"mrn":"PAT123","facility":"ELSEWHERE"}`, 404, "no chart"},
		{"not queried", "show", patient, 404, "not been queried"},
		{"not queried import", "import", patient, 404, "not been queried"},
		{"audit of unknown", "audit", `{"mrn":"PAT999"}`, 404, "no chart"},
		{"no sync channel", "../nope/query", patient, 404, "not configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/registry/vxu-in/" + tc.path
			if strings.HasPrefix(tc.path, "../") {
				path = "/api/registry/" + strings.TrimPrefix(tc.path, "../")
			}
			var raw json.RawMessage
			code, _ := f.call(t, "POST", path, "", tc.body, &raw)
			var e map[string]any
			_ = json.Unmarshal(raw, &e)
			msg, _ := e["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.errHas) {
				t.Errorf("%d %q, want %d mentioning %q", code, msg, tc.code, tc.errHas)
			}
			phitest.Check(t, "error answer", string(raw))
			if strings.Contains(string(raw), "PAT999") {
				t.Error("error answer echoes the MRN")
			}
		})
	}
	if n := reg.queries.Load(); n != 0 {
		t.Errorf("the registry saw %d queries, want none", n)
	}

	// After a query: row errors are 400 or 409, still without the patient.
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/query", "", patient, nil); code != 200 {
		t.Fatalf("query: %d", code)
	}
	after := []struct {
		name, path, body string
		code             int
		errHas           string
	}{
		{"row out of range", "import", `{"mrn":"PAT123","rows":["99"]}`, 400, "row 99"},
		{"row ID not echoed", "import", `{"mrn":"PAT123","rows":["R:PAT123"]}`, 400, "given by ID"},
		{"import a local row", "import", `{"mrn":"PAT123","rows":["2"]}`, 400, "row 2"},
		{"unknown selection", "select", `{"mrn":"PAT123","which":"some"}`, 400, "selection must be"},
		{"nothing selected", "send", patient, 409, "no rows selected"},
		{"reconcile groups", "reconcile", `{"mrn":"PAT123","local":"2","registry":"1"}`, 409, "different vaccine groups"},
		{"link without candidates", "link", `{"mrn":"PAT123","candidate":1}`, 400, "candidate 1 of 0"},
	}
	for _, tc := range after {
		t.Run(tc.name, func(t *testing.T) {
			var raw json.RawMessage
			code, _ := f.call(t, "POST", "/api/registry/vxu-in/"+tc.path, "", tc.body, &raw)
			var e map[string]any
			_ = json.Unmarshal(raw, &e)
			msg, _ := e["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.errHas) {
				t.Errorf("%d %q, want %d mentioning %q", code, msg, tc.code, tc.errHas)
			}
			phitest.Check(t, "error answer", string(raw))
		})
	}
	// Only POST.
	if code, _ := f.call(t, "GET", "/api/registry/vxu-in/query", "", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET query: %d, want 405", code)
	}
}

// TestRegistryFlow is the window over HTTP: list, query, show, select the
// registry-only rows, import them to the EHR, read the audit trail, ping.
func TestRegistryFlow(t *testing.T) {
	f, reg, peer := newRegistryFixture(t, true, nil)
	if ack := f.postHL7(t, regVXU); !strings.Contains(ack, "MSA|AA|") {
		t.Fatalf("VXU not accepted: %q", ack)
	}

	var list console.RegistryChannelList
	if code, _ := f.call(t, "GET", "/api/registry", "", "", &list); code != 200 || len(list.Channels) != 1 ||
		list.Channels[0] != (console.RegistryChannel{Name: "vxu-in", Destination: "iis", Profile: "Z44", Return: true}) {
		t.Fatalf("channels: %d %+v", code, list)
	}

	rows := func(v *registry.View) string {
		var out []string
		for _, r := range v.Immunizations {
			sel := ""
			if r.Selected {
				sel = "*"
			}
			out = append(out, r.Date+" "+r.Color+sel)
		}
		return strings.Join(out, ", ")
	}
	var ref string // the View's patient_ref
	steps := []struct {
		action, body string
		want         string // rows as "date colour[*]"
	}{
		{"query", patient, "20210115 yellow, 20241015 blue, 20250101 white"},
		{"show", `{"mrn":"PAT123","facility":"CLINIC"}`, "20210115 yellow, 20241015 blue, 20250101 white"},
		{"select", `{"mrn":"PAT123","which":"registry_only"}`, "20210115 yellow*, 20241015 blue, 20250101 white"},
		{"unselect", `{"mrn":"PAT123","rows":["1"]}`, "20210115 yellow, 20241015 blue, 20250101 white"},
		{"select", `{"mrn":"PAT123","rows":["R:REG-MMR"]}`, "20210115 yellow*, 20241015 blue, 20250101 white"},
	}
	for _, st := range steps {
		var v registry.View
		code, h := f.call(t, "POST", "/api/registry/vxu-in/"+st.action, "", st.body, &v)
		if code != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d", st.action, code)
		}
		if got := rows(&v); got != st.want {
			t.Errorf("%s: rows %s, want %s", st.action, got, st.want)
		}
		if st.action == "query" {
			ref = v.PatientRef
			if v.MessageStatus != "received" || v.QueryQuality != "match" || v.RegistryID != "SR777" || v.Patient.MRN != "PAT123" ||
				len(v.Forecast) != 1 || v.Forecast[0].Due != "20250201" || v.IISDemographics == nil || v.QueriedBy != "jdoe" {
				t.Errorf("query view: %s %s %q %+v %+v", v.MessageStatus, v.QueryQuality, v.RegistryID, v.Forecast, v.IISDemographics)
			}
		}
	}
	if n := reg.queries.Load(); n != 1 {
		t.Errorf("registry saw %d queries, want 1", n)
	}

	var res registry.Result
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/import", "", patient, &res); code != 200 || res.Action != "import" ||
		len(res.MessageIDs) != 1 || !slices.Equal(res.Rows, []string{"R:REG-MMR"}) || res.View == nil {
		t.Fatalf("import: %d %+v", code, res)
	}
	if got := rows(res.View); got != "20210115 white, 20241015 blue, 20250101 white" {
		t.Errorf("after import: %s", got)
	}
	ehrtest.WaitFor(t, func() bool { return len(peer.vxus()) == 1 }, "the import at the EHR")
	m := peer.vxus()[0]
	if m.Value("RXA-5.1") != "03" || m.Value("RXA-9.1") != "05" || m.Value("RXA-21") != "A" || m.Value("PID-3.1") != "PAT123" {
		t.Errorf("EHR got RXA-5 %s RXA-9 %s RXA-21 %s", m.Value("RXA-5.1"), m.Value("RXA-9.1"), m.Value("RXA-21"))
	}

	var trail console.RegistryAuditTrail
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/audit", "", patient, &trail); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	var actions []string
	for _, a := range trail.Entries {
		if a.Who != "jdoe" {
			t.Errorf("audit %s by %q, want the claimed user", a.Action, a.Who)
		}
		actions = append(actions, a.Action)
	}
	if want := []string{"query", "select", "unselect", "select", "import"}; !slices.Equal(actions, want) {
		t.Errorf("audit trail %q, want %q", actions, want)
	}

	var ping console.RegistryPingResponse
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/ping", "", "", &ping); code != 200 || !ping.OK || ping.Echo == "" {
		t.Errorf("ping: %d %+v", code, ping)
	}
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/ping", "", `{"echo":"x"}`, nil); code != 400 {
		t.Errorf("ping with a body: %d, want 400", code)
	}
	if code, _ := f.call(t, "POST", "/api/registry/nope/ping", "", "", nil); code != 404 {
		t.Errorf("ping of a channel without sync: %d, want 404", code)
	}

	// Each answer with PHI is audited in the log, by patient_ref only.
	logs := f.logs.String()
	for _, want := range []string{`"audit":"registry_query"`, `"audit":"registry_import"`, `"audit":"registry_audit"`, `"claimed_user":"jdoe"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	// One patient_ref names the patient everywhere: the View, the console's
	// and the Sync Registry's log lines, and the stored messages.
	var msgs console.MessageList
	if code, _ := f.call(t, "GET", "/api/messages?patient=PAT123", "", "", &msgs); code != 200 || len(msgs.Messages) < 2 {
		t.Fatalf("messages of the patient: %d %+v", code, msgs)
	}
	for _, m := range msgs.Messages {
		if m.PatientRef != ref {
			t.Errorf("message %d (%s) has patient_ref %q, the View %q", m.ID, m.Source, m.PatientRef, ref)
		}
	}
	named := map[string]int{} // log message -> lines naming the patient
	for line := range strings.Lines(logs) {
		var l struct {
			PatientRef *string `json:"patient_ref"`
			Message    string  `json:"message"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.PatientRef == nil {
			continue
		}
		named[l.Message]++
		if *l.PatientRef != ref {
			t.Errorf("%q log line has patient_ref %q, the View %q", l.Message, *l.PatientRef, ref)
		}
	}
	if named["phi accessed"] == 0 || named["sync registry action"] == 0 {
		t.Errorf("log lines naming the patient: %v", named)
	}
}

// TestRegistrySendPreflight: a send that the channel's pre-flight
// validation stops is a 422 with the findings.
func TestRegistrySendPreflight(t *testing.T) {
	f, reg, _ := newRegistryFixture(t, true, &channels.ValidateConfig{
		Severities: map[string]validate.Severity{"mqe.address_missing": validate.Error}})
	// The EHR's VXU is stopped too, but it is still the EHR's chart.
	if ack := f.postHL7(t, regVXU); !strings.Contains(ack, "MSA|AE|") {
		t.Fatalf("VXU without address: %q, want AE", ack)
	}
	if code, _ := f.call(t, "POST", "/api/registry/vxu-in/query", "", patient, nil); code != 200 {
		t.Fatalf("query: %d", code)
	}
	var raw json.RawMessage
	code, _ := f.call(t, "POST", "/api/registry/vxu-in/send", "", `{"mrn":"PAT123","rows":["2"]}`, &raw)
	var body struct {
		Error    string           `json:"error"`
		Action   string           `json:"action"`
		Rows     []string         `json:"rows"`
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if code != 422 || !strings.Contains(body.Error, "pre-flight") || body.Action != "send" || len(body.Findings) == 0 ||
		!slices.Equal(body.Rows, []string{"L:EHR-FLU"}) {
		t.Errorf("send: %d %+v", code, body)
	}
	if !slices.ContainsFunc(body.Findings, func(f map[string]any) bool { return f["rule"] == "mqe.address_missing" }) {
		t.Errorf("findings %v lack mqe.address_missing", body.Findings)
	}
	phitest.Check(t, "422 answer", string(raw))
	if n := reg.others.Load(); n != 0 {
		t.Errorf("the registry got %d VXUs, want none", n)
	}
}
