package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iisync/iisync/conf/field"
)

// StepConfig is one transform step in a channel's YAML. Exactly one kind is
// set, e.g. `- set: {path: PID-3.4, value: CLINIC}`.
type StepConfig struct {
	Set         *SetStep         `yaml:"set"`
	Copy        *CopyStep        `yaml:"copy"`
	Delete      *DeleteStep      `yaml:"delete"`
	Map         *MapStep         `yaml:"map"`
	DropSegment *DropSegmentStep `yaml:"drop_segment"`
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
type MapStep struct {
	Path    string            `yaml:"path"`
	Table   map[string]string `yaml:"table"`
	Default *string           `yaml:"default"`
}

// DropSegmentStep removes the first segment named Segment, or all of them
// when All is set.
type DropSegmentStep struct {
	Segment string `yaml:"segment"`
	All     bool   `yaml:"all"`
}

// kinds counts the kinds set, for Validate.
func (c StepConfig) kinds() int {
	n := 0
	for _, set := range []bool{c.Set != nil, c.Copy != nil, c.Delete != nil, c.Map != nil, c.DropSegment != nil} {
		if set {
			n++
		}
	}
	return n
}

// Validate reports every problem of the step, located by field name.
func (c StepConfig) Validate() error {
	if n := c.kinds(); n != 1 {
		return field.Errorf("", "must set exactly one of set, copy, delete, map, drop_segment (got %d)", n)
	}
	var errs []error
	path := func(name, p string) {
		if err := checkPath(p); err != nil {
			errs = append(errs, field.Errorf(name, "%v", err))
		}
	}
	target := func(name, p string) { // a path the step writes to
		if err := checkPath(p); err != nil {
			errs = append(errs, field.Errorf(name, "%v", err))
		} else if writesDelimiters(p) {
			errs = append(errs, field.Errorf(name, "%q holds the delimiters and cannot be changed", p))
		}
	}
	switch {
	case c.Set != nil:
		target("set.path", c.Set.Path)
	case c.Copy != nil:
		path("copy.from", c.Copy.From)
		target("copy.to", c.Copy.To)
	case c.Delete != nil:
		target("delete.path", c.Delete.Path)
	case c.Map != nil:
		target("map.path", c.Map.Path)
		if len(c.Map.Table) == 0 {
			errs = append(errs, field.Errorf("map.table", "must have at least one entry"))
		}
	case c.DropSegment != nil:
		if !validSegmentID(c.DropSegment.Segment) || c.DropSegment.Segment == "MSH" {
			errs = append(errs, field.Errorf("drop_segment.segment", "must be a segment ID other than MSH, got %q", c.DropSegment.Segment))
		}
	}
	return errors.Join(errs...)
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
