package mapping

import (
	"strings"
	"unicode/utf8"
)

// foldASCII folds s to ASCII as the ascii step documents: accented Latin
// letters (Latin-1 Supplement and Latin Extended-A) lose their accents,
// ligatures and special letters are spelled out, combining accents are
// dropped and typographic punctuation becomes ASCII. Other characters are
// kept. An ASCII s is returned as it is, without allocating.
func foldASCII(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else if f, ok := foldRune(r); ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldRune returns the ASCII spelling of r, if the table has one.
func foldRune(r rune) (string, bool) {
	switch {
	case r >= 0xC0 && r <= 0xFF:
		return latin1Fold[r-0xC0], true
	case r >= 0x100 && r <= 0x17F:
		switch r {
		case 0x132:
			return "IJ", true
		case 0x133:
			return "ij", true
		case 0x152:
			return "OE", true
		case 0x153:
			return "oe", true
		}
		i := r - 0x100
		return latinExtAFold[i : i+1], true
	case r >= 0x300 && r <= 0x36F: // combining diacritical marks (decomposed accents)
		return "", true
	}
	f, ok := punctFold[r]
	return f, ok
}

// latin1Fold spells U+00C0..U+00FF (À..ÿ) in ASCII.
var latin1Fold = [64]string{
	"A", "A", "A", "A", "A", "A", "AE", "C", // À Á Â Ã Ä Å Æ Ç
	"E", "E", "E", "E", "I", "I", "I", "I", // È É Ê Ë Ì Í Î Ï
	"D", "N", "O", "O", "O", "O", "O", "x", // Ð Ñ Ò Ó Ô Õ Ö ×
	"O", "U", "U", "U", "U", "Y", "TH", "ss", // Ø Ù Ú Û Ü Ý Þ ß
	"a", "a", "a", "a", "a", "a", "ae", "c", // à á â ã ä å æ ç
	"e", "e", "e", "e", "i", "i", "i", "i", // è é ê ë ì í î ï
	"d", "n", "o", "o", "o", "o", "o", "/", // ð ñ ò ó ô õ ö ÷
	"o", "u", "u", "u", "u", "y", "th", "y", // ø ù ú û ü ý þ ÿ
}

// latinExtAFold spells U+0100..U+017F (Ā..ſ), one letter each; the four
// ligatures marked * (Ĳ ĳ Œ œ) are handled in foldRune.
const latinExtAFold = "" +
	"AaAaAaCcCcCcCcDd" + // Ā ā Ă ă Ą ą Ć ć Ĉ ĉ Ċ ċ Č č Ď ď
	"DdEeEeEeEeEeGgGg" + // Đ đ Ē ē Ĕ ĕ Ė ė Ę ę Ě ě Ĝ ĝ Ğ ğ
	"GgGgHhHhIiIiIiIi" + // Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ Ĩ ĩ Ī ī Ĭ ĭ Į į
	"Ii**JjKkkLlLlLlL" + // İ ı Ĳ ĳ Ĵ ĵ Ķ ķ ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ
	"lLlNnNnNnnNnOoOo" + // ŀ Ł ł Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ Ō ō Ŏ ŏ
	"Oo**RrRrRrSsSsSs" + // Ő ő Œ œ Ŕ ŕ Ŗ ŗ Ř ř Ś ś Ŝ ŝ Ş ş
	"SsTtTtTtUuUuUuUu" + // Š š Ţ ţ Ť ť Ŧ ŧ Ũ ũ Ū ū Ŭ ŭ Ů ů
	"UuUuWwYyYZzZzZzs" //  Ű ű Ų ų Ŵ ŵ Ŷ ŷ Ÿ Ź ź Ż ż Ž ž ſ

// punctFold spells the punctuation that word processors put in names and
// addresses.
var punctFold = map[rune]string{
	0x00A0: " ",   // no-break space
	0x00AD: "",    // soft hyphen
	0x2010: "-",   // hyphen
	0x2011: "-",   // non-breaking hyphen
	0x2013: "-",   // en dash
	0x2014: "-",   // em dash
	0x2018: "'",   // left single quotation mark
	0x2019: "'",   // right single quotation mark (O’Brien)
	0x201A: "'",   // single low-9 quotation mark
	0x201C: "\"",  // left double quotation mark
	0x201D: "\"",  // right double quotation mark
	0x201E: "\"",  // double low-9 quotation mark
	0x2026: "...", // horizontal ellipsis
}
