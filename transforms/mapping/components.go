package mapping

import (
	"errors"
	"strconv"

	"github.com/iisync/iisync/conf/field"
)

// component is one step kind: its YAML key, whether a StepConfig selects
// it, and its constructor. A constructor receives a config that passed
// Validate.
type component struct {
	name  string
	isSet func(StepConfig) bool
	build func(StepConfig) (Step, error)
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

// newRegistry builds a table from cs, panicking on a duplicate name.
func newRegistry(cs ...component) *registry {
	r := &registry{}
	for _, c := range cs {
		r.register(c)
	}
	return r
}

// components is the closed set of step kinds. To add one (issue 5: if,
// lookup, cdc_fix …): add its *XStep field to StepConfig, its checks to
// Validate, its constructor in a steps_*.go file, and one line here.
var components = newRegistry(
	component{"set", func(c StepConfig) bool { return c.Set != nil }, newSet},
	component{"copy", func(c StepConfig) bool { return c.Copy != nil }, newCopy},
	component{"delete", func(c StepConfig) bool { return c.Delete != nil }, newDelete},
	component{"map", func(c StepConfig) bool { return c.Map != nil }, newMap},
	component{"drop_segment", func(c StepConfig) bool { return c.DropSegment != nil }, newDropSegment},
)

// Kind returns the YAML key of the kind c sets, or "" unless exactly one is
// set.
func (c StepConfig) Kind() string {
	name := ""
	for _, k := range components.order {
		if k.isSet(c) {
			if name != "" {
				return ""
			}
			name = k.name
		}
	}
	return name
}

// Build validates every config and turns it into a Step through the
// component table. It returns all problems at once, each prefixed with the
// index of its config ("[2].map.path: …"), so conf can add the channel's
// path in front. The returned steps implement Kinded.
func Build(cfgs []StepConfig) ([]Step, error) {
	steps := make([]Step, 0, len(cfgs))
	var errs []error
	for i, c := range cfgs {
		at := "[" + strconv.Itoa(i) + "]"
		if err := c.Validate(); err != nil {
			errs = append(errs, field.Prefix(at, err))
			continue
		}
		comp, ok := components.byName[c.Kind()]
		if !ok { // Validate accepted a kind the table lacks: a programming error
			errs = append(errs, field.Errorf(at, "step kind %q has no constructor", c.Kind()))
			continue
		}
		s, err := comp.build(c)
		if err != nil {
			errs = append(errs, field.Prefix(at+"."+comp.name, err))
			continue
		}
		steps = append(steps, kinded{name: comp.name, Step: s})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return steps, nil
}

// kinded attaches the kind name to a built step.
type kinded struct {
	name string
	Step
}

func (k kinded) Kind() string { return k.name }
