package mapping

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestFoldASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"SMITH", "SMITH"},
		{"José Muñoz", "Jose Munoz"},
		{"ÀÁÂÃÄÅ àáâãäå", "AAAAAA aaaaaa"},
		{"Çç Ðð Ññ Ýýÿ", "Cc Dd Nn Yyy"},
		{"Ø ø Œ œ Æ æ", "O o OE oe AE ae"},
		{"Straße Þór", "Strasse THor"},
		{"Łódź Gdańsk Kraków", "Lodz Gdansk Krakow"},
		{"Dvořák Šťastný Žižka", "Dvorak Stastny Zizka"},
		{"Ĳsselmeer ĳs", "IJsselmeer ijs"},
		{"Ğğ İı Şş", "Gg Ii Ss"},
		{"Ŀl ĸ ŉ ſ", "Ll k n s"},
		{"Zoe\u0308 Jose\u0301", "Zoe Jose"}, // decomposed accents
		{"O’Brien “Jr” – x…", "O'Brien \"Jr\" - x..."},
		{"a\u00a0b\u00adc", "a bc"},
		{"× ÷", "x /"},
		{"Ωμέγα 東京 €", "Ωμέγα 東京 €"}, // not Latin: kept
	}
	for _, tc := range tests {
		if got := foldASCII(tc.in); got != tc.want {
			t.Errorf("foldASCII(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFoldTables checks every entry of the two Latin tables: the result is
// ASCII letters (or ×, ÷) and keeps the letter's case.
func TestFoldTables(t *testing.T) {
	for r := rune(0xC0); r <= 0x17F; r++ {
		f, ok := foldRune(r)
		if !ok || f == "" {
			t.Errorf("%U %c has no folding", r, r)
			continue
		}
		for _, c := range f {
			if c >= utf8.RuneSelf {
				t.Errorf("%U %c folds to non-ASCII %q", r, r, f)
			}
		}
		if r == 0xD7 || r == 0xF7 {
			continue
		}
		first, _ := utf8.DecodeRuneInString(f)
		if unicode.IsUpper(r) != unicode.IsUpper(first) || !unicode.IsLetter(first) {
			t.Errorf("%U %c folds to %q: case or letter lost", r, r, f)
		}
	}
	if s := "plain ASCII"; foldASCII(s) != s {
		t.Error("ASCII changed")
	}
	if n := testing.AllocsPerRun(100, func() { foldASCII("ALREADY ASCII NAME") }); n != 0 {
		t.Errorf("ASCII input allocates %v times", n)
	}
}
