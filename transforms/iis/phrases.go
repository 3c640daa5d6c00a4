package iis

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iisync/iisync/conf/field"
)

// Rules are the per-registry text rules of ClassifyWith: phrases some
// registries put in MSA-3 or ERR-8 that say more than MSA-1 and the ERR-4
// severities do. NMSIIS, for example, answers AA with "RECORD REJECTED" in
// MSA-3 (shared docs/iis-domain.md §5.2).
//
// A phrase matches case-insensitively, as whole words: it must not start or
// end inside a word of the text, and each run of spaces in the phrase
// matches any run of white space. "rejected" matches "Message REJECTED."
// but not "unrejected"; "IGNORED - REQUIRED FIELD RXA-" matches
// "RXA #2 IGNORED - REQUIRED FIELD RXA-5" (a phrase that ends in
// punctuation may run into the next word). Phrases are literal: no
// wildcards.
//
// A nil list means its default (DefaultRules); an empty non-nil list, such
// as `reject_phrases: []` in YAML, turns the rule off. The zero Rules is
// therefore the default rules.
//
// Matched text is never quoted in Classification.Reason: it says only where
// a phrase matched ("reject phrase in MSA-3"), because registry text may
// echo PHI.
type Rules struct {
	// RejectPhrases make the verdict Rejected when one appears in MSA-3 or
	// in an ERR-8 user message, whatever MSA-1 and ERR-4 say. Default:
	// DefaultRules().RejectPhrases.
	RejectPhrases []string `yaml:"reject_phrases"`
	// WarningPhrases mean "accepted with warnings": when one appears in
	// MSA-3 or ERR-8 and no reject phrase does, an Accepted verdict becomes
	// AcceptedWithWarnings, and so does an AE that is Rejected only because
	// no ERR carries a severity. They never overrule AR/CR, an E severity or
	// a reject phrase. Default: DefaultRules().WarningPhrases.
	WarningPhrases []string `yaml:"warning_phrases"`
}

// The default phrases. The reject phrases are those the AIRA SMM
// AckAnalyzer applies to NMSIIS ("RECORD REJECTED", "MESSAGE REJECTED"),
// MIIC, WIR, VIIS and IRIS ("REJECTED"), which "rejected" as a word covers,
// plus the "not accepted" and "record/message not processed" wordings
// registries use with AA (issue 4 §3). None of them occurs in an accepted
// sample of testdata/messages.
var (
	defaultRejectPhrases  = []string{"rejected", "not accepted", "record not processed", "message not processed"}
	defaultWarningPhrases = []string{"accepted with warnings", "accepted with errors"}
)

// maxPhraseLen bounds a phrase, in bytes; longer ones are config mistakes.
const maxPhraseLen = 200

// DefaultRules returns the rules Classify uses:
//
//	reject_phrases:  [rejected, not accepted, record not processed, message not processed]
//	warning_phrases: [accepted with warnings, accepted with errors]
//
// The slices are copies the caller may modify.
func DefaultRules() Rules {
	return Rules{RejectPhrases: slices.Clone(defaultRejectPhrases), WarningPhrases: slices.Clone(defaultWarningPhrases)}
}

// WithDefaults returns r with each nil list replaced by its default. An
// empty non-nil list stays empty (the rule is off).
func (r Rules) WithDefaults() Rules {
	d := DefaultRules()
	if r.RejectPhrases == nil {
		r.RejectPhrases = d.RejectPhrases
	}
	if r.WarningPhrases == nil {
		r.WarningPhrases = d.WarningPhrases
	}
	return r
}

// resolved is WithDefaults without copying the defaults (read only).
func (r Rules) resolved() Rules {
	if r.RejectPhrases == nil {
		r.RejectPhrases = defaultRejectPhrases
	}
	if r.WarningPhrases == nil {
		r.WarningPhrases = defaultWarningPhrases
	}
	return r
}

// Validate reports every phrase that cannot work: blank, without a letter or
// digit (it would match almost any text), or longer than 200 bytes. Each
// error is a *field.Error at "reject_phrases[i]" or "warning_phrases[i]".
func (r Rules) Validate() error {
	var errs []error
	check := func(key string, phrases []string) {
		for i, p := range phrases {
			path := key + "[" + strconv.Itoa(i) + "]"
			switch t := strings.TrimSpace(p); {
			case t == "":
				errs = append(errs, field.Errorf(path, "must not be empty"))
			case len(t) > maxPhraseLen:
				errs = append(errs, field.Errorf(path, "must be at most %d bytes, got %d", maxPhraseLen, len(t)))
			case !strings.ContainsFunc(t, func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }):
				errs = append(errs, field.Errorf(path, "must contain a letter or digit, got %q", p))
			}
		}
	}
	check("reject_phrases", r.RejectPhrases)
	check("warning_phrases", r.WarningPhrases)
	return errors.Join(errs...)
}

// anyPhrase reports whether text contains one of phrases.
func anyPhrase(text string, phrases []string) bool {
	if text == "" {
		return false
	}
	for _, p := range phrases {
		if containsPhrase(text, p) {
			return true
		}
	}
	return false
}

// containsPhrase reports whether phrase occurs in text as described on
// Rules: case-insensitive, whole words, spaces matching any white space. A
// phrase without a letter or digit never matches. It does not allocate.
func containsPhrase(text, phrase string) bool {
	phrase = strings.TrimSpace(phrase)
	if phrase == "" || len(phrase) > maxPhraseLen ||
		!strings.ContainsFunc(phrase, func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }) {
		return false
	}
	first, _ := utf8.DecodeRuneInString(phrase)
	last, _ := utf8.DecodeLastRuneInString(phrase)
	for i := 0; i < len(text); {
		if isWordRune(first) && i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(text[:i])
			if isWordRune(prev) {
				_, n := utf8.DecodeRuneInString(text[i:])
				i += n
				continue
			}
		}
		if end, ok := matchAt(text, i, phrase); ok {
			next, _ := utf8.DecodeRuneInString(text[end:])
			if !isWordRune(last) || end == len(text) || !isWordRune(next) {
				return true
			}
		}
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	return false
}

// matchAt matches phrase against text from byte i and returns where the
// match ends in text.
func matchAt(text string, i int, phrase string) (int, bool) {
	for j := 0; j < len(phrase); {
		p, pn := utf8.DecodeRuneInString(phrase[j:])
		if i >= len(text) {
			return 0, false
		}
		c, cn := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(p) {
			if !unicode.IsSpace(c) {
				return 0, false
			}
			for j < len(phrase) {
				if p, pn = utf8.DecodeRuneInString(phrase[j:]); !unicode.IsSpace(p) {
					break
				}
				j += pn
			}
			for i < len(text) {
				if c, cn = utf8.DecodeRuneInString(text[i:]); !unicode.IsSpace(c) {
					break
				}
				i += cn
			}
			continue
		}
		if !foldEqual(p, c) {
			return 0, false
		}
		i, j = i+cn, j+pn
	}
	return i, true
}

// foldEqual reports whether a and b are equal under Unicode simple case
// folding.
func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && a+'a'-'A' == b || 'A' <= b && b <= 'Z' && b+'a'-'A' == a
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

func isWordRune(c rune) bool {
	return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c)
}
