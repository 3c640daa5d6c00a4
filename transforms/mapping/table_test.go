package mapping

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseTableCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		err  string
	}{
		{"header", "from,to\n08,45\n20,107\n", map[string]string{"08": "45", "20": "107"}, ""},
		{"no header", "08,45\r\n20,107", map[string]string{"08": "45", "20": "107"}, ""},
		{"comments blanks spaces", "# local CVX → CDC CVX\n\nfrom , to\n 08 , 45 \n# retired\n\n20,107\n", map[string]string{"08": "45", "20": "107"}, ""},
		{"quoted", "from,to\n\"Hep B, adult\",\"HepB \"\"adult\"\"\"\n", map[string]string{"Hep B, adult": `HepB "adult"`}, ""},
		{"byte order mark", "\uFEFFfrom,to\nF,F\n", map[string]string{"F": "F"}, ""},
		{"empty from and to", "from,to\n,U\nX,\n", map[string]string{"": "U", "X": ""}, ""},
		{"header only once", "from,to\nfrom,to\n", map[string]string{"from": "to"}, ""},
		{"one column", "from,to\n08,45\n20\n", nil, "mapping: table csv: line 3: want 2 fields (from,to), got 1"},
		{"three columns", "08,45,x\n", nil, "mapping: table csv: line 1: want 2 fields (from,to), got 3"},
		{"duplicate", "from,to\n08,45\n# c\n08,46\n", nil, `mapping: table csv: line 4: from value "08" already on line 2`},
		{"bare quote", "from,to\n0\"8,45\n", nil, `mapping: table csv: line 2: bare " in non-quoted-field`},
		{"unterminated quote", "from,to\n\"08,45\n", nil, `mapping: table csv: line 2: extraneous or missing " in quoted-field`},
		{"empty", "", nil, "mapping: table csv: no rows"},
		{"header and comments only", "from,to\n# nothing yet\n", nil, "mapping: table csv: no rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTableCSV(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	boom := errors.New("disk on fire")
	if _, err := ParseTableCSV(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}
