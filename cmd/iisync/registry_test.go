package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/console"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
	"github.com/iisync/iisync/transforms/iis/reconcile"
)

// goldenView is a window with a row of every colour, an indicator, a
// forecast and a demographic difference (synthetic patient, PHI canaries).
func goldenView() *registry.View {
	hepB := chart.Dose{ID: "EHR-HEPB", Date: "20200101", CVX: "08", Text: "Hep B, adolescent or pediatric", Source: "00", Lot: "HB1"}
	hepBReg := hepB
	hepBReg.ID, hepBReg.Valid = "SBD1", "Y"
	dtap := chart.Dose{ID: "EHR-DTAP", Date: "20200301", CVX: "20", Text: "DTaP", Source: "00", Lot: "LOT1"}
	dtapReg := dtap
	dtapReg.ID, dtapReg.Lot = "SBD2", "LOT9"
	flu := chart.Dose{ID: "EHR-FLU", Date: "20241015", CVX: "161", Text: "Influenza, injectable, quadrivalent, preservative free, pediatric", Source: "01"}
	mmr := chart.Dose{ID: "SBD3", Date: "20210115", CVX: "03", Text: "MMR", Source: "00", Lot: "MMRLOT1"}
	return &registry.View{
		Channel: "vxu-in", PatientRef: "3f2a9c0d11e4b7a8", Patient: registry.Patient{Facility: "CLINIC", MRN: "PAT123"},
		RegistryID: "SB0000001", QueriedAt: time.Date(2025, 6, 15, 17, 4, 5, 0, time.UTC), QueriedBy: "nurse.kim",
		Profile: "Z44", MessageID: 42,
		MessageStatus: query.StatusReceivedWithWarnings, MessageStatusText: query.StatusReceivedWithWarnings.Words(),
		QueryQuality: query.QualityMatch, QueryQualityText: query.QualityMatch.Words(),
		Checks:  []query.Check{{ID: query.CheckDemographicsDisagree, Text: "The registry's patient differs from the query in: sex"}},
		Errors:  []iis.ACKError{{Location: "PID^1^8", Code: "103", AppCode: "5", Severity: "W", Message: "ZZTEST sex unknown", Explanation: "PID-8 (sex) holds a code the registry does not know; it kept the rest."}},
		Summary: "Z42 AA/OK: received with warnings, match; 3 doses, 2 forecasts",
		Immunizations: []registry.Row{
			{N: 1, ID: "L:EHR-HEPB", Row: reconcile.Row{State: reconcile.Match, Groups: []string{"HepB"}, Date: "20200101", Local: &hepB, Registry: &hepBReg}, Color: "white"},
			{N: 2, ID: "L:EHR-DTAP", Row: reconcile.Row{State: reconcile.Differs, Groups: []string{"DTAP"}, Date: "20200301", Local: &dtap, Registry: &dtapReg,
				Differences: []reconcile.Difference{{Field: "lot", Local: "LOT1", Registry: "LOT9"}}}, Color: "white"},
			{N: 3, ID: "R:SBD3", Row: reconcile.Row{State: reconcile.RegistryOnly, Groups: []string{"MMR"}, Date: "20210115", Registry: &mmr}, Color: "yellow", Selected: true},
			{N: 4, ID: "L:EHR-FLU", Row: reconcile.Row{State: reconcile.LocalOnly, Groups: []string{"FLU"}, Date: "20241015", Local: &flu}, Color: "blue"},
		},
		Counts: reconcile.Counts{Match: 1, Differs: 1, LocalOnly: 1, RegistryOnly: 1},
		Indicators: []reconcile.IndicatorRow{{State: reconcile.RegistryOnly, Kind: chart.Immunity,
			Registry: &chart.Indicator{Kind: chart.Immunity, Code: "38907003", Text: "History of varicella infection", System: "SCT", Groups: []string{"VARICELLA"}, Date: "20220301"}}},
		Forecast: []registry.ForecastRow{
			{Forecast: query.Forecast{Group: "HepB", CVX: "45", Status: query.ForecastOverdue, DoseNumber: "2", Earliest: "20200129", Due: "20200201", Overdue: "20200401"}, StatusWords: query.ForecastOverdue.Words()},
			{Forecast: query.Forecast{Group: "FLU", CVX: "88", Status: query.ForecastNotComplete, DoseNumber: "1", Earliest: "20250801", Due: "20250901", Latest: "20260630"}, StatusWords: query.ForecastNotComplete.Words()},
		},
		Demographics: []reconcile.FieldDiff{
			{Field: "family", Label: "Family name", Local: "ZZTEST", Registry: "ZZTEST", Same: true},
			{Field: "birth_date", Label: "Birth date", Local: "20200101", Registry: "20200101", Same: true},
			{Field: "sex", Label: "Sex", Local: "F", Registry: "U"},
		},
		ChartDemographics: chart.Demographics{Family: "ZZTEST", BirthDate: "20200101", Sex: "F"},
		IISDemographics:   &chart.Demographics{Family: "ZZTEST", BirthDate: "20200101", Sex: "U"},
	}
}

