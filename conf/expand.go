package conf

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSecretBytes bounds what a ${file:PATH} reference reads.
const maxSecretBytes = 1 << 20

// expander resolves ${env:NAME} and ${file:PATH} references inside the
// scalar values of a parsed document, in place, so every node keeps its
// line. Mapping keys are never expanded. "$${" stands for a literal "${".
type expander struct {
	lookupEnv func(string) (string, bool)
	offline   bool   // unresolvable references become offlinePlaceholder
	file      string // the document's file, for errors
	baseDir   string // ${file:} paths resolve against it

	values []string     // every resolved value, to keep out of error text
	lines  map[int]bool // lines of scalars holding a resolved reference
	errs   []error      // *lineError, one per bad reference
}

func (x *expander) walk(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			x.walk(c)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			x.walk(n.Content[i])
		}
	case yaml.ScalarNode:
		x.scalar(n)
	case yaml.AliasNode:
		// Its anchor is expanded where it is defined.
	}
}

func (x *expander) scalar(n *yaml.Node) {
	if !strings.Contains(n.Value, "${") {
		return
	}
	out, resolved, ok := x.expand(n.Value, n.Line)
	if !ok {
		// Decode it as null (the zero value) so the reported reference
		// error is not followed by a type error on the same line.
		n.Value, n.Tag, n.Style = "", "!!null", 0
		return
	}
	if out == n.Value {
		return
	}
	n.Value = out
	if resolved {
		x.lines[n.Line] = true
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return // a block scalar stays a string
	}
	// A plain or quoted scalar is typed again by its new value, so both
	// max_conns: ${env:N} and max_conns: "${env:N}" can be ints (quotes are
	// needed inside {…} and […], where "}" would end the collection); a
	// string field takes any scalar as text. A value spelling null stays
	// the string it is.
	switch out {
	case "", "~", "null", "Null", "NULL":
		n.Tag, n.Style = "!!str", 0
	default:
		n.Tag, n.Style = "", 0
	}
}

// expand returns s with its references replaced; resolved reports whether
// any reference (not only an escape) was replaced, ok that all resolved.
func (x *expander) expand(s string, line int) (out string, resolved, ok bool) {
	var b strings.Builder
	ok = true
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				x.fail(line, "unterminated reference: \"${\" without \"}\" (write $${ for a literal ${)")
				return s, false, false
			}
			ref := s[i : i+end+1]
			v, good := x.resolve(ref, s[i+2:i+end], line)
			ok = ok && good
			x.values = append(x.values, v)
			b.WriteString(v)
			resolved = true
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), resolved, ok
}

// resolve returns the value of one reference ref = "${body}". Errors name
// the reference, never its value.
func (x *expander) resolve(ref, body string, line int) (string, bool) {
	kind, arg, _ := strings.Cut(body, ":")
	switch kind {
	case "env":
		if !validEnvName(arg) {
			x.fail(line, "%s: invalid environment variable name", ref)
			return "", false
		}
		v, ok := x.lookupEnv(arg)
		if !ok && x.offline {
			return offlinePlaceholder, true
		}
		if !ok {
			x.fail(line, "%s: environment variable not set", ref)
			return "", false
		}
		return v, true
	case "file":
		if arg == "" {
			x.fail(line, "%s: empty path", ref)
			return "", false
		}
		p := arg
		if !filepath.IsAbs(p) {
			p = filepath.Join(x.baseDir, p)
		}
		b, err := readRegular(p, maxSecretBytes)
		if err != nil && x.offline {
			return offlinePlaceholder, true
		}
		if err != nil {
			x.fail(line, "%s: %v", ref, err)
			return "", false
		}
		return strings.TrimRight(string(b), "\r\n"), true
	}
	x.fail(line, "unknown reference %s: use ${env:NAME} or ${file:PATH} (write $${ for a literal ${)", ref)
	return "", false
}

func (x *expander) fail(line int, format string, args ...any) {
	x.errs = append(x.errs, &lineError{File: x.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// validEnvName accepts [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
