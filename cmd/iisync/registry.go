package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/console"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
	"github.com/iisync/iisync/transforms/validate"
)

const registryUsage = `usage: iisync registry <action> --mrn MRN [flags]

The Sync Registry over the running engine's HTTP API (see docs/API.md, "Sync
Registry"): ask the state registry for one patient's history, compare it
with the chart the EHR's VXUs built on the channel, and fix either side.
The answers hold PHI; the server audits each one.

actions:
  query      ask the registry now; print the window (status and the tabs)
  show       the window of the last query, against the chart as it is now
  refresh    query again
  select     add rows to the selection: --rows, or --which all|matching|local_only|registry_only
  unselect   remove rows from the selection (--rows or --which; neither: all)
  import     registry-only doses to the EHR as historical (--rows; default: the selection)
  send       local-only doses to the registry as a VXU (--rows; default: the selection)
  reconcile  a local historical dose takes the registry's record: --local N --registry M
  delete     delete local doses in the EHR (--rows; default: the selection)
  drop       forget the patient's registry ID
  link       take candidate N of the registry's candidate list: --candidate N
  audit      the patient's audit trail (--json adds the raw messages)
  ping       the registry's connectivity test (no --mrn)

flags:
  --channel NAME          the sync channel (default: the only one)
  --mrn MRN               the patient's MRN (required, except for ping)
  --facility F            the EHR's facility (MSH-4), when the MRN is not unique
  --rows 1,2,R:x          rows by number or ID, comma-separated
  --which SEL             all, matching, local_only or registry_only
  --local N --registry M  the two rows of reconcile
  --candidate N           the candidate of link, from 1
  --json                  print the API's JSON answer as it is
  --user NAME             who you are, for the audit trail (default $USER)
  --api URL               the API (default http://127.0.0.1:8080)
  --token T               the API bearer token (default $IISYNC_API_TOKEN)
  --timeout D             request timeout (default 1m; the server bounds a
                          registry exchange at 45s)

Exit status: 0 done; 1 the API or the registry failed (a send stopped by
pre-flight validation, a ping without answer); 2 a usage error.
`

// What an action answers.
const (
	answersView = iota
	answersResult
	answersAudit
	answersPing
)

// registryCommand describes one action of iisync registry.
type registryCommand struct {
	answers int
	flags   []string // flags beyond the common ones
}

var registryCommands = map[string]registryCommand{
	"query":     {answersView, nil},
	"show":      {answersView, nil},
	"refresh":   {answersView, nil},
	"drop":      {answersView, nil},
	"select":    {answersView, []string{"rows", "which"}},
	"unselect":  {answersView, []string{"rows", "which"}},
	"link":      {answersView, []string{"candidate"}},
	"import":    {answersResult, []string{"rows"}},
	"send":      {answersResult, []string{"rows"}},
	"delete":    {answersResult, []string{"rows"}},
	"reconcile": {answersResult, []string{"local", "registry"}},
	"audit":     {answersAudit, nil},
	"ping":      {answersPing, nil},
}

// commonRegistryFlags are taken by every action (mrn and facility by all
// but ping).
var commonRegistryFlags = []string{"channel", "mrn", "facility", "json", "user", "api", "token", "timeout"}

