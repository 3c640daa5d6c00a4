package sandbox

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/transforms/iis"
)

// normalise blanks the parts of a reply that change from run to run in
// real use: MSH-7 and MSH-10 (and the batch headers' time and control ID).
var (
	reMSH = regexp.MustCompile(`(?m)^(MSH\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|)[^|]*(\|[^|]*\|[^|]*\|)[^|]*`)
	reBHS = regexp.MustCompile(`(?m)^([FB]HS\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|)[^|]*(\|[^|]*\|[^|]*\|[^|]*\|)[^|\r\n]*`)
)

func normalise(reply []byte) []byte {
	s := strings.ReplaceAll(string(reply), "\r", "\n")
	s = reMSH.ReplaceAllString(s, "${1}<MSH-7>${2}<MSH-10>")
	s = reBHS.ReplaceAllString(s, "${1}<TIME>${2}<CONTROL>")
	return []byte(s)
}

// checkGolden compares got with testdata/golden/name.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), got)
}

// sampleVerdicts pins how each shared VXU sample is acknowledged. The
// samples are submitted in this (file name) order to one registry, so the
// ONC 2015 delete (AD-4.1) and update (AD-6.1) find the doses AD-3.1 and
// AD-5.1 added; the HIMSS delete goes after the history it deletes from.
var sampleVerdicts = map[string]iis.Verdict{
	"nist-contextfree/vxu_z22_example.hl7":                                  iis.Accepted,
	"nist-himss-iip-v7/vxu_z22_TG3_marina_delete_bad_lot.hl7":               iis.Accepted,
	"nist-himss-iip-v7/vxu_z22_TG3_marina_history_evidence_of_immunity.hl7": iis.Rejected, // four doses dated before birth
	"nist-himss-iip-v7/vxu_z22_TG4_gonzales_contraindication_NA.hl7":        iis.Accepted,
	"nist-onc2015/vxu_z22_AD-1.1_multi_rxa_ndc_plus_historical.hl7":         iis.Accepted,
	"nist-onc2015/vxu_z22_AD-10.1_historical_pcv.hl7":                       iis.Accepted,
	"nist-onc2015/vxu_z22_AD-2.1_adult_td_plus_historical_flu.hl7":          iis.Accepted,
	"nist-onc2015/vxu_z22_AD-3.1_hpv9_underinsured.hl7":                     iis.Accepted,
	"nist-onc2015/vxu_z22_AD-4.1_delete_RXA21_D.hl7":                        iis.Accepted,
	"nist-onc2015/vxu_z22_AD-5.1_refusal_RE_NIP002.hl7":                     iis.Accepted,
	"nist-onc2015/vxu_z22_AD-6.1_update_RXA21_U.hl7":                        iis.Accepted,
	"nist-onc2015/vxu_z22_AD-7.1_historical_zoster_only.hl7":                iis.Accepted,
	"nist-onc2015/vxu_z22_AD-8.1_OIDs_everywhere.hl7":                       iis.Accepted,
	"nist-onc2015/vxu_z22_AD-9.1_two_vaccines.hl7":                          iis.Accepted,
	"smm-misc/vxu_z22_aira_generated.hl7":                                   iis.Accepted,
	"smm-misc/vxu_z22_al_ndc_many_rxa.hl7":                                  iis.Accepted,
}

