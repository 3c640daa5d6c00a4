package sandbox

import (
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

func TestStandardize(t *testing.T) {
	odd := hl7.Delimiters{Field: '#', Component: '!', Repetition: '$', Escape: '@', SubComponent: '%'}
	noSub := hl7.Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\'}
	tests := []struct {
		name string
		raw  string
		d    hl7.Delimiters
		want string
	}{
		{"standard is kept", `a^b~c&d\F\e`, hl7.Standard, `a^b~c&d\F\e`},
		{"odd delimiters", `a!b$c%d`, odd, `a^b~c&d`},
		{"escape sequences keep their letter", `x@F@y@X0D@z`, odd, `x\F\y\X0D\z`},
		{"standard delimiters as data are escaped", `1|2^3~4&5\6`, odd, `1\F\2\S\3\R\4\T\5\E\6`},
		{"lone escape", `a@b`, odd, `a\E\b`},
		{"no sub-component delimiter", `R&D^x`, noSub, `R\T\D^x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := standardize([]byte(tc.raw), tc.d); got != tc.want {
				t.Errorf("standardize(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}
