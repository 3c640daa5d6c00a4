package codes

import (
	"slices"
	"sync"
	"testing"
)

func TestLookupCVX(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		ok         bool
		want       string // CVX.Code
		status     string
		groups     []string
		nonVaccine bool
	}{
		{"leading zero", "08", true, "08", "Active", []string{"HepB"}, false},
		{"no leading zero", "8", true, "08", "Active", []string{"HepB"}, false},
		{"extra zeros and spaces", " 008 ", true, "08", "Active", []string{"HepB"}, false},
		{"HepB unspecified", "45", true, "45", "Inactive", []string{"HepB"}, false},
		{"MMR", "3", true, "03", "Active", []string{"MMR"}, false},
		{"combination DTaP-HepB-IPV", "110", true, "110", "Active", []string{"DTAP", "HepB", "POLIO"}, false},
		{"MMRV", "94", true, "94", "Active", []string{"MMR", "VARICELLA"}, false},
		{"never active", "61", true, "61", "Never Active", nil, false},
		{"immune globulin", "86", true, "86", "Active", nil, true},
		{"no vaccine administered", "998", true, "998", "Inactive", nil, true},
		{"unknown placeholder", "999", true, "999", "Inactive", nil, true},
		{"unknown code", "9999", false, "", "", nil, false},
		{"empty", "", false, "", "", nil, false},
		{"NDC is not a CVX", "49281-0560-05", false, "", "", nil, false},
		{"letters", "ABC", false, "", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := LookupCVX(tc.code)
			if ok != tc.ok {
				t.Fatalf("LookupCVX(%q) ok = %v, want %v", tc.code, ok, tc.ok)
			}
			if !ok {
				return
			}
			if c.Code != tc.want || c.Status != tc.status || c.NonVaccine != tc.nonVaccine {
				t.Errorf("LookupCVX(%q) = %q %q nonVaccine=%v, want %q %q %v", tc.code, c.Code, c.Status, c.NonVaccine, tc.want, tc.status, tc.nonVaccine)
			}
			if !slices.Equal(c.Groups, tc.groups) {
				t.Errorf("LookupCVX(%q).Groups = %v, want %v", tc.code, c.Groups, tc.groups)
			}
			if c.Short == "" || c.Full == "" {
				t.Errorf("LookupCVX(%q) has empty names", tc.code)
			}
		})
	}
}

func TestLookupCVXReturnsCopies(t *testing.T) {
	c, _ := LookupCVX("110")
	c.Groups[0] = "CHANGED"
	if again, _ := LookupCVX("110"); again.Groups[0] != "DTAP" {
		t.Fatalf("caller's edit leaked into the table: %v", again.Groups)
	}
	g := Groups("110")
	g[0] = "CHANGED"
	if Groups("110")[0] != "DTAP" {
		t.Fatal("Groups returned the table's slice")
	}
}

func TestGroupsAndSameGroup(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"45 and 08 are both HepB", "45", "08", true},
		{"45 and 8 are both HepB", "45", "8", true},
		{"110 contains IPV", "110", "10", true},
		{"MMRV and varicella", "94", "21", true},
		{"MMR and varicella differ", "03", "21", false},
		{"unknown never matches", "9999", "08", false},
		{"non-vaccine has no group", "86", "86", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SameGroup(tc.a, tc.b); got != tc.same {
				t.Errorf("SameGroup(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
			}
		})
	}
	if g := Groups("45"); !slices.Equal(g, Groups("08")) || !slices.Equal(g, []string{"HepB"}) {
		t.Errorf("Groups(45) = %v, Groups(08) = %v; want both [HepB]", g, Groups("08"))
	}
	if g := Groups("nope"); len(g) != 0 {
		t.Errorf("Groups(unknown) = %v, want empty", g)
	}
}

func TestCVXInGroup(t *testing.T) {
	tests := []struct {
		group   string
		contain []string
		absent  []string
	}{
		{"HepB", []string{"08", "45", "110", "44"}, []string{"03", "10"}},
		{"hepb", []string{"08", "45"}, nil},
		{"MMR", []string{"03", "94"}, []string{"21"}},
		{"VARICELLA", []string{"21", "94"}, []string{"03"}},
		{"POLIO", []string{"10", "89", "110"}, nil},
		{"FLU", []string{"88", "140", "150"}, nil},
		{"NoSuchGroup", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			got := CVXInGroup(tc.group)
			if tc.contain == nil && len(got) != 0 {
				t.Fatalf("CVXInGroup(%q) = %v, want none", tc.group, got)
			}
			for _, c := range tc.contain {
				if !slices.Contains(got, c) {
					t.Errorf("CVXInGroup(%q) lacks %s: %v", tc.group, c, got)
				}
			}
			for _, c := range tc.absent {
				if slices.Contains(got, c) {
					t.Errorf("CVXInGroup(%q) has %s", tc.group, c)
				}
			}
			for _, c := range got {
				if !slices.ContainsFunc(Groups(c), func(g string) bool { return equalFold(g, tc.group) }) {
					t.Errorf("CVXInGroup(%q) lists %s whose groups are %v", tc.group, c, Groups(c))
				}
			}
		})
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func TestGroupCVX(t *testing.T) {
	tests := []struct{ group, cvx, name string }{
		{"HepB", "45", "HepB"},
		{"dtap", "107", "DTAP"},
		{"POLIO", "89", "POLIO"},
		{"HIB", "17", "HIB"},
		{"PneumoPCV", "152", "PneumoPCV"},
		{"ROTAVIRUS", "122", "ROTAVIRUS"},
		{"MMR", "03", "MMR"},
		{"VARICELLA", "21", "VARICELLA"},
		{"HepA", "85", "HepA"},
		{"FLU", "88", "FLU"},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			cvx, name, ok := GroupCVX(tc.group)
			if !ok || cvx != tc.cvx || name != tc.name {
				t.Errorf("GroupCVX(%q) = %q %q %v, want %q %q", tc.group, cvx, name, ok, tc.cvx, tc.name)
			}
		})
	}
	if _, _, ok := GroupCVX("nope"); ok {
		t.Error("GroupCVX(unknown) ok")
	}
}

