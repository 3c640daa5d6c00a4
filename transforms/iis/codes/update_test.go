package codes

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// CDC's own files (copied from ../shared/testdata/codes/cdc-raw, see
// testdata/cdc/SOURCES.md) parse into the tables this package embeds.
func TestParseCDC(t *testing.T) {
	for _, tc := range []struct {
		file, name string
		min        int
	}{
		{"cvx.xml", FileCVX, 250},
		{"mvx.xml", FileMVX, 80},
		{"vac2vg.xml", FileVaccineGroups, 200},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/cdc/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			name, tsv, n, err := ParseCDC(data)
			if err != nil || name != tc.name || n < tc.min {
				t.Fatalf("ParseCDC: %s, %d rows, %v; want %s with at least %d", name, n, err, tc.name, tc.min)
			}
			if bytes.Contains(tsv, []byte("\r")) || strings.Count(string(tsv), "\n") != n+1 {
				t.Errorf("%d lines for %d rows", strings.Count(string(tsv), "\n"), n)
			}
		})
	}
	for _, bad := range []string{"not xml", "<Other><x/></Other>", "<CVXCodes></CVXCodes>",
		"<CVXCodes><CVXInfo><CVXCode>1</CVXCode></CVXInfo><CVXInfo><CVXCode>1</CVXCode></CVXInfo></CVXCodes>"} {
		if _, _, _, err := ParseCDC([]byte(bad)); err == nil {
			t.Errorf("ParseCDC(%q) accepted", bad)
		}
	}
}

// Override swaps the tables in use; Compare says what a new table changes.
// (It restores the embedded tables at the end.)
func TestOverrideAndCompare(t *testing.T) {
	t.Cleanup(func() {
		if err := Override(nil); err != nil {
			t.Fatal(err)
		}
	})
	cvx, err := os.ReadFile("testdata/cdc/cvx.xml")
	if err != nil {
		t.Fatal(err)
	}
	_, tsv, _, err := ParseCDC(cvx)
	if err != nil {
		t.Fatal(err)
	}
	// A new code and a retired one, as a CDC update brings.
	edited := strings.Replace(string(tsv), "\n", "\n999001\tZztest vaccine\tZztest vaccine, full\tActive\t11/25/2026\t\t\t\n", 1)
	edited = strings.Replace(edited, "\t08\t", "\t08\t", 1)
	changes, err := Compare(FileCVX, []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	if !containsChange(changes, "999001", "added") {
		t.Errorf("changes %v lack 999001 added", changes)
	}
	if _, ok := LookupCVX("999001"); ok {
		t.Fatal("999001 known before the override")
	}
	if err := Override(map[string][]byte{FileCVX: []byte(edited)}); err != nil {
		t.Fatal(err)
	}
	if c, ok := LookupCVX("999001"); !ok || c.Status != "Active" {
		t.Errorf("after the override: %+v %v", c, ok)
	}
	if g := Groups("08"); len(g) == 0 {
		t.Error("vaccine groups lost by the override")
	}
	if err := Override(map[string][]byte{FileCVX: []byte("cvx\tshort\n")}); err == nil {
		t.Error("an empty CVX table was installed")
	}
	if _, ok := LookupCVX("999001"); !ok {
		t.Error("a failed override changed the tables")
	}
	if err := Override(map[string][]byte{"ndc_cvx.tsv": nil}); err == nil {
		t.Error("a table that is not updatable was accepted")
	}
}

func containsChange(cs []Change, code, what string) bool {
	for _, c := range cs {
		if c.Code == code && c.What == what {
			return true
		}
	}
	return false
}
