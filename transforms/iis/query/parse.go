package query

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// order is one ORC/RXA group of the answer with its RXR and OBX.
type order struct {
	n             int // the RXA's ordinal in the message, 1-based
	orc, rxa, rxr hl7.Segment
	obx           []hl7.Segment
}

// block is one PID with the PD1, NK1 and orders that follow it.
type block struct {
	pid, pd1, nk1 hl7.Segment
	orders        []*order
}

// Parse reads a registry's answer to a query. asked is the query it
// answers, or nil when it is not known; Parse then takes the asked profile
// from the echoed QAK-3 or QPD-1, and skips the checks that need the query.
//
// Parse never fails and never panics: input it cannot read gives
// StatusUnreadable with the cause in Reason. See the package documentation
// for the rules.
func Parse(raw []byte, asked *Request) Response {
	msg := firstMessage(raw)
	if msg == nil {
		return unreadable("no MSH segment")
	}
	m, err := hl7.Parse(msg)
	if err != nil {
		return unreadable("not an HL7 message (" + err.Error() + ")")
	}
	switch upper(m.Value("MSH-9.1")) {
	case "RSP", "ACK":
	default:
		return unreadable("message type is not RSP")
	}

	var r Response
	r.Profile = upper(m.Value("MSH-21.1"))
	if msa, ok := m.Segment("MSA", 1); ok {
		r.ACKCode = upper(msa.Field(1).Component(1).String())
		r.ControlID = strings.TrimSpace(msa.Field(2).Component(1).String())
	}
	if qak, ok := m.Segment("QAK", 1); ok {
		r.QueryTag = strings.TrimSpace(qak.Field(1).Component(1).String())
		r.QAKStatus = upper(qak.Field(2).Component(1).String())
	}
	c := iis.Classify(msg)
	r.Errors = c.Errors
	r.Status, r.Reason = status(m, c)

	blocks := readBlocks(m)
	msgTime := chart.ParseTime(m.Value("MSH-7.1"))
	msgDate := date8(m.Value("MSH-7.1"))
	switch {
	case len(blocks) >= 2 || (len(blocks) == 1 && r.Profile == "Z31"):
		r.Quality = QualityCandidates
		for _, b := range blocks {
			r.Candidates = append(r.Candidates, Candidate{
				RegistryID: chart.RegistryIDOf(b.pid),
				MRN:        mrnOf(b.pid),
				Patient:    chart.ParseDemographics(b.pid, b.pd1, b.nk1),
			})
		}
	case len(blocks) == 1:
		r.Quality = QualityMatch
		r.Patient, r.Forecast = patient(blocks[0], msgTime, msgDate)
		if asked != nil && asked.Chart != nil {
			r.Patient.Key = asked.Chart.Key
		}
	default:
		r.Quality = qualityWithoutData(r.QAKStatus, r.ACKCode)
	}
	r.Checks = checks(&r, m, asked)
	if r.Status != StatusUnreadable {
		r.Reason = summary(&r)
	}
	return r
}

// unreadable is the Response to input that is not an RSP.
func unreadable(cause string) Response {
	return Response{Status: StatusUnreadable, Quality: QualityUnknown, Reason: "unreadable: " + cause}
}

// firstMessage drops MLLP framing and batch lines and returns the first
// message, or nil when there is no MSH line.
func firstMessage(raw []byte) []byte {
	raw = bytes.TrimLeft(raw, "\x0b \t\r\n")
	if i := bytes.IndexByte(raw, 0x1c); i >= 0 {
		raw = raw[:i]
	}
	msgs := hl7.Split(raw)
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0]
}

// status derives the MessageStatus from the classification of the answer's
// MSA and ERR segments (iis.Classify), with two differences for queries:
// ERRs of severity I make an AA answer "with warnings", and an AE without
// any ERR but with MSA-6 "0" (message accepted; VA VIIS does this) is
// taken as "with warnings" rather than as errors.
func status(m *hl7.Message, c iis.Classification) (MessageStatus, string) {
	switch c.Verdict {
	case iis.Accepted:
		if len(c.Errors) > 0 {
			return StatusReceivedWithWarnings, ""
		}
		return StatusReceived, ""
	case iis.AcceptedWithWarnings:
		return StatusReceivedWithWarnings, ""
	case iis.Rejected:
		if (c.ACKCode == "AE" || c.ACKCode == "CE") && len(c.Errors) == 0 &&
			strings.TrimSpace(m.Value("MSA-6.1")) == "0" {
			return StatusReceivedWithWarnings, ""
		}
		return StatusReceivedWithErrors, ""
	}
	return StatusUnreadable, "unreadable: " + strings.TrimPrefix(c.Reason, "unknown: ")
}