func TestLookupMVX(t *testing.T) {
	tests := []struct {
		code, want, status string
		ok                 bool
	}{
		{"PMC", "PMC", "Active", true},
		{"pmc", "PMC", "Active", true},
		{" Msd ", "MSD", "Active", true},
		{"AB", "AB", "Inactive", true},
		{"ZZZ", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			m, ok := LookupMVX(tc.code)
			if ok != tc.ok || m.Code != tc.want || m.Status != tc.status {
				t.Fatalf("LookupMVX(%q) = %+v %v, want %q %q %v", tc.code, m, ok, tc.want, tc.status, tc.ok)
			}
			if ok && m.Name == "" {
				t.Errorf("LookupMVX(%q) has no name", tc.code)
			}
		})
	}
}

func TestLookupNDC(t *testing.T) {
	tests := []struct {
		ndc, cvx string
		ok       bool
	}{
		{"49281-0560-05", "120", true}, // Pentacel, unit of use
		{"49281056005", "120", true},
		{"00006-4047-20", "116", true}, // RotaTeq, unit of sale
		{"0006-4681-00", "03", true},   // 4-4-2 padded to 5-4-2
		{"58160-0820-11", "08", true},
		{"00000-0000-00", "", false},
		{"4928105600", "", false}, // 10 digits without hyphens is ambiguous
		{"abc", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.ndc, func(t *testing.T) {
			cvx, ok := LookupNDC(tc.ndc)
			if ok != tc.ok || cvx != tc.cvx {
				t.Fatalf("LookupNDC(%q) = %q %v, want %q %v", tc.ndc, cvx, ok, tc.cvx, tc.ok)
			}
			if ok {
				if _, known := LookupCVX(cvx); !known {
					t.Errorf("LookupNDC(%q) gives CVX %s, which is not in the CVX table", tc.ndc, cvx)
				}
			}
		})
	}
}

func TestTableText(t *testing.T) {
	tests := []struct {
		table, code, want string
		ok                bool
	}{
		{"HL70357", "103", "Table value not found", true},
		{"hl70357", "101", "Required field missing", true},
		{"HL70533", "5", "Table value not found", true},
		{"HL70533", "7", "Required data missing", true},
		{"NIP001", "00", "New immunization record", true},
		{"NIP001", "01", "Historical information - source unspecified", true},
		{"NIP002", "00", "Parental decision", true},
		{"HL70322", "RE", "Refused", true},
		{"HL70323", "D", "Delete", true},
		{"HL70208", "TM", "Too many candidates found", true},
		{"HL70516", "W", "Warning", true},
		{"HL70064", "V02", "VFC eligible - Medicaid/Medicaid Managed Care", true},
		{"HL70163", "LT", "Left Thigh", true},
		{"NCIT", "C28161", "Intramuscular", true},
		{"NIP003", "64994-7", "Vaccine funding program eligibility category", true},
		{"HL70357", "12345", "", false},
		{"NOPE", "1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.table+"/"+tc.code, func(t *testing.T) {
			got, ok := TableText(tc.table, tc.code)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("TableText(%q, %q) = %q %v, want %q %v", tc.table, tc.code, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestTablesLoad pins the sizes of the embedded tables, so that a truncated
// or mis-copied data file fails here rather than as a mysterious miss.
func TestTablesLoad(t *testing.T) {
	tb := load()
	if n := len(tb.cvx); n != 288 {
		t.Errorf("CVX entries = %d, want 288", n)
	}
	if n := len(tb.mvx); n != 89 {
		t.Errorf("MVX entries = %d, want 89", n)
	}
	if n := len(tb.ndc); n < 1000 {
		t.Errorf("NDC entries = %d, want at least 1000", n)
	}
	for name := range textFiles {
		if len(tb.text[name]) == 0 {
			t.Errorf("table %s is empty", name)
		}
	}
	// Every group member is a known CVX and every non-vaccine has no group.
	for g, members := range tb.groups {
		for _, c := range members {
			if _, ok := LookupCVX(c); !ok {
				t.Errorf("group %s lists unknown CVX %s", g, c)
			}
		}
	}
	for _, c := range tb.cvx {
		if c.NonVaccine && len(c.Groups) > 0 {
			t.Errorf("non-vaccine %s has groups %v", c.Code, c.Groups)
		}
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, ok := LookupCVX("08"); !ok {
				t.Error("LookupCVX(08) failed")
			}
			_ = CVXInGroup("HepB")
		})
	}
	wg.Wait()
}

func BenchmarkLookupCVX(b *testing.B) {
	keys := []string{"08", "8", "110", "03", "141", "9999"}
	LookupCVX("08") // load outside the timer
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = LookupCVX(keys[i%len(keys)])
		i++
	}
}

func TestCVXCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"8", "08", true}, {"08", "08", true}, {" 110 ", "110", true}, {"9999", "", false}, {"", "", false}} {
		if got, ok := CVXCode(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("CVXCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
