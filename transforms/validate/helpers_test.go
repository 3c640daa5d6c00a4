package validate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// testNow is the clock of every test: 2025-01-01 noon UTC.
var testNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// newTestValidator builds a validator on testNow with severities.
func newTestValidator(t testing.TB, severities map[string]Severity) *Validator {
	t.Helper()
	v, err := New(Config{Severities: severities, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// zztestVXU is a conformant VXU for the fictional patient ZZTEST, using
// the canary markers (name ZZTEST…, DOB 20200101, MRN PAT123): one
// administered DTaP with its VFC eligibility.
var zztestVXU = strings.Join([]string{
	`MSH|^~\&|ZZEHR|ZZCLINIC|ZZIIS|ZZSTATE|20241231120000-0500||VXU^V04^VXU_V04|ZZ-0001|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS|ZZCLINIC|ZZSTATE`,
	`PID|1||PAT123^^^ZZCLINIC^MR||ZZTEST^ALPHA^^^^^L|ZZTEST^MOTHER^^^^^M|20200101|F||2106-3^White^CDCREC|1 ZZTEST St^^Springfield^IL^62701^USA^P||^PRN^PH^^^555^5550100`,
	`ORC|RE|ZZ-0001-1^ZZCLINIC|ZZ-0001-F1^ZZCLINIC`,
	`RXA|0|1|20240601||20^DTaP^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||LOT1|20271231|PMC^Sanofi Pasteur^MVX|||CP|A`,
	`RXR|C28161^Intramuscular^NCIT|RT^Right Thigh^HL70163`,
	`OBX|1|CE|64994-7^Vaccine Funding Program Eligibility^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F|||20240601|||VXC40^per immunization^CDCPHINVS`,
}, "\r") + "\r"

// zztestQBP is a conformant Z44 query for ZZTEST.
var zztestQBP = strings.Join([]string{
	`MSH|^~\&|ZZEHR|ZZCLINIC|ZZIIS|ZZSTATE|20241231120000-0500||QBP^Q11^QBP_Q11|ZZ-Q001|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS`,
	`QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|ZZ-Q001|PAT123^^^ZZCLINIC^MR|ZZTEST^ALPHA^^^^^L|ZZTEST^MOTHER^^^^^M|20200101|F`,
	`RCP|I|1^RD&Records&HL70126`,
}, "\r") + "\r"

func mustParse(t testing.TB, s string) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleFiles lists the messages of dir and its sub-directories.
func sampleFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hl7") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