// qualityWithoutData maps QAK-2 (or, without a QAK, MSA-1) of an answer
// that holds no PID.
func qualityWithoutData(qak, ack string) Quality {
	switch qak {
	case "NF":
		return QualityNoMatch
	case "TM":
		return QualityTooMany
	case "AE", "AR", "PD":
		return QualityRejected
	case "OK":
		return QualityUnknown
	}
	switch ack {
	case "AE", "AR", "CE", "CR":
		return QualityRejected
	}
	return QualityUnknown
}

// readBlocks splits the answer into patients and their orders. RXA
// ordinals count every RXA of the message; orders before any PID and OBX
// outside an order are ignored.
func readBlocks(m *hl7.Message) []*block {
	var (
		blocks []*block
		cur    *block
		ord    *order
		orc    hl7.Segment
		n      int
	)
	for seg := range m.Segments() {
		switch seg.Name() {
		case "PID":
			cur = &block{pid: seg}
			blocks = append(blocks, cur)
			ord, orc = nil, hl7.Segment{}
		case "PD1":
			if cur != nil && cur.pd1.Name() == "" {
				cur.pd1 = seg
			}
		case "NK1":
			if cur != nil && cur.nk1.Name() == "" {
				cur.nk1 = seg
			}
		case "ORC":
			ord, orc = nil, seg
		case "RXA":
			n++
			if cur == nil {
				continue
			}
			ord = &order{n: n, orc: orc, rxa: seg}
			cur.orders = append(cur.orders, ord)
			orc = hl7.Segment{}
		case "RXR":
			if ord != nil && ord.rxr.Name() == "" {
				ord.rxr = seg
			}
		case "OBX":
			if ord != nil {
				ord.obx = append(ord.obx, seg)
			}
		}
	}
	return blocks
}

// registryDose is a dose with the order it came from.
type registryDose struct {
	chart.Dose
	o *order
}

// patient reads the single patient of an answer: demographics, doses,
// indicators, and the forecast. Rows that are not immunization events
// (chart.Dose.Event: refusals, "not administered", CVX 998) contribute only
// their indicators; forecast groups become Forecast rows.
func patient(b *block, msgTime time.Time, msgDate string) (*chart.Chart, []Forecast) {
	p := &chart.Chart{
		Key:        chart.Key{MRN: mrnOf(b.pid)},
		RegistryID: chart.RegistryIDOf(b.pid),
		Patient:    chart.ParseDemographics(b.pid, b.pd1, b.nk1),
		Updated:    msgTime,
	}
	var (
		doses    []registryDose
		forecast []Forecast
	)
	for _, o := range b.orders {
		forecastRow := isForecastRow(o.rxa)
		var eval []hl7.Segment
		for _, g := range groupOBX(o.obx) {
			// Forecast groups sit under a CVX 998 row; some registries
			// also hang "vaccines due next" groups on a history RXA.
			if forecastRow || g.typeCode == loincDueNext {
				if f, ok := g.forecast(msgDate); ok {
					forecast = append(forecast, f)
					continue
				}
			}
			eval = append(eval, g.segs...)
		}
		dose, inds := chart.ParseDose(o.orc, o.rxa, o.rxr, eval)
		for _, in := range inds {
			p.AddIndicator(in)
		}
		if dose.Event() {
			doses = append(doses, registryDose{Dose: dose, o: o})
		}
	}
	assignIDs(doses)
	for _, rd := range doses {
		p.Upsert(rd.Dose) // keeps chart's order: date, CVX, ID
	}
	return p, forecast
}

// isForecastRow reports whether an RXA is a forecast placeholder: CVX 998
// "no vaccine administered" in either triplet of RXA-5.
func isForecastRow(rxa hl7.Segment) bool {
	f := rxa.Field(5)
	return chart.CanonCVX(f.Component(1).String()) == chart.NoVaccine ||
		chart.CanonCVX(f.Component(4).String()) == chart.NoVaccine
}

// assignIDs gives each dose the registry's ORC-3.1 when it is unique among
// the doses (and not the 9999 placeholder), else "rxa-N", N the RXA's
// ordinal in the message.
func assignIDs(doses []registryDose) {
	filler := func(o *order) string {
		id := strings.TrimSpace(o.orc.Field(3).Component(1).String())
		if id == "9999" || id == "0" {
			return ""
		}
		return id
	}
	count := map[string]int{}
	for _, d := range doses {
		if id := filler(d.o); id != "" {
			count[id]++
		}
	}
	for i := range doses {
		if id := filler(doses[i].o); id != "" && count[id] == 1 {
			doses[i].ID = id
		} else {
			doses[i].ID = "rxa-" + strconv.Itoa(doses[i].o.n)
		}
	}
}

