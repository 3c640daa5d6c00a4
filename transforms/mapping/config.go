package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// StepConfig is one transform step in a channel's YAML. Exactly one kind is
// set, e.g. `- set: {path: PID-3.4, value: CLINIC}`; When, if not empty, is
// a filter expression (see Filter) and the step runs only on the messages
// it matches: `- {set: {path: PID-3.4, value: X}, when: 'sender == "CLINIC1"'}`.
type StepConfig struct {
	Set         *SetStep         `yaml:"set"`
	Copy        *CopyStep        `yaml:"copy"`
	Delete      *DeleteStep      `yaml:"delete"`
	Map         *MapStep         `yaml:"map"`
	DropSegment *DropSegmentStep `yaml:"drop_segment"`
	Move        *MoveStep        `yaml:"move"`
	Default     *DefaultStep     `yaml:"default"`
	Replace     *ReplaceStep     `yaml:"replace"`
	Date        *DateStep        `yaml:"date"`
	Upper       *UpperStep       `yaml:"upper"`
	ASCII       *ASCIIStep       `yaml:"ascii"`
	Split       *SplitStep       `yaml:"split"`
	Merge       *MergeStep       `yaml:"merge"`
	AddSegment  *AddSegmentStep  `yaml:"add_segment"`
	MoveSegment *MoveSegmentStep `yaml:"move_segment"`
	Facility    *FacilityStep    `yaml:"facility"`
	NDCToCVX    *NDCToCVXStep    `yaml:"ndc_to_cvx"`
	Script      *ScriptStep      `yaml:"script"`

	// When is a filter expression compiled at Build; the step runs only on
	// the messages it matches and passes the others on unchanged. Default:
	// "" (always run).
	When string `yaml:"when,omitempty"`
}

// SetStep sets the element at Path to the plain-text Value (escaped on write).
type SetStep struct {
	Path  string `yaml:"path"`
	Value string `yaml:"value"`
}

// CopyStep copies the element at From to To. It is copied in wire form, so a
// composite keeps its components and escapes stay as they are; a missing
// source copies as empty. To must not be MSH-1 or MSH-2.
type CopyStep struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// DeleteStep empties the element at Path.
type DeleteStep struct {
	Path string `yaml:"path"`
}

// MapStep replaces the value at Path through Table. A value missing from the
// table becomes Default when set, else stays as it is.
//
// TableFile names a CSV file of from,to rows (see ParseTableCSV). This
// package reads no files: conf reads it, relative to the configuration
// file, and puts its rows in Table before Build; Build fails with "not
// loaded" when TableFile is set and Table is still empty. Whether inline
// table entries may be combined with a file is conf's decision.
type MapStep struct {
	Path      string            `yaml:"path"`
	Table     map[string]string `yaml:"table"`
	TableFile string            `yaml:"table_file,omitempty"`
	Default   *string           `yaml:"default"`
}

// DropSegmentStep removes the first segment named Segment, or all of them
// when All is set.
type DropSegmentStep struct {
	Segment string `yaml:"segment"`
	All     bool   `yaml:"all"`
}

// MoveStep copies the element at From to To in wire form (as CopyStep does)
// and then empties From. An absent or empty source leaves the message as it
// is, so a move never blanks To. Neither path may be MSH-1 or MSH-2, and
// neither may be the other or lie inside it.
type MoveStep struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// DefaultStep sets the element at Path to the plain-text Value only when
// the element is empty: absent, "", or nothing but delimiters ("^^"). The
// HL7 null `""` is a value and is kept. Like set, it fails when the segment
// is missing.
type DefaultStep struct {
	Path  string `yaml:"path"`
	Value string `yaml:"value"`
}

// ReplaceStep replaces every match of the RE2 regular expression Pattern
// (https://golang.org/s/re2syntax) in the decoded value at Path with With,
// in which $1 or ${name} stand for submatches (regexp.Expand). When the
// element has components, each non-empty leaf (component or sub-component)
// is replaced on its own, so delimiters are never matched or produced.
type ReplaceStep struct {
	Path    string `yaml:"path"`
	Pattern string `yaml:"pattern"`
	With    string `yaml:"with"`
}

// DateStep rewrites the date or time at Path from the first of the From
// layouts it matches to the To layout. Layouts are written with the tokens
// YYYY, MM, DD, HH (00-23), mm (minutes) and SS; every other character is a
// literal, e.g. "MM/DD/YYYY", "YYYY-MM-DDTHH:mm:SS", "YYYYMMDD". Every token
// of To must occur in each From layout. A value must match a whole layout
// and be a real date (no February 30). An empty or absent value is left
// alone; a value that matches no layout fails the step, unless OnError is
// "keep", which leaves it as it is. The error gives the path, never the
// value.
type DateStep struct {
	Path string   `yaml:"path"`
	From []string `yaml:"from"`
	To   string   `yaml:"to"`
	// OnError is "error" or "keep". Default: "error".
	OnError string `yaml:"on_error,omitempty"`
}