func runRegistry(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, registryUsage)
		return 2
	}
	action := args[0]
	cmd, ok := registryCommands[action]
	if !ok {
		fmt.Fprintf(e.stderr, "iisync registry: unknown action %q\n\n%s", action, registryUsage)
		return 2
	}
	name := "registry " + action
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "iisync %s: %s\n", name, fmt.Sprintf(format, a...))
		fmt.Fprintf(e.stderr, "run 'iisync registry -h' for the actions and flags\n")
		return 2
	}

	fs := newFlagSet(name, e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, registryUsage) }
	var o struct {
		channel, mrn, facility, rows, which, local, registry, user string
		candidate                                                  int
		json                                                       bool
	}
	fs.StringVar(&o.channel, "channel", "", "the sync channel")
	fs.StringVar(&o.mrn, "mrn", "", "the patient's MRN")
	fs.StringVar(&o.facility, "facility", "", "the EHR's facility")
	fs.StringVar(&o.rows, "rows", "", "rows by number or ID, comma-separated")
	fs.StringVar(&o.which, "which", "", "all, matching, local_only or registry_only")
	fs.StringVar(&o.local, "local", "", "the local row of reconcile")
	fs.StringVar(&o.registry, "registry", "", "the registry row of reconcile")
	fs.IntVar(&o.candidate, "candidate", 0, "the candidate of link")
	fs.BoolVar(&o.json, "json", false, "print the API's JSON answer")
	fs.StringVar(&o.user, "user", "", "who you are (default $USER)")
	mk := addAPIFlags(fs)
	// A registry exchange may take the server's 45 s bound: wait longer.
	_ = fs.Set("timeout", "1m")
	fs.Lookup("timeout").DefValue = "1m0s"
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2 // the flag package said why
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	allowed := append(slices.Clone(commonRegistryFlags), cmd.flags...)
	if action == "ping" {
		allowed = slices.DeleteFunc(allowed, func(f string) bool { return f == "mrn" || f == "facility" })
	}
	var stray []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(allowed, f.Name) {
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 {
		return usageErr("%s not used by %s", strings.Join(stray, ", "), action)
	}
	var rows []string
	for r := range strings.SplitSeq(o.rows, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rows = append(rows, r)
		}
	}
	switch {
	case action != "ping" && o.mrn == "":
		return usageErr("--mrn is required")
	case o.rows != "" && len(rows) == 0:
		return usageErr("--rows names no row")
	case action == "reconcile" && (o.local == "" || o.registry == ""):
		return usageErr("reconcile needs --local N and --registry M")
	case action == "link" && o.candidate < 1:
		return usageErr("link needs --candidate N (from 1)")
	}
	c, err := mk()
	if err != nil {
		return usageErr("%v", err)
	}
	if o.user != "" {
		c.user = o.user
	}

	if o.channel == "" {
		var list console.RegistryChannelList
		if err := c.do(ctx, http.MethodGet, "/api/registry", nil, &list); err != nil {
			fmt.Fprintf(e.stderr, "iisync %s: %v\n", name, err)
			return 1
		}
		switch len(list.Channels) {
		case 0:
			fmt.Fprintf(e.stderr, "iisync %s: no running channel has the Sync Registry on (a sync: section)\n", name)
			return 1
		case 1:
			o.channel = list.Channels[0].Name
		default:
			names := make([]string, len(list.Channels))
			for i, ch := range list.Channels {
				names[i] = ch.Name
			}
			return usageErr("several sync channels (%s): name one with --channel", strings.Join(names, ", "))
		}
	}

	var body any
	if action != "ping" {
		body = console.RegistryRequest{MRN: o.mrn, Facility: o.facility, Which: o.which, Rows: rows,
			Local: o.local, Registry: o.registry, Candidate: o.candidate}
	}
	path := "/api/registry/" + url.PathEscape(o.channel) + "/" + action
	status, data, err := c.exchange(ctx, http.MethodPost, path, body)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync %s: %v\n", name, err)
		return 1
	}
	code := 0
	if status/100 != 2 {
		fmt.Fprintf(e.stderr, "iisync %s: %v\n", name, &apiError{status: status, msg: errorText(data)})
		// A send stopped by pre-flight validation (422) or by the
		// transport (502) still answers its Result: print it.
		if cmd.answers != answersResult || (status != http.StatusUnprocessableEntity && status != http.StatusBadGateway) {
			return 1
		}
		code = 1
	} else if why := registryFailed(action, data); why != "" {
		fmt.Fprintf(e.stderr, "iisync %s: %s\n", name, why)
		code = 1
	}
	if o.json {
		_, _ = e.stdout.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			fmt.Fprintln(e.stdout)
		}
		return code
	}
	color := isTerminal(e.stdout) && os.Getenv("NO_COLOR") == ""
	decode := func(v any) bool {
		if err := json.Unmarshal(data, v); err != nil {
			fmt.Fprintf(e.stderr, "iisync %s: decode answer: %v\n", name, err)
			return false
		}
		return true
	}
	switch cmd.answers {
	case answersView:
		var v registry.View
		if !decode(&v) {
			return 1
		}
		printView(e.stdout, &v, color)
	case answersResult:
		var r cliResult
		if !decode(&r) {
			return 1
		}
		printResult(e.stdout, &r, color)
	case answersAudit:
		var a console.RegistryAuditTrail
		if !decode(&a) {
			return 1
		}
		printAudit(e.stdout, &a)
	case answersPing:
		var p console.RegistryPingResponse
		if !decode(&p) {
			return 1
		}
		if !p.OK {
			fmt.Fprintf(e.stdout, "%s: failed after %dms: %s\n", p.Channel, p.Millis, p.Error)
			return code
		}
		fmt.Fprintf(e.stdout, "%s: ok in %dms, echo %q\n", p.Channel, p.Millis, p.Echo)
	}
	return code
}

