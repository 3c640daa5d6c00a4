// Package mapping holds what a channel does to a message between receiving
// and delivering it: filter expressions and transform steps. It is pure: no
// I/O (files named in the configuration are read by conf), no logging, and
// no goroutines other than the timer that stops a script step at its
// timeout. It imports transforms/hl7, transforms/iis/codes, conf/field,
// expr-lang/expr and go.starlark.net.
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
// segment a step does not touch stays byte-identical, and a step that finds
// nothing to do returns its input without copying. Run applies a list in
// order and reports a failure as a *StepError: "step 2 (map): …", where the
// index is 0-based as in the configuration path transforms[2]. Run-time
// errors locate the problem (a path such as "RXA[2]-5.1", a script line)
// and never contain a field value.
//
// Build turns []StepConfig (the channel's transforms: YAML list) into steps
// through the explicit component table in components.go: kind name →
// config accessor, each *XStep config checking itself and building its
// step, without init() side effects; registering a name twice panics.
// Build compiles everything once (regular expressions, date layouts,
// segment texts, scripts, when filters) and reports every problem as a
// *BuildError, "step 3 (replace): pattern: error parsing regexp: …", which
// also converts to a *field.Error at "[3].replace.pattern" for conf.
//
// Any step may carry a when: filter expression; it then runs only on the
// messages the filter matches and passes the others on unchanged:
//
//	transforms:
//	  - {set: {path: PID-3.4, value: STATEIIS}, when: 'sender == "CLINIC1"'}
//
// Paths use hl7 notation (PID-5.1, PID-3[2].1, RXA[2]-5.1). Values are
// plain text, escaped on write. A step that writes a new value (set,
// default, copy and move's target) fails with hl7.ErrNotFound when the
// segment is missing; a step that changes or removes what is there leaves
// the message as it is. MSH-1 and MSH-2 can never be written.
//
// # The catalogue
//
// Elements:
//
//	transforms:
//	  - set: {path: MSH-6, value: STATEIIS}                # set a value
//	  - copy: {from: MSH-4.1, to: RXA-11.4}               # copy in wire form
//	  - move: {from: PID-13, to: PID-14}                  # copy, then empty the source
//	  - delete: {path: PID-19}                            # empty an element
//	  - default: {path: MSH-21.1, value: Z22}             # set only when empty
//	  - map: {path: RXA-9.1, table: {"1": "01"}, default: "00"}  # look up; default optional
//	  - map: {path: RXA-5.1, table_file: cvx-local.csv}   # rows from,to read by conf (ParseTableCSV)
//	  - replace: {path: PID-13.7, pattern: '\D', with: ""}  # RE2 on each decoded leaf; $1 expands
//	  - date: {path: PID-7, from: [MM/DD/YYYY, YYYY-MM-DD], to: YYYYMMDD, on_error: keep}
//	  - upper: {path: PID-5}                              # upper-case each leaf
//	  - ascii: {path: PID-5}                              # José Muñoz → Jose Munoz, ß → ss
//	  - split: {path: PID-13, separator: ","}             # one value → repetitions
//	  - merge: {path: PID-9, separator: " "}              # repetitions → one value
//
// Segments:
//
//	transforms:
//	  - drop_segment: {segment: OBX, all: true}           # first, or all
//	  - add_segment: {text: "OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible^HL70064||||||F", after: RXA, all: true}
//	  - move_segment: {segment: PD1, after: PID}          # or before: NK1
//
// Immunization registries:
//
//	transforms:
//	  - facility: {table: {CLINIC1: ORG0042, CLINIC2: ORG0043}, default: ORG0000}  # MSH-4.1 only
//	  - ndc_to_cvx: {}                                    # RXA-5 NDC → CVX, NDC to the alternate triplet
//	  - ndc_to_cvx: {path: RXA-5, on_unknown: keep}
//
// Scripts (Starlark, https://github.com/google/starlark-go), for what the
// table cannot say:
//
//	transforms:
//	  - script:
//	      timeout: 50ms          # default 50ms, at most 10s
//	      max_steps: 100000      # default 100000
//	      source: |
//	        def transform(msg):
//	            if msg.get("MSH-9.1") != "VXU":
//	                return False                 # filter the message out
//	            for i in range(1, msg.segments("RXA") + 1):
//	                if msg.get("RXA[%d]-20" % i) == "":
//	                    msg.set("RXA[%d]-20" % i, "CP")
//	  - script: {file: fixes/clinic1.star}   # conf reads the file into source
//
// The script defines transform(msg); msg has get(path) → str,
// set(path, value), delete(path), segments(id) → int, has(id) → bool,
// drop(id, all=False) and append(text). Returning False filters the message
// out; any other value keeps it. The program is compiled and its top level
// run once, at Build, with no load(), no while, no recursion and no I/O
// builtins (print output is discarded); each message gets a fresh thread
// limited by max_steps and by timeout, enforced with Thread.Cancel from a
// timer that is stopped when the call returns. Run-time failures are
// *ScriptError values that give the script line and never the values
// Starlark's own messages may quote: "script failed at line 4". The limits
// bound CPU, not memory.
//
// Segment texts (add_segment, append) are written with the standard
// delimiters |^~\& and translated to the message's own.
//
// # Adding step kinds
//
// Add a pointer field to StepConfig, give the *XStep config a check method
// (its Validate rules) and a build method (compile once, return an
// immutable Step), and add one line to the component table; Step, Run and
// the channel engine do not change. Steps that read more than one element
// should use the Segment/Field API of transforms/hl7 and return a single
// edited message; steps that change several segments rebuild the message
// once (see layout in steps_segment.go), so a chain of N steps costs N
// copies at most.
package mapping

import "github.com/iisync/iisync/transforms/hl7"

var hl7CheckPath = hl7.CheckPath