// apiStub is the console API as the registry command sees it: canned
// answers by path, and the requests it got.
type apiStub struct {
	url string
	mu  sync.Mutex
	got []stubRequest
}

type stubRequest struct {
	method, path, user, auth string
	body                     console.RegistryRequest
}

type cannedAnswer struct {
	status int
	body   []byte
}

func startAPIStub(t *testing.T, answers map[string]cannedAnswer) *apiStub {
	t.Helper()
	s := &apiStub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := stubRequest{method: r.Method, path: r.URL.Path, user: r.Header.Get("X-Iisync-User"), auth: r.Header.Get("Authorization")}
		if len(b) > 0 {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req.body); err != nil {
				t.Errorf("request body %s: %v", b, err)
			}
		}
		s.mu.Lock()
		s.got = append(s.got, req)
		s.mu.Unlock()
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			a = cannedAnswer{404, []byte(`{"error":"no such route"}`)}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *apiStub) requests() []stubRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubRequest(nil), s.got...)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

var oneSyncChannel = cannedAnswer{200, []byte(`{"channels":[{"name":"vxu-in","destination":"iis","profile":"Z44","day_window":0,"return":true}]}`)}

func TestRegistryViewGolden(t *testing.T) {
	view := mustJSON(t, goldenView())
	stub := startAPIStub(t, map[string]cannedAnswer{
		"GET /api/registry":              oneSyncChannel,
		"POST /api/registry/vxu-in/show": {200, view},
	})
	r := iisync(t, "", "registry", "show", "--api", stub.url, "--token", "tok", "--user", "nurse.kim", "--mrn", "PAT123", "--facility", "CLINIC")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("colours on a pipe")
	}
	golden(t, "registry_view.golden", r.stdout)

	got := stub.requests()
	if len(got) != 2 || got[0].path != "/api/registry" || got[1].path != "/api/registry/vxu-in/show" {
		t.Fatalf("requests %+v", got)
	}
	for _, q := range got {
		if q.user != "nurse.kim" || q.auth != "Bearer tok" {
			t.Errorf("%s: user %q auth %q", q.path, q.user, q.auth)
		}
	}
	if b := got[1].body; b.MRN != "PAT123" || b.Facility != "CLINIC" || b.Rows != nil || b.Which != "" {
		t.Errorf("body %+v", b)
	}

	// --json passes the answer through as it is.
	r = iisync(t, "", "registry", "show", "--api", stub.url, "--channel", "vxu-in", "--mrn", "PAT123", "--json")
	if r.code != 0 || r.stdout != string(view) {
		t.Errorf("--json: exit %d, output differs from the answer:\n%s", r.code, r.stdout)
	}
	if n := len(stub.requests()); n != 3 {
		t.Errorf("--channel still asked for the channels: %d requests", n)
	}
}

func TestRegistryColours(t *testing.T) {
	var plain, coloured bytes.Buffer
	printView(&plain, goldenView(), false)
	printView(&coloured, goldenView(), true)
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colours without a terminal")
	}
	for _, want := range []string{"  " + ansiYellow + "*  3  YELLOW", "  " + ansiBlue + "   4  BLUE"} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured output lacks %q:\n%s", want, coloured.String())
		}
	}
	if strings.Count(coloured.String(), ansiReset) != strings.Count(coloured.String(), "\x1b[4") {
		t.Error("a colour is not reset")
	}
}

