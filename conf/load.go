package conf

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf/field"
	"go.yaml.in/yaml/v3"
)

// maxFileBytes bounds a configuration or include file.
const maxFileBytes = 16 << 20

// Error is every problem Load or Parse found in one configuration: first
// those of decoding ("FILE:LINE: message": syntax, unknown keys, wrong
// types, references, includes), then those of validation ("path: message",
// as *field.Error). No problem's text holds a secret or a resolved
// reference's value.
type Error struct {
	// File is the configuration file (the main one, also for problems found
	// in its includes).
	File string
	// Problems are the problems, in file and line order, then by path.
	Problems []error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteString(": invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As finds each *field.Error.
func (e *Error) Unwrap() []error { return e.Problems }

// lineError is a decoding problem located by file and line.
type lineError struct {
	File string
	Line int // 1-based; 0 = the whole file
	Msg  string
}

func (e *lineError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Options adjusts how Load and Parse resolve references.
type Options struct {
	// LookupEnv resolves ${env:NAME}. Default os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Offline resolves a ${env:} or ${file:} reference that cannot be
	// resolved to the placeholder "offline-placeholder" instead of failing,
	// for tools that read a configuration without connecting anywhere
	// (`iisync test`, `iisync try`): channel tests need no secrets.
	Offline bool
}

// offlinePlaceholder is what Options.Offline resolves a missing reference to.
const offlinePlaceholder = "offline-placeholder"

// Load reads the configuration file at path and returns it with defaults
// applied and validated; see LoadWith.
func Load(path string) (*File, error) { return LoadWith(path, Options{}) }

// LoadWith reads the configuration file at path, expands its references,
// decodes it strictly, appends the channels of its includes, applies
// WithDefaults and runs Validate. Every problem is reported at once in an
// *Error. It opens no store, listener or key file and creates nothing.
func LoadWith(path string, o Options) (*File, error) {
	data, err := readRegular(path, maxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	return ParseWith(data, path, filepath.Dir(path), o)
}

// Parse is Load for bytes already read: name labels errors, and include
// patterns and ${file:} paths resolve against baseDir.
func Parse(data []byte, name, baseDir string) (*File, error) {
	return ParseWith(data, name, baseDir, Options{})
}

// ParseWith is LoadWith for bytes already read; see Parse.
func ParseWith(data []byte, name, baseDir string, o Options) (*File, error) {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	l := &loader{opts: o}
	var f File
	parsed := l.decode(data, name, baseDir, &f)
	f.origins = make([]string, len(f.Channels))
	for i, pattern := range f.Include {
		files, err := includeFiles(baseDir, pattern)
		if err != nil {
			l.problems = append(l.problems, field.Errorf(fmt.Sprintf("include[%d]", i), "%v", err))
			continue
		}
		for _, file := range files {
			data, err := readRegular(file, maxFileBytes)
			if err != nil {
				l.problems = append(l.problems, field.Errorf(fmt.Sprintf("include[%d]", i), "%v", err))
				continue
			}
			var inc channelsFile
			parsed = l.decode(data, file, filepath.Dir(file), &inc) && parsed
			f.Channels = append(f.Channels, inc.Channels...)
			for range inc.Channels {
				f.origins = append(f.origins, file)
			}
		}
	}
	if parsed {
		l.loadStepFiles(&f, baseDir)
	}
	f = f.WithDefaults()
	if parsed { // after a syntax error, validation would only add noise
		l.problems = append(l.problems, field.Flatten(f.Validate())...)
	}
	if len(l.problems) > 0 {
		return nil, &Error{File: name, Problems: l.redact(l.problems)}
	}
	return &f, nil
}

// channelsFile is an include file: a channels list and nothing else.
type channelsFile struct {
	Channels []channels.ChannelConfig `yaml:"channels"`
}

// includeFiles returns the files pattern (relative to baseDir) matches.
func includeFiles(baseDir, pattern string) ([]string, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(baseDir, full)
	}
	files, err := filepath.Glob(full)
	if err != nil {
		return nil, fmt.Errorf("bad pattern %q", pattern)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%q matches no file", pattern)
	}
	return files, nil
}

// loader collects the problems of one configuration and its includes.
type loader struct {
	opts     Options
	problems []error
	values   []string // resolved reference values, redacted from problems
	// profiles are the main file's iis_profiles, as expanded YAML nodes,
	// for the destinations of the main file and of its includes.
	profiles map[string]*yaml.Node
}

// decode expands and strictly decodes one YAML document into out (a
// pointer to a struct), appending its problems. It reports false when the
// document could not be parsed at all.
//
// yaml's Node.Decode cannot reject unknown keys (KnownFields belongs to the
// Decoder), and re-encoding the expanded tree would move its lines. So the
// raw bytes are first decoded strictly, keeping only the unknown and
// duplicate key errors (with their true lines; references do not change
// keys), and then the expanded tree is decoded for the values.
func (l *loader) decode(data []byte, file, baseDir string, out any) bool {
	var probs []error
	defer func() {
		slices.SortStableFunc(probs, func(a, b error) int {
			return cmp.Compare(a.(*lineError).Line, b.(*lineError).Line)
		})
		l.problems = append(l.problems, slices.CompactFunc(probs, func(a, b error) bool {
			return a.Error() == b.Error()
		})...)
	}()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return true // an empty file: every field takes its default
	case err != nil:
		probs = append(probs, yamlError(file, err))
		return false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		probs = append(probs, &lineError{File: file, Line: extra.Line, Msg: "only one YAML document is allowed"})
		return false
	case !errors.Is(err, io.EOF):
		probs = append(probs, yamlError(file, err))
		return false
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var te *yaml.TypeError
	if err := strict.Decode(newOf(out)); errors.As(err, &te) {
		for _, s := range te.Errors {
			if strings.Contains(s, " not found in type ") || strings.Contains(s, " already set in type ") ||
				strings.Contains(s, " already defined at line ") {
				probs = append(probs, typeError(file, s, nil))
			}
		}
	}

	x := &expander{offline: l.opts.Offline, lookupEnv: l.opts.LookupEnv, file: file, baseDir: baseDir, lines: map[int]bool{}}
	x.walk(&doc)
	probs = append(probs, x.errs...)
	l.values = append(l.values, x.values...)
	if _, main := out.(*File); main {
		l.profiles = profileNodes(&doc)
	}
	applyRegistryNodes(&doc, l.profiles)
	switch err := doc.Decode(out); {
	case errors.As(err, &te):
		for _, s := range te.Errors {
			probs = append(probs, typeError(file, s, x.lines))
		}
	case err != nil:
		probs = append(probs, yamlError(file, err))
	}
	return true
}

// newOf returns a new zero value of the type out points to.
func newOf(out any) any {
	switch out.(type) {
	case *File:
		return new(File)
	case *channelsFile:
		return new(channelsFile)
	}
	panic(fmt.Sprintf("conf: decode into %T", out))
}

var (
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	typeLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
	valueRE    = regexp.MustCompile("`.*`")
)

// yamlError turns a yaml syntax error into FILE:LINE: message.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &lineError{File: file, Line: n, Msg: m[2]}
	}
	return &lineError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// typeError turns one of yaml's "line N: …" decoding errors into
// FILE:N: …. On a line that held a resolved reference, the quoted value is
// replaced, since it may be a secret.
func typeError(file, s string, refLines map[int]bool) error {
	m := typeLineRE.FindStringSubmatch(s)
	if m == nil {
		return &lineError{File: file, Msg: s}
	}
	n, _ := strconv.Atoi(m[1])
	msg := strings.Replace(m[2], "in type conf.channelsFile", "in an include file (it holds a channels: list only)", 1)
	if refLines[n] {
		msg = valueRE.ReplaceAllLiteralString(msg, "(a resolved reference)")
	}
	return &lineError{File: file, Line: n, Msg: msg}
}

// redact removes every resolved reference value of four or more bytes from
// the problems' text (a validation message may quote a field's value).
// Shorter values cannot be told apart from ordinary text.
func (l *loader) redact(probs []error) []error {
	var vals []string
	for _, v := range l.values {
		if len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return probs
	}
	slices.SortFunc(vals, func(a, b string) int { return cmp.Compare(len(b), len(a)) }) // longest first
	clean := func(s string) string {
		for _, v := range vals {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
		return s
	}
	out := make([]error, len(probs))
	for i, p := range probs {
		var fe *field.Error
		var le *lineError
		switch {
		case errors.As(p, &fe):
			out[i] = &field.Error{Path: fe.Path, Msg: clean(fe.Msg)}
		case errors.As(p, &le):
			out[i] = &lineError{File: le.File, Line: le.Line, Msg: clean(le.Msg)}
		default:
			out[i] = errors.New(clean(p.Error()))
		}
	}
	return out
}

// readRegular reads a regular file (following symlinks) of at most limit
// bytes; devices, pipes and directories are refused, so a reference to
// /dev/zero or a FIFO cannot hang the loader.
func readRegular(path string, limit int64) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() { // checked before Open, which blocks on a FIFO
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	if fi, err := fd.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(fd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}