// mrnOf returns the EHR's ID as a registry echoes it in PID-3: the
// repetition of type MR, else PI, else PT.
func mrnOf(pid hl7.Segment) string {
	for _, typ := range []string{"MR", "PI", "PT"} {
		for rep := range pid.Field(3).Repetitions() {
			if upper(rep.Component(5).String()) == typ {
				if id := strings.TrimSpace(rep.Component(1).String()); id != "" {
					return id
				}
			}
		}
	}
	return ""
}

// checks derives the observations about r.
func checks(r *Response, m *hl7.Message, asked *Request) []Check {
	var out []Check
	askedProfile := ""
	if asked != nil {
		askedProfile = asked.profile()
	} else {
		for _, p := range []string{m.Value("QAK-3.1"), m.Value("QPD-1.1")} {
			if p = upper(p); p == ProfileZ34 || p == ProfileZ44 {
				askedProfile = p
				break
			}
		}
	}
	if r.Quality == QualityMatch {
		if asked != nil && asked.Chart != nil {
			if fields := disagree(asked.Chart.Patient, r.Patient.Patient); len(fields) > 0 {
				out = append(out, Check{ID: CheckDemographicsDisagree,
					Text: "The registry's patient differs from the one asked for in: " + strings.Join(fields, ", ") + "."})
			}
		}
		if askedProfile == ProfileZ44 && r.Profile == "Z32" {
			out = append(out, Check{ID: CheckProfileSubstituted,
				Text: "The registry answered with a history (Z32) instead of an evaluated history and forecast (Z42); many registries do."})
		}
		if (askedProfile == ProfileZ44 || r.Profile == "Z42") && len(r.Forecast) == 0 {
			out = append(out, Check{ID: CheckForecastMissing,
				Text: "The registry sent no forecast for this patient."})
		}
		if r.Patient.RegistryID == "" {
			out = append(out, Check{ID: CheckNoRegistryID,
				Text: "The registry sent no ID of its own for this patient, so the chart cannot be linked to the registry's record."})
		}
	}
	if asked != nil && asked.ControlID != "" && r.ControlID != "" && r.ControlID != asked.ControlID {
		out = append(out, Check{ID: CheckControlIDMismatch,
			Text: "The answer's control ID (MSA-2) is not the query's; it may answer another query."})
	}
	return out
}

// disagree names the matching fields that differ between the asked and the
// returned patient; a field empty on either side is not compared.
func disagree(asked, got chart.Demographics) []string {
	var out []string
	for _, f := range []struct {
		name string
		a, b string
	}{
		{"family name", letters(asked.Family), letters(got.Family)},
		{"given name", letters(asked.Given), letters(got.Given)},
		{"birth date", date8(asked.BirthDate), date8(got.BirthDate)},
		{"sex", upper(asked.Sex), upper(got.Sex)},
	} {
		if f.a != "" && f.b != "" && f.a != f.b {
			out = append(out, f.name)
		}
	}
	return out
}

// letters upper-cases s and keeps only its letters and digits, so that
// "O'Brien" and "OBRIEN" compare equal.
func letters(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	profileShape = regexp.MustCompile(`^Z[0-9]{2}$`)
	codeShape    = regexp.MustCompile(`^[A-Z]{2}$`)
)

// summary builds Reason from codes and counts only. Values that do not
// have the shape of a code are left out, so nothing a registry wrote can
// reach it.
func summary(r *Response) string {
	var b strings.Builder
	if profileShape.MatchString(r.Profile) {
		b.WriteString(r.Profile + " ")
	}
	ack, qak := "-", "-"
	if codeShape.MatchString(r.ACKCode) {
		ack = r.ACKCode
	}
	if codeShape.MatchString(r.QAKStatus) {
		qak = r.QAKStatus
	}
	b.WriteString(ack + "/" + qak + ": " + string(r.Status) + ", " + string(r.Quality))
	var counts []string
	if r.Patient != nil {
		counts = append(counts, plural(len(r.Patient.Doses), "dose"), plural(len(r.Forecast), "forecast"))
	}
	if len(r.Candidates) > 0 {
		counts = append(counts, plural(len(r.Candidates), "candidate"))
	}
	if len(r.Errors) > 0 {
		counts = append(counts, plural(len(r.Errors), "error"))
	}
	if len(counts) > 0 {
		b.WriteString("; " + strings.Join(counts, ", "))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
