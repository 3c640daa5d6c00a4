package sandbox

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// testNow is the fixed clock of every test: 15 June 2025, 10:30 EST.
var testNow = time.Date(2025, 6, 15, 10, 30, 0, 0, time.FixedZone("EST", -5*3600))

func fixedClock() time.Time { return testNow }

func newTestIIS(cfg Config) *IIS {
	if cfg.Now == nil {
		cfg.Now = fixedClock
	}
	return New(cfg)
}

// Test patients use the canary markers of STYLE.md §7: ZZTEST names, DOB
// 20200101, MRN PAT123.
const baseVXU = "MSH|^~\\&|ZZEHR|ZZCLINIC|IISSANDBOX|IISSANDBOX|20250615103000-0500||VXU^V04^VXU_V04|ZZ-0001|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^ZZCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN^Q^^^^L|ZZTESTMOTHER^^^^^^M|20200101|F||2106-3^White^CDCREC|1 ZZTEST Street^^Bozeman^MT^59715^USA^P||^PRN^PH^^^406^5550100\r" +
	"ORC|RE|P-1^ZZCLINIC|F-1^ZZCLINIC\r" +
	"RXA|0|1|20200301||20^DTaP^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001||||||LOT1||PMC^Sanofi Pasteur^MVX|||CP|A\r" +
	"RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163\r" +
	"OBX|1|CE|64994-7^Vaccine funding program eligibility^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F|||20200301|||VXC40^per immunization^CDCPHINVS\r" +
	"ORC|RE||F-2^ZZCLINIC\r" +
	"RXA|0|1|20200101||08^Hep B peds^CVX|999|||01^Historical^NIP001|||||||||||CP|A\r"

const baseQBP = "MSH|^~\\&|ZZEHR|ZZCLINIC|IISSANDBOX|IISSANDBOX|20250615103000-0500||QBP^Q11^QBP_Q11|ZZ-Q-0001|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
	"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|ZZTAG1|PAT123^^^ZZCLINIC^MR|ZZTESTFAMILY^ZZTESTGIVEN^Q^^^^L|ZZTESTMOTHER^^^^^^M|20200101|F\r" +
	"RCP|I|5^RD&Records&HL70126\r"

// edit changes one element of a message (SetRaw: the value is in wire
// form) or, with del, removes the
// n-th segment named by path.
type edit struct {
	path, value string
	del         int
}

func set(path, value string) edit { return edit{path: path, value: value} }
func del(seg string, n int) edit  { return edit{path: seg, del: n} }
func apply(t testing.TB, raw string, edits ...edit) []byte {
	t.Helper()
	m, err := hl7.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("parse base message: %v", err)
	}
	for _, e := range edits {
		if e.del > 0 {
			m, err = m.DeleteSegment(e.path, e.del)
		} else {
			m, err = m.SetRaw(e.path, e.value)
		}
		if err != nil {
			t.Fatalf("edit %s: %v", e.path, err)
		}
	}
	return slices.Clone(m.Encode())
}

// submit sends msg with no credentials and returns the reply, failing the
// test on any other outcome.
func submit(t testing.TB, s *IIS, msg []byte) []byte {
	t.Helper()
	resp := s.Submit(context.Background(), Request{Message: msg})
	if resp.Outcome != Reply {
		t.Fatalf("outcome %v (%s), want reply", resp.Outcome, resp.FaultText)
	}
	if _, err := hl7.Parse(resp.Message); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return resp.Message
}

// wantErr is an expected ERR, by position and codes.
type wantErr struct {
	loc, code, sev, app string
}

func errsOf(c iis.Classification) []wantErr {
	var out []wantErr
	for _, e := range c.Errors {
		out = append(out, wantErr{e.Location, e.Code, e.Severity, e.AppCode})
	}
	return out
}

// lines returns the reply's segments as text lines, for messages in test
// failures (synthetic data only).
func lines(b []byte) string {
	return strings.ReplaceAll(strings.TrimRight(string(b), "\r"), "\r", "\n")
}

// value returns a path of a reply.
func value(t testing.TB, reply []byte, path string) string {
	t.Helper()
	m, err := hl7.Parse(reply)
	if err != nil {
		t.Fatalf("parse reply: %v", err)
	}
	return m.Value(path)
}

// segmentNames lists the reply's segment IDs.
func segmentNames(t testing.TB, reply []byte) []string {
	t.Helper()
	m, err := hl7.Parse(reply)
	if err != nil {
		t.Fatalf("parse reply: %v", err)
	}
	var out []string
	for seg := range m.Segments() {
		out = append(out, seg.Name())
	}
	return out
}

// obxValues returns OBX-5 of every OBX of the reply whose OBX-3.1 is id.
func obxValues(t testing.TB, reply []byte, id string) []string {
	t.Helper()
	m, err := hl7.Parse(reply)
	if err != nil {
		t.Fatalf("parse reply: %v", err)
	}
	var out []string
	for seg := range m.SegmentsNamed("OBX") {
		if seg.Field(3).Component(1).String() == id {
			out = append(out, seg.Field(5).String())
		}
	}
	return out
}