// registryFailed says why a 200 answer is still a failure of the
// registry, for the exit status: a query (query, refresh, link) that got
// no usable answer or the registry's errors, a send the registry rejected,
// a ping without answer. "" when it is not.
func registryFailed(action string, data []byte) string {
	var a struct {
		MessageStatus query.MessageStatus `json:"message_status"`
		Summary       string              `json:"summary"`
		Verdict       iis.Verdict         `json:"verdict"`
		OK            bool                `json:"ok"`
	}
	if json.Unmarshal(data, &a) != nil {
		return ""
	}
	switch action {
	case "query", "refresh", "link":
		switch a.MessageStatus {
		case query.StatusNotReceived, query.StatusUnreadable, query.StatusReceivedWithErrors:
			return "the query failed: " + a.Summary
		}
	case "send":
		if a.Verdict == iis.Rejected || a.Verdict == iis.Unknown {
			return "the registry did not take the VXU (" + string(a.Verdict) + ")"
		}
	case "ping":
		if !a.OK {
			return "the registry did not answer the connectivity test"
		}
	}
	return ""
}

// isTerminal reports whether w is a terminal (colours are for people, not
// pipes).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// cliResult is registry.Result as the API writes it: validate.Finding
// marshals to FindingJSON and does not read it back, so the findings are
// decoded here and the Result's own are left empty.
type cliResult struct {
	registry.Result
	Findings []validate.FindingJSON `json:"findings,omitempty"`
}

// ANSI colours of the window's rows: blue (local only) and yellow
// (registry only) backgrounds.
const (
	ansiBlue   = "\x1b[44;97m"
	ansiYellow = "\x1b[43;30m"
	ansiReset  = "\x1b[0m"
)

func ansiFor(colour string) string {
	switch colour {
	case "blue":
		return ansiBlue
	case "yellow":
		return ansiYellow
	}
	return ""
}

// textTable writes aligned columns, two spaces apart, without trailing
// blanks; a row with a colour is wrapped in its ANSI code.
type textTable struct {
	head   []string
	rows   [][]string
	colour []string
}

func (t *textTable) add(colour string, cells ...string) {
	t.rows = append(t.rows, cells)
	t.colour = append(t.colour, colour)
}

func (t *textTable) write(w io.Writer, indent string, useColour bool) {
	if len(t.rows) == 0 {
		fmt.Fprintf(w, "%s(none)\n", indent)
		return
	}
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	fmt.Fprintf(w, "%s%s\n", indent, line(t.head))
	for i, r := range t.rows {
		l := line(r)
		if a := ansiFor(t.colour[i]); useColour && a != "" {
			// Pad to the full width so the background makes a band.
			total := 0
			for _, wd := range width {
				total += wd + 2
			}
			l = a + l + strings.Repeat(" ", max(0, total-2-utf8.RuneCountInString(l))) + ansiReset
		}
		fmt.Fprintf(w, "%s%s\n", indent, l)
	}
}

