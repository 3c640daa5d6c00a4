package hl7

import "testing"

func TestEscape(t *testing.T) {
	odd := Delimiters{'*', '%', '$', '#', '!', 0}
	trunc := Delimiters{'|', '^', '~', '\\', '&', '#'}
	three := Delimiters{'|', '^', '~', '\\', 0, 0}
	tests := []struct {
		name string
		d    Delimiters
		in   string
		want string
	}{
		{"plain", Standard, "ZZTEST CHILD", "ZZTEST CHILD"},
		{"empty", Standard, "", ""},
		{"all delimiters", Standard, `a|b^c~d\e&f`, `a\F\b\S\c\R\d\E\e\T\f`},
		{"line breaks and framing", Standard, "a\rb\nc\x0bd\x1ce", `a\X0D\b\X0A\c\X0B\d\X1C\e`},
		{"non-standard", odd, "a*b%c$d#e!f|^~\\&", "a#F#b#S#c#R#d#E#e#T#f|^~\\&"},
		{"truncation", trunc, "a#b", `a\P\b`},
		{"no sub-component", three, "a&b", "a&b"},
		{"NUL kept", three, "a\x00b", "a\x00b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in, tc.d); got != tc.want {
				t.Errorf("Escape = %q, want %q", got, tc.want)
			}
			if got := Unescape(tc.want, tc.d); got != tc.in {
				t.Errorf("Unescape = %q, want %q", got, tc.in)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	three := Delimiters{'|', '^', '~', '\\', 0, 0}
	tests := []struct {
		name string
		d    Delimiters
		in   string
		want string
	}{
		{"delimiters", Standard, `\F\\S\\R\\E\\T\`, `|^~\&`},
		{"hex", Standard, `\X48692C\ \x41\ \X4\ \X\ \Xzz\`, `Hi, \x41\ \X4\ \X\ \Xzz\`},
		{"formatting kept", Standard, `a\.br\b\.sp2\\.in+4\\.ti-1\\.sk3\\.ce\\.fi\\.nf\`, `a\.br\b\.sp2\\.in+4\\.ti-1\\.sk3\\.ce\\.fi\\.nf\`},
		{"highlight and charsets kept", Standard, `\H\x\N\ \Zabc\ \C2842\ \M244241\`, `\H\x\N\ \Zabc\ \C2842\ \M244241\`},
		{"unknown kept", Standard, `\Q\ \FF\`, `\Q\ \FF\`},
		{"lone escape", Standard, `a \ b`, `a \ b`},
		{"trailing escape", Standard, `ab\`, `ab\`},
		{"unterminated after sequence", Standard, `\F\x\S`, `|x\S`},
		{"empty sequence", Standard, `a\\b`, `a\\b`},
		{"P without truncation", Standard, `\P\`, `\P\`},
		{"T without sub-component", three, `\T\`, `\T\`},
		{"no escape char", Delimiters{}, `\F\`, `\F\`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unescape(tc.in, tc.d); got != tc.want {
				t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := decode([]byte(tc.in), tc.d); got != tc.want {
				t.Errorf("decode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