// TestGoldenVXUSamples submits every VXU sample of the repository's
// testdata and compares each ACK (MSH-7/MSH-10 normalised) and, at the end,
// the registry's contents with golden files.
func TestGoldenVXUSamples(t *testing.T) {
	files, err := filepath.Glob("../testdata/messages/*/vxu_*.hl7")
	if err != nil || len(files) == 0 {
		t.Fatalf("no VXU samples found: %v", err)
	}
	// Deletes go after the other samples of their folder, so that they
	// find the dose they delete (the ONC ones already do by name).
	slices.SortFunc(files, func(a, b string) int {
		da, db := filepath.Dir(a), filepath.Dir(b)
		if da != db {
			return strings.Compare(da, db)
		}
		xa, xb := strings.Contains(a, "delete_bad_lot"), strings.Contains(b, "delete_bad_lot")
		if xa != xb {
			if xa {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	s := newTestIIS(Config{})
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, "../testdata/messages/"))
		t.Run(rel, func(t *testing.T) {
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			reply := submit(t, s, msg)
			c := iis.Classify(reply)
			want, ok := sampleVerdicts[rel]
			if !ok {
				t.Errorf("no expected verdict for %s; got %s (%s)", rel, c.Verdict, c.Reason)
			} else if c.Verdict != want {
				t.Errorf("verdict %s (%s), want %s", c.Verdict, c.Reason, want)
			}
			checkGolden(t, strings.ReplaceAll(strings.TrimSuffix(rel, ".hl7"), "/", "__")+".ack", normalise(reply))
		})
	}
	golden.JSON(t, filepath.Join("testdata", "golden", "vxu_samples_registry.json"), s.Patients())
}

// TestGoldenQueries answers the shared query samples from a registry
// seeded with the patients they look for, and pins each RSP.
func TestGoldenQueries(t *testing.T) {
	s := newTestIIS(Config{Users: map[string]field.Secret{}})
	// QR-1.1 (Z44, MRN 171122 from NISTEHRFAC): the history of the NIST
	// expected answer QR-1.2, so the forecast has something to work on.
	s.Seed(Patient{
		MRNs: []string{"171122"}, Facility: "NISTEHRFAC",
		Family: "Fairchild", Given: "Cameron", Middle: "A", MotherMaiden: "Fairlady", Sex: "M", DOB: "20090214",
		Address: "105 Laurel Run Rd^^Bozeman^MT^^^P",
		Doses: []Dose{
			{CVX: "45", Date: "20090415", Source: "01"},
			{CVX: "48", Date: "20090314", Source: "01"},
			{CVX: "110", Date: "20091011", Source: "01"},
			{CVX: "08", Date: "20100411", Source: "01"},
			{CVX: "03", Date: "20100415", Source: "01"},
		},
	})
	// QR-4.1 asks for Smith James 20110905 M: two registry patients fit.
	for _, mother := range []string{"Jones", "Brown"} {
		s.Seed(Patient{Facility: "OTHERFAC", Family: "Smith", Given: "James", Sex: "M", DOB: "20110905", MotherMaiden: mother})
	}
	// The context-free Z34 and Z44 ask for Child Bobbie 20050512 M: two
	// fit, and neither mother's maiden name is the query's.
	for _, mother := range []string{"Jones", "Smith"} {
		s.Seed(Patient{Facility: "OTHERFAC", Family: "Child", Given: "Bobbie", Sex: "M", DOB: "20050512", MotherMaiden: mother})
	}
	// TG2 asks for Vazquez Juana 201311011105 F, without a sending
	// facility: found by name, birth date and sex. A few doses of the
	// HIMSS reconcile scenario, one refused and one deleted.
	s.Seed(Patient{
		MRNs: []string{"123456"}, Facility: "MYEHR",
		Family: "Vazquez", Given: "Juana", Middle: "Mariana", MotherMaiden: "Acosta", Sex: "F", DOB: "20131101",
		Doses: []Dose{
			{CVX: "08", Date: "20131101", Source: "00", Lot: "LOTA1", MVX: "MSD", Amount: "0.5", Route: "C28161", Site: "LT"},
			{CVX: "110", Date: "20140103", Source: "01"},
			{CVX: "116", Date: "20140103", Source: "01"},
			{CVX: "21", Date: "20141102", Refusal: true, RefusalReason: "00"},
			{CVX: "03", Date: "20140822", Source: "01", Deleted: true},
		},
	})
	tests := []struct {
		file    string
		profile string
		qak     string
	}{
		{"nist-onc2015/qbp_z44_QR-1.1.hl7", "Z42", "OK"},
		{"nist-onc2015/qbp_z44_QR-2.1.hl7", "Z33", "NF"},
		{"nist-onc2015/qbp_z44_QR-3.1_oids.hl7", "Z33", "NF"},
		{"nist-onc2015/qbp_z44_QR-4.1.hl7", "Z33", "TM"},
		{"nist-contextfree/qbp_z34_example.hl7", "Z31", "OK"},
		{"nist-contextfree/qbp_z44_example.hl7", "Z33", "TM"},
		{"nist-himss-iip-v7/qbp_z44_TG2_vazquez.hl7", "Z42", "OK"},
		{"smm-misc/qbp_z44_populated_from_vxu.hl7", "Z33", "NF"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join("../testdata/messages", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			reply := submit(t, s, msg)
			if got := value(t, reply, "MSH-21.1"); got != tc.profile {
				t.Errorf("profile %s, want %s\n%s", got, tc.profile, lines(reply))
			}
			if got := value(t, reply, "QAK-2"); got != tc.qak {
				t.Errorf("QAK-2 %s, want %s", got, tc.qak)
			}
			if c := iis.Classify(reply); c.Verdict != iis.Accepted {
				t.Errorf("verdict %s (%s), want accepted", c.Verdict, c.Reason)
			}
			checkGolden(t, strings.ReplaceAll(strings.TrimSuffix(tc.file, ".hl7"), "/", "__")+".rsp", normalise(reply))
		})
	}
}

// TestGoldenSynthetic pins the full text of replies to our own ZZTEST
// messages for the main outcomes, behaviours included.
func TestGoldenSynthetic(t *testing.T) {
	tests := []struct {
		name string
		b    Behaviour
		msg  []byte
	}{
		{"ack_aa", Behaviour{}, []byte(baseVXU)},
		{"ack_aa_warnings", Behaviour{}, apply(t, baseVXU, set("PID-11", ""), set("RXA-17", "ZZZ^Nobody^MVX"), del("OBX", 1))},
		{"ack_ae_warnings_as_ae", Behaviour{WarningsAsAE: true}, apply(t, baseVXU, set("PID-11", ""))},
		{"ack_ae_dose_errors", Behaviour{}, apply(t, baseVXU, set("RXA-3", "20250701"), set("RXA[2]-5", "9876^Unknown^CVX"))},
		{"ack_ar_patient_errors", Behaviour{}, apply(t, baseVXU, set("PID-3", ""), set("PID-5", ""), set("PID-7", "2020"), set("PID-8", ""))},
		{"ack_ar_unparseable", Behaviour{}, []byte("MSH|^~\\&|ZZEHR|ZZCLINIC|||20250615||VXU^V04^VXU_V04|ZZ-1|P|2.5.1\rpid|1\r")},
		{"ack_ar_unsupported_type", Behaviour{}, []byte(strings.Replace(baseVXU, "VXU^V04^VXU_V04", "ADT^A04^ADT_A01", 1))},
		{"ack_batch", Behaviour{BatchWrap: true}, []byte(baseVXU)},
		{"rsp_z32", Behaviour{}, apply(t, baseQBP, set("QPD-1", "Z34^Request Immunization History^CDCPHINVS"))},
		{"rsp_z32_for_z44", Behaviour{Z32ForZ44: true}, []byte(baseQBP)},
		{"rsp_z42", Behaviour{}, []byte(baseQBP)},
		{"rsp_z42_ae_with_data", Behaviour{AEWithData: true}, []byte(baseQBP)},
		{"rsp_z42_batch", Behaviour{BatchWrap: true}, []byte(baseQBP)},
		{"rsp_z31", Behaviour{}, apply(t, baseQBP, append([]edit{set("QPD-1", "Z34^Request Immunization History^CDCPHINVS")}, twin...)...)},
		{"rsp_z33_tm", Behaviour{}, apply(t, baseQBP, twin...)},
		{"rsp_z33_nf", Behaviour{}, apply(t, baseQBP, set("QPD-3", ""), set("QPD-6", "20200102"))},
		{"rsp_z33_ae", Behaviour{}, apply(t, baseQBP, set("QPD-3", ""), set("QPD-6", ""))},
		{"rsp_z33_ar", Behaviour{}, apply(t, baseQBP, set("QPD-1", "Z99^Nonsense^CDCPHINVS"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := queryRegistry(t)
			s.cfg.Behaviours = map[string]Behaviour{"ZZCLINIC": tc.b}
			checkGolden(t, "zztest_"+tc.name+".hl7", normalise(submit(t, s, tc.msg)))
		})
	}
}
