// Package mapping holds what a channel does to a message between receiving
// and delivering it: filter expressions and transform steps. It is pure: no
// I/O, no goroutines, no logging. It imports transforms/hl7, expr-lang/expr
// and conf/field.
//
// # Filters
//
// CompileFilter compiles an expr expression once, at configuration load;
// Filter.Match evaluates it per message. The environment (field(path),
// type, trigger, control_id, sender, receiver, version, profile, has(seg),
// count(seg)) is described on Filter. Variables and functions are rewritten
// at compile time into calls on a hidden reference to the message, so Match
// builds no map and reads only the header values the expression uses.
// Compile errors quote the expression (configuration); run-time errors are
// *FilterError values that give a position in the expression and never a
// field value.
//
// # Steps
//
// A Step (see its contract) takes a message and returns a new one, the same
// one when nothing changes, or nil to filter it out. Steps never modify
// their input: they use the copy-on-write edits of transforms/hl7, so every
// segment a step does not touch stays byte-identical. Run applies a list in
// order and reports a failure as a *StepError: "step 2 (map): …", where the
// index is 0-based as in the configuration path transforms[2].
//
// Build turns []StepConfig (the channel's transforms: YAML list) into steps
// through the explicit component table in components.go: kind name →
// constructor, built without init() side effects; registering a name twice
// panics. The built-in kinds are set, copy, delete (empties an element), map
// (table with optional default) and drop_segment (first or all). Every
// error names a step, a path or a segment, never a value.
//
// # Adding step kinds
//
// The full catalogue (issue 5) plugs in the same way, with no change to
// Step, Run or the channel engine:
//
//   - add a pointer field to StepConfig (`yaml:"if"`, `yaml:"lookup"`,
//     `yaml:"cdc_fix"` …), its checks to Validate, and one line to the
//     component table;
//   - conditional steps (`if: {when: <filter expr>, then: [...], else:
//     [...]}`) hold a *Filter and two []Step built recursively with Build, and
//     call Run on the branch; a `filter` step returns (nil, nil) when its
//     expression does not match;
//   - code-table lookups (CVX↔NDC, local→CDC codes) take their tables as
//     data in the config or from transforms/iis, never from files at Apply
//     time: anything loaded happens in the constructor, before the channel
//     starts;
//   - CDC IG profile fixes (default MSH-21, fill RXA-9 NIP001, move local
//     codes to the alternate triplet) are ordinary steps, or StepFuncs
//     composed from the primitives above;
//   - a step whose work can be cancelled honours ctx; pure steps ignore it.
//
// Steps that read more than one element should use the Segment/Field API of
// transforms/hl7 and return a single edited message, so a chain of N steps
// costs N copies at most.
package mapping

import "github.com/iisync/iisync/transforms/hl7"

var hl7CheckPath = hl7.CheckPath