func TestRegistryActions(t *testing.T) {
	v := goldenView()
	imported := mustJSON(t, map[string]any{"action": "import", "outcome": "1 dose queued for the EHR as historical (from the registry)",
		"rows": []string{"R:SBD3"}, "message_ids": []int{57}, "view": v})
	preflight := mustJSON(t, map[string]any{"error": "registry: the channel's pre-flight validation stopped the VXU: 1 findings",
		"action": "send", "outcome": "stopped by pre-flight validation", "rows": []string{"L:EHR-FLU"}, "view": nil,
		"findings": []map[string]string{{"rule": "mqe.address_missing", "severity": "error", "location": "PID^1^11", "code": "101", "app_code": "7",
			"message": "PID-11 (patient address) is missing"}}})
	sent := mustJSON(t, map[string]any{"action": "send", "outcome": "registry: AE: rejected", "rows": []string{"L:EHR-FLU"}, "message_ids": []int{58},
		"verdict": "rejected", "ack_code": "AE", "errors": []iis.ACKError{{Location: "RXA^1^5", Severity: "E", Code: "103", Explanation: "RXA-5 is not a known vaccine."}}, "view": v})
	trail := mustJSON(t, console.RegistryAuditTrail{Channel: "vxu-in", Entries: []registry.Audit{
		{At: time.Date(2025, 6, 15, 17, 4, 5, 0, time.UTC), Who: "nurse.kim", Action: "query", Outcome: "Z42 AA/OK", MessageIDs: []store.ID{42},
			Messages: []registry.AuditMessage{{Direction: "to_registry", Raw: "MSH|...ZZTEST"}}},
		{At: time.Date(2025, 6, 15, 17, 5, 0, 0, time.UTC), Who: "nurse.kim", Action: "select", Rows: []string{"R:SBD3"}, Outcome: "1 row selected"},
	}})
	notReceived := goldenView()
	notReceived.MessageStatus, notReceived.Summary = query.StatusNotReceived, "not received: soap: transport: connection refused"
	stub := startAPIStub(t, map[string]cannedAnswer{
		"GET /api/registry":                   oneSyncChannel,
		"POST /api/registry/down/query":       {200, mustJSON(t, notReceived)},
		"POST /api/registry/vxu-in/import":    {200, imported},
		"POST /api/registry/vxu-in/send":      {422, preflight},
		"POST /api/registry/other/send":       {200, sent},
		"POST /api/registry/vxu-in/select":    {200, mustJSON(t, v)},
		"POST /api/registry/vxu-in/reconcile": {409, []byte(`{"error":"reconcile: the two doses are of different vaccine groups"}`)},
		"POST /api/registry/vxu-in/query":     {404, []byte(`{"error":"registry: no chart for this patient on this channel"}`)},
		"POST /api/registry/vxu-in/audit":     {200, trail},
		"POST /api/registry/vxu-in/ping":      {200, []byte(`{"channel":"vxu-in","ok":true,"echo":"echo: hi","millis":3}`)},
		"POST /api/registry/down/ping":        {200, []byte(`{"channel":"down","ok":false,"error":"soap: transport: connection refused","millis":3}`)},
	})
	tests := []struct {
		name   string
		args   []string
		code   int
		out    []string // in stdout
		errOut string   // in stderr
		body   *console.RegistryRequest
	}{
		{name: "import", args: []string{"import", "--mrn", "PAT123", "--rows", "3, R:SBD3"}, code: 0,
			out:  []string{"Action           import", "Messages         57 (iisync messages show ID)", "Rows             R:SBD3", "Immunizations"},
			body: &console.RegistryRequest{MRN: "PAT123", Rows: []string{"3", "R:SBD3"}}},
		{name: "send stopped by pre-flight", args: []string{"send", "--mrn", "PAT123"}, code: 1,
			out:    []string{"Pre-flight       1 findings", "error PID^1^11 101/7 mqe.address_missing: PID-11 (patient address) is missing"},
			errOut: "422 Unprocessable Entity: registry: the channel's pre-flight",
			body:   &console.RegistryRequest{MRN: "PAT123"}},
		{name: "send rejected", args: []string{"send", "--channel", "other", "--mrn", "PAT123", "--rows", "4"}, code: 1,
			out:    []string{"Registry         rejected, ACK AE", "E RXA^1^5 [0357:103]: RXA-5 is not a known vaccine."},
			errOut: "the registry did not take the VXU (rejected)"},
		{name: "select", args: []string{"select", "--mrn", "PAT123", "--which", "registry_only"}, code: 0, out: []string{"Rows             1 match"},
			body: &console.RegistryRequest{MRN: "PAT123", Which: "registry_only"}},
		{name: "reconcile refused", args: []string{"reconcile", "--mrn", "PAT123", "--local", "4", "--registry", "3"}, code: 1,
			errOut: "409 Conflict: reconcile: the two doses are of different vaccine groups",
			body:   &console.RegistryRequest{MRN: "PAT123", Local: "4", Registry: "3"}},
		{name: "query not received", args: []string{"query", "--channel", "down", "--mrn", "PAT123"}, code: 1,
			out: []string{"Message Status   not_received"}, errOut: "the query failed: not received: soap: transport"},
		{name: "no chart", args: []string{"query", "--mrn", "PAT123"}, code: 1, errOut: "404 Not Found: registry: no chart"},
		{name: "audit", args: []string{"audit", "--mrn", "PAT123"}, code: 0,
			out: []string{"2025-06-15T17:04:05Z  nurse.kim  query   -       42        Z42 AA/OK", "R:SBD3"}},
		{name: "ping", args: []string{"ping"}, code: 0, out: []string{`vxu-in: ok in 3ms, echo "echo: hi"`}},
		{name: "ping down", args: []string{"ping", "--channel", "down"}, code: 1, out: []string{"down: failed after 3ms: soap: transport"}},
		{name: "ping down json", args: []string{"ping", "--channel", "down", "--json"}, code: 1, out: []string{`"ok":false`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(stub.requests())
			r := iisync(t, "", append([]string{"registry"}, append(tc.args, "--api", stub.url)...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.out {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, tc.errOut) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.errOut)
			}
			if tc.body != nil {
				got := stub.requests()[before:]
				last := got[len(got)-1].body
				if b, _ := json.Marshal(last); string(b) != string(mustJSONLine(t, tc.body)) {
					t.Errorf("body %s, want %s", b, mustJSONLine(t, tc.body))
				}
			}
		})
	}
}

