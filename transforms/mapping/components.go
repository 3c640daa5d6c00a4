package mapping

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// component is one step kind: its YAML key and the accessor that returns
// its config from a StepConfig (nil when that kind is not set). The config
// checks itself and builds the step (see kindConfig).
type component struct {
	name string
	get  func(StepConfig) kindConfig
}

// kind makes a component from a StepConfig field accessor. A nil *T must
// become a nil interface, not an interface holding a nil pointer.
func kind[T any, P interface {
	*T
	kindConfig
}](name string, get func(StepConfig) P) component {
	return component{name: name, get: func(c StepConfig) kindConfig {
		if p := get(c); p != nil {
			return p
		}
		return nil
	}}
}

// registry is the table of step kinds, in declaration order.
type registry struct {
	byName map[string]component
	order  []component
}

// register adds c; a duplicate name is a programming error and panics.
func (r *registry) register(c component) {
	if r.byName == nil {
		r.byName = map[string]component{}
	}
	if _, dup := r.byName[c.name]; dup {
		panic("mapping: step kind " + strconv.Quote(c.name) + " registered twice")
	}
	r.byName[c.name] = c
	r.order = append(r.order, c)
}

// names lists the kinds for error messages: "set, copy, …, script".
func (r *registry) names() string {
	s := make([]string, len(r.order))
	for i, c := range r.order {
		s[i] = c.name
	}
	return strings.Join(s, ", ")
}

// newRegistry builds a table from cs, panicking on a duplicate name.
func newRegistry(cs ...component) *registry {
	r := &registry{}
	for _, c := range cs {
		r.register(c)
	}
	return r
}

// components is the closed set of step kinds. To add one: add its *XStep
// field to StepConfig, give *XStep the check and build methods (its checks
// and its constructor, in a steps_*.go file), and add one line here.
var components = newRegistry(
	kind("set", func(c StepConfig) *SetStep { return c.Set }),
	kind("copy", func(c StepConfig) *CopyStep { return c.Copy }),
	kind("delete", func(c StepConfig) *DeleteStep { return c.Delete }),
	kind("map", func(c StepConfig) *MapStep { return c.Map }),
	kind("drop_segment", func(c StepConfig) *DropSegmentStep { return c.DropSegment }),
	kind("move", func(c StepConfig) *MoveStep { return c.Move }),
	kind("default", func(c StepConfig) *DefaultStep { return c.Default }),
	kind("replace", func(c StepConfig) *ReplaceStep { return c.Replace }),
	kind("date", func(c StepConfig) *DateStep { return c.Date }),
	kind("upper", func(c StepConfig) *UpperStep { return c.Upper }),
	kind("ascii", func(c StepConfig) *ASCIIStep { return c.ASCII }),
	kind("split", func(c StepConfig) *SplitStep { return c.Split }),
	kind("merge", func(c StepConfig) *MergeStep { return c.Merge }),
	kind("add_segment", func(c StepConfig) *AddSegmentStep { return c.AddSegment }),
	kind("move_segment", func(c StepConfig) *MoveSegmentStep { return c.MoveSegment }),
	kind("facility", func(c StepConfig) *FacilityStep { return c.Facility }),
	kind("ndc_to_cvx", func(c StepConfig) *NDCToCVXStep { return c.NDCToCVX }),
	kind("script", func(c StepConfig) *ScriptStep { return c.Script }),
)

// Kind returns the YAML key of the kind c sets, or "" unless exactly one is
// set.
func (c StepConfig) Kind() string {
	name := ""
	for _, k := range components.order {
		if k.get(c) != nil {
			if name != "" {
				return ""
			}
			name = k.name
		}
	}
	return name
}

// BuildError is one problem Build found in one step. Err is a *field.Error
// located inside the step ("map.table", "when"). Its text names the step
// as Run's errors do: `step 2 (map): table: must have at least one entry`.
//
// A *BuildError also converts, through errors.As, to a *field.Error whose
// Path is relative to the channel's transforms list ("[2].map.table"), so
// that conf can prefix it with the channel's path
// ("channels[0].transforms[2].map.table") like any other configuration
// problem. The text quotes configuration (paths, patterns, script lines),
// never message data.
type BuildError struct {
	Index int    // 0-based, as in transforms[N]
	Kind  string // "" when the step does not set exactly one kind
	Err   error
}

// Error returns, for example, `step 2 (replace): pattern: error parsing regexp: …`.
func (e *BuildError) Error() string {
	s := "step " + strconv.Itoa(e.Index)
	if e.Kind != "" {
		s += " (" + e.Kind + ")"
	}
	path, msg := e.located()
	if p, ok := strings.CutPrefix(path, e.Kind+"."); ok && e.Kind != "" {
		path = p
	}
	if path != "" {
		s += ": " + path
	}
	return s + ": " + msg
}

// located splits Err into its path inside the step and its message.
func (e *BuildError) located() (path, msg string) {
	var fe *field.Error
	if errors.As(e.Err, &fe) {
		return fe.Path, fe.Msg
	}
	return "", e.Err.Error()
}

// Unwrap returns Err.
func (e *BuildError) Unwrap() error { return e.Err }

// As sets a **field.Error target to the problem located relative to the
// transforms list: Path "[2].map.table".
func (e *BuildError) As(target any) bool {
	t, ok := target.(**field.Error)
	if !ok {
		return false
	}
	path, msg := e.located()
	p := "[" + strconv.Itoa(e.Index) + "]"
	if path != "" {
		p += "." + path
	}
	*t = &field.Error{Path: p, Msg: msg}
	return true
}

// Build validates every config and turns it into a Step through the
// component table, compiling what each needs (regular expressions, date
// layouts, segment texts, scripts, When filters) once. It returns all
// problems at once, joined, each a *BuildError ("step 2 (map): table: …").
// The returned steps implement Kinded.
func Build(cfgs []StepConfig) ([]Step, error) {
	steps := make([]Step, 0, len(cfgs))
	var errs []error
	fail := func(i int, kind string, err error) {
		for _, e := range field.Flatten(err) {
			errs = append(errs, &BuildError{Index: i, Kind: kind, Err: e})
		}
	}
	for i, c := range cfgs {
		name := c.Kind()
		if err := c.Validate(); err != nil {
			fail(i, name, err)
			continue
		}
		comp, ok := components.byName[name]
		if !ok { // Validate accepted a kind the table lacks: a programming error
			fail(i, name, field.Errorf("", "step kind %q has no constructor", name))
			continue
		}
		s, err := comp.get(c).build()
		if err != nil {
			var fe *field.Error
			if !errors.As(err, &fe) {
				err = field.Errorf(name, "%v", err)
			}
			fail(i, name, err)
		}
		var when *Filter
		if c.When != "" {
			if when, err = CompileFilter(c.When); err != nil {
				fail(i, name, field.Errorf("when", "%v", err))
			}
		}
		if len(errs) == 0 {
			steps = append(steps, kinded{name: name, Step: s, when: when})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return steps, nil
}

// kinded attaches the kind name and the When filter to a built step.
type kinded struct {
	name string
	Step
	when *Filter
}

func (k kinded) Kind() string { return k.name }

// Apply runs the step when the filter matches and passes m on otherwise. A
// failing filter fails the step with its *FilterError.
func (k kinded) Apply(ctx context.Context, m *hl7.Message) (*hl7.Message, error) {
	if k.when != nil {
		ok, err := k.when.Match(m)
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
	}
	return k.Step.Apply(ctx, m)
}