// day writes a "YYYYMMDD" date as YYYY-MM-DD ("-" when empty).
func day(d string) string {
	switch {
	case d == "":
		return "-"
	case len(d) >= 8 && isDigits(d[:8]):
		return d[:4] + "-" + d[4:6] + "-" + d[6:8]
	}
	return d
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func sides(local, reg bool) string {
	switch {
	case local && reg:
		return "both"
	case local:
		return "local"
	case reg:
		return "registry"
	}
	return "-"
}

// printView writes the Sync Registry window: the three-part status, then
// the tabs as tables.
func printView(w io.Writer, v *registry.View, colour bool) {
	label := func(l, format string, a ...any) { fmt.Fprintf(w, "%-16s %s\n", l, fmt.Sprintf(format, a...)) }
	who := "MRN " + v.Patient.MRN
	if v.Patient.Facility != "" {
		who += " at " + v.Patient.Facility
	}
	if v.RegistryID != "" {
		who += ", registry ID " + v.RegistryID
	} else {
		who += ", not linked to a registry ID"
	}
	label("Patient", "%s (patient_ref %s)", who, v.PatientRef)
	q := fmt.Sprintf("%s by %s, %s on channel %s", v.QueriedAt.UTC().Format("2006-01-02 15:04:05 MST"), orDash(v.QueriedBy), orDash(v.Profile), v.Channel)
	if v.MessageID != 0 {
		q += fmt.Sprintf(", message %d", v.MessageID)
	}
	label("Queried", "%s", q)
	label("Message Status", "%s: %s", v.MessageStatus, v.MessageStatusText)
	if v.Failure != "" {
		label("", "failure: %s", v.Failure)
	}
	label("Query Quality", "%s: %s", v.QueryQuality, v.QueryQualityText)
	for _, c := range v.Checks {
		label("", "check %s: %s", c.ID, c.Text)
	}
	if len(v.Errors) > 0 {
		label("Registry errors", "%d", len(v.Errors))
		printACKErrors(w, v.Errors)
	}
	label("Summary", "%s", v.Summary)
	selected := 0
	for _, r := range v.Immunizations {
		if r.Selected {
			selected++
		}
	}
	c := v.Counts
	label("Rows", "%d match, %d with differences, %d local only, %d registry only; %d selected",
		c.Match, c.Differs, c.LocalOnly, c.RegistryOnly, selected)

	fmt.Fprintln(w, "\nImmunizations")
	imm := &textTable{head: []string{"", "N", "COLOUR", "STATE", "DATE", "VACCINE", "LOT", "SIDES", "DIFFERENCES"}}
	for _, r := range v.Immunizations {
		d := r.Local
		if d == nil {
			d = r.Registry
		}
		var vaccine, lot string
		if d != nil {
			vaccine = strings.TrimSpace(orDash(d.CVX) + " " + clip(d.Text, 40))
			lot = d.Lot
		}
		var diffs []string
		for _, df := range r.Differences {
			l, rg := df.Local, df.Registry
			if df.Field == "date" {
				l, rg = day(l), day(rg)
			}
			diffs = append(diffs, df.Field+":"+orDash(l)+"→"+orDash(rg))
		}
		mark := ""
		if r.Selected {
			mark = "*"
		}
		imm.add(r.Color, mark, strconv.Itoa(r.N), strings.ToUpper(orDash(r.Color)), string(r.State), day(r.Date),
			vaccine, orDash(lot), sides(r.Local != nil, r.Registry != nil), strings.Join(diffs, ", "))
	}
	imm.write(w, "  ", colour)

	fmt.Fprintln(w, "\nIndicators")
	ind := &textTable{head: []string{"STATE", "KIND", "CODE", "TEXT", "VACCINE", "DATE", "SIDES"}}
	for _, r := range v.Indicators {
		x := r.Local
		if x == nil {
			x = r.Registry
		}
		var code, text, vaccine, date string
		if x != nil {
			code, text, date = x.Code, clip(x.Text, 40), x.Date
			vaccine = x.CVX
			if len(x.Groups) > 0 {
				vaccine = strings.TrimSpace(vaccine + " " + strings.Join(x.Groups, "/"))
			}
		}
		ind.add(r.State.Color(), string(r.State), string(r.Kind), orDash(code), orDash(text), orDash(vaccine), day(date),
			sides(r.Local != nil, r.Registry != nil))
	}
	ind.write(w, "  ", colour)

	fmt.Fprintln(w, "\nIIS Forecast")
	fc := &textTable{head: []string{"GROUP", "STATUS", "DOSE", "EARLIEST", "DUE", "LATEST", "OVERDUE"}}
	for _, f := range v.Forecast {
		fc.add("", orDash(f.Group), orDash(f.StatusWords), orDash(f.DoseNumber), day(f.Earliest), day(f.Due), day(f.Latest), day(f.Overdue))
	}
	fc.write(w, "  ", colour)

	fmt.Fprintln(w, "\nChart vs IIS Demographics")
	if v.IISDemographics == nil {
		fmt.Fprintln(w, "  (the registry sent no patient)")
	}
	dem := &textTable{head: []string{"FIELD", "CHART", "IIS", ""}}
	for _, d := range v.Demographics {
		mark := ""
		if !d.Same && v.IISDemographics != nil {
			mark = "≠"
		}
		l, r := d.Local, d.Registry
		if d.Field == "birth_date" {
			l, r = day(l), day(r)
		}
		dem.add("", d.Label, orDash(l), orDash(r), mark)
	}
	dem.write(w, "  ", colour)

	if len(v.Candidates) > 0 {
		fmt.Fprintln(w, "\nCandidates (link one with --candidate N)")
		ct := &textTable{head: []string{"N", "REGISTRY ID", "NAME", "BIRTH DATE", "SEX", "MRN"}}
		for i, cd := range v.Candidates {
			ct.add("", strconv.Itoa(i+1), orDash(cd.RegistryID), orDash(personName(cd.Patient)), day(cd.Patient.BirthDate),
				orDash(cd.Patient.Sex), orDash(cd.MRN))
		}
		ct.write(w, "  ", colour)
	}
}

func personName(d chart.Demographics) string {
	n := d.Family
	if d.Given != "" {
		n += ", " + d.Given
	}
	if d.Middle != "" {
		n += " " + d.Middle
	}
	return n
}

// printACKErrors writes the registry's errors, each with its explanation
// and the registry's own words.
func printACKErrors(w io.Writer, errs []iis.ACKError) {
	for _, er := range errs {
		var codes []string
		if er.Code != "" {
			codes = append(codes, "0357:"+er.Code)
		}
		if er.AppCode != "" {
			codes = append(codes, "0533:"+er.AppCode)
		}
		fmt.Fprintf(w, "  %s %s", orDash(er.Severity), orDash(er.Location))
		if len(codes) > 0 {
			fmt.Fprintf(w, " [%s]", strings.Join(codes, " "))
		}
		fmt.Fprintf(w, ": %s\n", orDash(er.Explanation))
		if er.Message != "" {
			fmt.Fprintf(w, "      the registry says: %q\n", er.Message)
		}
	}
}

// printResult writes what an action did, then the window after it.
func printResult(w io.Writer, r *cliResult, colour bool) {
	label := func(l, format string, a ...any) { fmt.Fprintf(w, "%-16s %s\n", l, fmt.Sprintf(format, a...)) }
	label("Action", "%s", r.Action)
	label("Outcome", "%s", orDash(r.Outcome))
	if len(r.Rows) > 0 {
		label("Rows", "%s", strings.Join(r.Rows, ", "))
	}
	if len(r.MessageIDs) > 0 {
		ids := make([]string, len(r.MessageIDs))
		for i, id := range r.MessageIDs {
			ids[i] = strconv.FormatUint(uint64(id), 10)
		}
		label("Messages", "%s (iisync messages show ID)", strings.Join(ids, ", "))
	}
	if r.Verdict != "" || r.ACKCode != "" {
		label("Registry", "%s, ACK %s", orDash(string(r.Verdict)), orDash(r.ACKCode))
	}
	if len(r.Errors) > 0 {
		label("Registry errors", "%d", len(r.Errors))
		printACKErrors(w, r.Errors)
	}
	if len(r.Findings) > 0 {
		label("Pre-flight", "%d findings; the channel stopped the VXU before the registry saw it", len(r.Findings))
		for _, f := range r.Findings {
			codes := strings.Trim(f.Code+"/"+f.AppCode, "/")
			fmt.Fprintf(w, "  %s %s %s %s: %s\n", f.Severity, orDash(f.Location), orDash(codes), f.Rule, f.Message)
		}
	}
	if r.View != nil {
		fmt.Fprintln(w)
		printView(w, r.View, colour)
	}
}

// printAudit writes the audit trail, one entry a line; the raw messages
// are in --json only.
func printAudit(w io.Writer, a *console.RegistryAuditTrail) {
	t := &textTable{head: []string{"TIME", "WHO", "ACTION", "ROWS", "MESSAGES", "OUTCOME"}}
	for _, en := range a.Entries {
		ids := make([]string, len(en.MessageIDs))
		for i, id := range en.MessageIDs {
			ids[i] = strconv.FormatUint(uint64(id), 10)
		}
		t.add("", en.At.UTC().Format(time.RFC3339), en.Who, en.Action, orDash(strings.Join(en.Rows, ",")),
			orDash(strings.Join(ids, ",")), en.Outcome)
	}
	t.write(w, "", false)
}