// UpperStep upper-cases (Unicode) the decoded value at Path, leaf by leaf.
type UpperStep struct {
	Path string `yaml:"path"`
}

// ASCIIStep folds the decoded value at Path to ASCII, leaf by leaf:
// accented Latin letters lose their accents (é→e, Ñ→N, Ø→O, ł→l), ligatures
// and special letters are spelled out (ß→ss, Æ→AE, Œ→OE, Þ→TH), combining
// accents (U+0300-U+036F) are dropped, typographic quotes, dashes and the
// no-break space become their ASCII forms (O’Brien→O'Brien). The table
// covers Latin-1 Supplement and Latin Extended-A; other characters are kept
// as they are.
type ASCIIStep struct {
	Path string `yaml:"path"`
}

// SplitStep splits the decoded value of the field at Path on Separator
// into repetitions: "A, B" with separator "," becomes A~B. Parts are
// trimmed of spaces and empty parts dropped. A repetition that already has
// components is kept as it is. Path names a field: SEG-n or SEG[k]-n.
type SplitStep struct {
	Path      string `yaml:"path"`
	Separator string `yaml:"separator"`
}

// MergeStep joins the decoded repetitions of the field at Path into one
// value, separated by Separator (which may be empty); empty repetitions
// are skipped. A repetition with components fails the step, since its
// structure cannot be kept in one value. Path names a field: SEG-n or
// SEG[k]-n.
type MergeStep struct {
	Path      string `yaml:"path"`
	Separator string `yaml:"separator"`
}

// AddSegmentStep inserts the literal segment Text, written with the
// standard delimiters |^~\& (translated to the message's own at run time),
// after the last segment named After, before the first named Before, or at
// the end of the message when neither is set. With All, it is inserted
// after (or before) every such segment. When the anchor segment is absent
// the message is left as it is. Text is checked at Build.
type AddSegmentStep struct {
	Text   string `yaml:"text"`
	After  string `yaml:"after,omitempty"`
	Before string `yaml:"before,omitempty"`
	All    bool   `yaml:"all,omitempty"`
}

// MoveSegmentStep moves every segment named Segment, keeping their order,
// to just after the last segment named After or just before the first
// named Before (exactly one of the two). The message is left as it is when
// either segment is absent.
type MoveSegmentStep struct {
	Segment string `yaml:"segment"`
	After   string `yaml:"after,omitempty"`
	Before  string `yaml:"before,omitempty"`
}

// FacilityStep maps the sending facility (MSH-4.1) to the registry's
// organisation code through Table (exact match). An unlisted facility
// becomes Default when it is set and fails the step otherwise. Only MSH-4.1
// changes: a facility repeated elsewhere (RXA-11.4, ORC-17) is left alone;
// chain a map step for those.
type FacilityStep struct {
	Table   map[string]string `yaml:"table"`
	Default string            `yaml:"default,omitempty"`
}

// NDCToCVXStep rewrites vaccine codes sent as NDC into CVX, in the field
// Path of every segment it names (default RXA-5). A code whose coding
// system (component 3) is NDC or 99NDC is looked up in the CDC NDC
// crosswalk: the field becomes CVX^<CDC short name>^CVX and the NDC triplet
// moves to the alternate triplet (components 4-6). When the NDC is unknown
// but the alternate triplet already holds a CVX code, the two triplets are
// swapped. Otherwise an unknown NDC fails the step, unless OnUnknown is
// "keep".
type NDCToCVXStep struct {
	// Path is SEG-n. Default: "RXA-5".
	Path string `yaml:"path,omitempty"`
	// OnUnknown is "error" or "keep". Default: "error".
	OnUnknown string `yaml:"on_unknown,omitempty"`
}

// ScriptStep runs a Starlark (https://github.com/google/starlark-go) script
// that defines `def transform(msg):`. msg has the methods get(path) → str
// (decoded as Message.Get does: "" when absent, a composite in wire form),
// set(path, value) (plain text, escaped), delete(path), segments(id) → int,
// has(id) → bool, drop(id, all=False) and append(text) (a segment in the
// standard delimiters |^~\&); returning False filters the message out, any
// other result keeps it. The script has no load(), no I/O, no recursion and
// no while; print() output is discarded. A failure is reported by script
// line only (see ScriptError).
//
// File names the script file. This package reads no files: conf reads it
// and puts its text in Source before Build, which fails with "not loaded"
// when File is set and Source is empty.
type ScriptStep struct {
	Source string `yaml:"source,omitempty"`
	File   string `yaml:"file,omitempty"`
	// Timeout bounds one run of the script (wall clock), 1ms..10s.
	// Default: 50ms.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// MaxSteps bounds one run in Starlark execution steps,
	// 1..100,000,000. Default: 100,000.
	MaxSteps int `yaml:"max_steps,omitempty"`
}