func mustJSONLine(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegistryUsage(t *testing.T) {
	stub := startAPIStub(t, map[string]cannedAnswer{
		"GET /api/registry": {200, []byte(`{"channels":[{"name":"a"},{"name":"b"}]}`)},
	})
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no action", nil, "usage: iisync registry"},
		{"unknown action", []string{"frob"}, `unknown action "frob"`},
		{"no mrn", []string{"query"}, "--mrn is required"},
		{"which on query", []string{"query", "--mrn", "X1", "--which", "all"}, "--which not used by query"},
		{"rows on show", []string{"show", "--mrn", "X1", "--rows", "1"}, "--rows not used by show"},
		{"mrn on ping", []string{"ping", "--mrn", "X1"}, "--mrn not used by ping"},
		{"empty rows", []string{"import", "--mrn", "X1", "--rows", " , "}, "--rows names no row"},
		{"reconcile half", []string{"reconcile", "--mrn", "X1", "--local", "1"}, "--local N and --registry M"},
		{"link without candidate", []string{"link", "--mrn", "X1"}, "--candidate N"},
		{"argument", []string{"show", "--mrn", "X1", "extra"}, `unexpected argument "extra"`},
		{"bad flag", []string{"show", "--nope"}, "flag provided but not defined"},
		{"bad api", []string{"show", "--mrn", "X1", "--api", "ftp://x"}, "--api must be an http(s) URL"},
		{"several channels", []string{"show", "--mrn", "X1"}, "several sync channels (a, b)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"registry"}, tc.args...)
			if len(tc.args) > 0 && !strings.Contains(strings.Join(tc.args, " "), "--api") {
				args = append(args, "--api", stub.url)
			}
			r := iisync(t, "", args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("exit %d stderr %q; want 2 containing %q", r.code, r.stderr, tc.err)
			}
			if strings.Contains(r.stderr, "X1") {
				t.Error("usage error echoes the MRN")
			}
		})
	}
	for _, q := range stub.requests() {
		if q.method != "GET" {
			t.Errorf("a usage error reached the API: %s %s", q.method, q.path)
		}
	}
	if r := iisync(t, "", "registry", "show", "--mrn", "X1", "--api", "http://127.0.0.1:1"); r.code != 1 || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("API down: exit %d %q", r.code, r.stderr)
	}
}