// Defaults and limits of ScriptStep.
const (
	defaultScriptTimeout  = 50 * time.Millisecond
	maxScriptTimeout      = 10 * time.Second
	defaultScriptMaxSteps = 100_000
	maxScriptMaxSteps     = 100_000_000
)

// kindConfig is what every *XStep config implements: check adds its
// problems to c, build returns the step (called only when check found
// none). Both are pure.
type kindConfig interface {
	check(c *checker)
	build() (Step, error)
}

// Validate reports every problem of the step, located by field name
// ("map.table"). It checks the shape only; regular expressions, layouts,
// segment texts, scripts and When are compiled by Build.
func (c StepConfig) Validate() error {
	var set []component
	for _, k := range components.order {
		if k.get(c) != nil {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		return field.Errorf("", "must set exactly one of %s (got %d)", components.names(), len(set))
	}
	ch := &checker{kind: set[0].name}
	set[0].get(c).check(ch)
	return errors.Join(ch.errs...)
}

// checker collects the problems of one step, each located under the kind's
// YAML key.
type checker struct {
	kind string
	errs []error
}

func (c *checker) errorf(name, format string, args ...any) {
	c.errs = append(c.errs, field.Errorf(c.kind+"."+name, format, args...))
}

// path checks a path the step reads.
func (c *checker) path(name, p string) {
	if err := checkPath(p); err != nil {
		c.errorf(name, "%v", err)
	}
}

// target checks a path the step writes to.
func (c *checker) target(name, p string) {
	if err := checkPath(p); err != nil {
		c.errorf(name, "%v", err)
	} else if writesDelimiters(p) {
		c.errorf(name, "%q holds the delimiters and cannot be changed", p)
	}
}

// fieldTarget checks a path that must name a whole field (SEG-n, SEG[k]-n).
func (c *checker) fieldTarget(name, p string) {
	c.target(name, p)
	if checkPath(p) == nil && pathLevel(p) != levelField {
		c.errorf(name, "must name a field (SEG-n or SEG[k]-n), got %q", p)
	}
}

// segment checks a segment ID; MSH is refused unless allowMSH.
func (c *checker) segment(name, s string, allowMSH bool) {
	switch {
	case !validSegmentID(s):
		c.errorf(name, "must be a segment ID (three upper-case letters or digits), got %q", s)
	case s == "MSH" && !allowMSH:
		c.errorf(name, "must be a segment ID other than MSH, got %q", s)
	}
}

// oneOf checks an enumerated option whose zero value is the first choice.
func (c *checker) oneOf(name, v string, choices ...string) {
	if v != "" && !slices.Contains(choices, v) {
		c.errorf(name, "must be %s, got %q", strings.Join(choices, " or "), v)
	}
}

func (s *SetStep) check(c *checker) { c.target("path", s.Path) }

func (s *CopyStep) check(c *checker) {
	c.path("from", s.From)
	c.target("to", s.To)
}

func (s *DeleteStep) check(c *checker) { c.target("path", s.Path) }

func (s *MapStep) check(c *checker) {
	c.target("path", s.Path)
	if len(s.Table) == 0 && s.TableFile == "" {
		c.errorf("table", "must have at least one entry")
	}
}

func (s *DropSegmentStep) check(c *checker) {
	if !validSegmentID(s.Segment) || s.Segment == "MSH" {
		c.errorf("segment", "must be a segment ID other than MSH, got %q", s.Segment)
	}
}

func (s *MoveStep) check(c *checker) {
	c.target("from", s.From)
	c.target("to", s.To)
	switch {
	case s.From != "" && s.From == s.To:
		c.errorf("to", "must differ from from, got %q for both", s.To)
	case s.From != "" && s.To != "" && (within(s.To, s.From) || within(s.From, s.To)):
		c.errorf("to", "must not be inside from or contain it, got %q and %q", s.From, s.To)
	}
}

func (s *DefaultStep) check(c *checker) { c.target("path", s.Path) }

func (s *ReplaceStep) check(c *checker) {
	c.target("path", s.Path)
	if s.Pattern == "" {
		c.errorf("pattern", "required")
	}
}

func (s *DateStep) check(c *checker) {
	c.target("path", s.Path)
	if len(s.From) == 0 {
		c.errorf("from", "must list at least one layout")
	}
	for i, l := range s.From {
		if l == "" {
			c.errorf(fmt.Sprintf("from[%d]", i), "required")
		}
	}
	if s.To == "" {
		c.errorf("to", "required")
	}
	c.oneOf("on_error", s.OnError, "error", "keep")
}

func (s *UpperStep) check(c *checker) { c.target("path", s.Path) }

func (s *ASCIIStep) check(c *checker) { c.target("path", s.Path) }

func (s *SplitStep) check(c *checker) {
	c.fieldTarget("path", s.Path)
	if s.Separator == "" {
		c.errorf("separator", "required")
	}
}

func (s *MergeStep) check(c *checker) { c.fieldTarget("path", s.Path) }

func (s *AddSegmentStep) check(c *checker) {
	if s.Text == "" {
		c.errorf("text", "required")
	}
	if s.After != "" && s.Before != "" {
		c.errorf("before", "must not be set together with after")
	}
	if s.After != "" {
		c.segment("after", s.After, true)
	}
	if s.Before != "" {
		c.segment("before", s.Before, false)
	}
	if s.All && s.After == "" && s.Before == "" {
		c.errorf("all", "needs after or before")
	}
}

func (s *MoveSegmentStep) check(c *checker) {
	c.segment("segment", s.Segment, false)
	switch {
	case s.After == "" && s.Before == "":
		c.errorf("after", "one of after or before is required")
	case s.After != "" && s.Before != "":
		c.errorf("before", "must not be set together with after")
	case s.After != "":
		c.segment("after", s.After, true)
	default:
		c.segment("before", s.Before, false)
	}
	if anchor := s.After + s.Before; anchor != "" && anchor == s.Segment {
		c.errorf("segment", "must differ from its anchor, got %q for both", s.Segment)
	}
}

func (s *FacilityStep) check(c *checker) {
	if len(s.Table) == 0 {
		c.errorf("table", "must have at least one entry")
	}
}

func (s *NDCToCVXStep) check(c *checker) {
	if s.Path != "" {
		c.target("path", s.Path)
		if checkPath(s.Path) == nil && (pathLevel(s.Path) != levelField || strings.Contains(s.Path, "[") || s.Path[:3] == "MSH") {
			c.errorf("path", "must be SEG-n (every segment of that name, not MSH), got %q", s.Path)
		}
	}
	c.oneOf("on_unknown", s.OnUnknown, "error", "keep")
}

func (s *ScriptStep) check(c *checker) {
	if s.Source == "" && s.File == "" {
		c.errorf("source", "one of source or file is required")
	}
	if s.Timeout != 0 && (s.Timeout < time.Millisecond || s.Timeout > maxScriptTimeout) {
		c.errorf("timeout", "must be 1ms..10s, got %v", s.Timeout)
	}
	if s.MaxSteps < 0 || s.MaxSteps > maxScriptMaxSteps {
		c.errorf("max_steps", "must be 1..100000000, got %d", s.MaxSteps)
	}
}

func checkPath(p string) error {
	if p == "" {
		return errors.New("required")
	}
	if err := hl7CheckPath(p); err != nil {
		return fmt.Errorf("invalid path %q", p)
	}
	return nil
}

func validSegmentID(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// writesDelimiters reports whether the well-formed path p names MSH-1 or
// MSH-2, which hold the delimiters themselves.
func writesDelimiters(p string) bool {
	if !strings.HasPrefix(p, "MSH") {
		return false
	}
	_, rest, _ := strings.Cut(p, "-")
	n := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if n < 0 {
		n = len(rest)
	}
	return rest[:n] == "1" || rest[:n] == "2"
}

// within reports whether path p names a part of the element outer
// ("PID-5.1" within "PID-5"), as written.
func within(p, outer string) bool {
	return strings.HasPrefix(p, outer+".") || strings.HasPrefix(p, outer+"[")
}

// level is how deep a path reaches into its field.
type level int

const (
	levelField level = iota // SEG-n: every repetition
	levelRep                // SEG-n[r]: one repetition
	levelComp               // SEG-n.c or SEG-n[r].c
	levelSub                // SEG-n.c.s
)

// pathLevel returns the level of a well-formed path.
func pathLevel(p string) level {
	_, rest, _ := strings.Cut(p, "-")
	lvl := levelField
	if strings.Contains(rest, "[") {
		lvl = levelRep
	}
	switch strings.Count(rest, ".") {
	case 1:
		lvl = levelComp
	case 2:
		lvl = levelSub
	}
	return lvl
}