// TestRegistryCommandEndToEnd runs serve with a sync channel and the
// sandbox as registry, sends the EHR's VXU, and works the window with the
// command: query, select, audit, ping.
func TestRegistryCommandEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the engine and the sandbox")
	}
	t.Setenv("IISYNC_TEST_SANDBOX_PASSWORD", sandboxPassword)
	dir := t.TempDir()
	ehr := startEHR(t)
	e := &engine{dir: dir}
	e.configFile = writeIISConfig(t, dir, freePort(t), ehr.addr)
	f, err := os.OpenFile(e.configFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("    sync:\n      profile: Z44\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	boot(t, e)

	const vxu = "MSH|^~\\&|EHR|DEMO-CLINIC|IIS|IIS|20250101120000-0500||VXU^V04^VXU_V04|SYNC-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||PAT123^^^DEMO-CLINIC^MR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F|||1 ZZTEST Street^^Bozeman^MT^59715^USA^P\r" +
		"ORC|RE||EHR-HEPB^DEMO-CLINIC\r" +
		"RXA|0|1|20200101|20200101|08^Hep B, adolescent or pediatric^CVX|999|||01^Historical information - source unspecified^NIP001|||||||||||CP|A\r"
	snd, err := mllp.NewSender(mllp.SenderConfig{Addr: e.addr}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	if ack, err := snd.Send(t.Context(), []byte(vxu), nil); err != nil || !strings.Contains(string(ack), "MSA|AA|") {
		t.Fatalf("VXU: %v %q", err, ack)
	}
	// Once the registry has the VXU, the query matches.
	ehrtest.WaitFor(t, func() bool {
		r := e.messages(t, "list", "--control-id", "SYNC-1")
		return strings.Contains(r.stdout, "iis=AA")
	}, "the VXU at the registry")

	reg := func(args ...string) result {
		return iisync(t, "", append([]string{"registry"}, append(args, "--api", e.api, "--user", "nurse.kim")...)...)
	}
	r := reg("query", "--mrn", "PAT123")
	if r.code != 0 || !strings.Contains(r.stdout, "Query Quality    match") || !strings.Contains(r.stdout, "WHITE") ||
		!strings.Contains(r.stdout, "2020-01-01") || !strings.Contains(r.stdout, "IIS Forecast") {
		t.Fatalf("query: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = reg("select", "--mrn", "PAT123", "--which", "all")
	if r.code != 0 || !strings.Contains(r.stdout, "; 1 selected") {
		t.Errorf("select: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = reg("audit", "--mrn", "PAT123", "--json")
	var trail console.RegistryAuditTrail
	if err := json.Unmarshal([]byte(r.stdout), &trail); r.code != 0 || err != nil || len(trail.Entries) != 2 || trail.Entries[0].Who != "nurse.kim" {
		t.Errorf("audit: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r = reg("ping"); r.code != 0 || !strings.Contains(r.stdout, "vxu-in: ok") {
		t.Errorf("ping: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = reg("show", "--mrn", "NOBODY"); r.code != 1 || !strings.Contains(r.stderr, "404") || strings.Contains(r.stderr, "NOBODY") {
		t.Errorf("show of an unknown patient: exit %d %q", r.code, r.stderr)
	}
	e.noCanaries(t)
}
