package mapping

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// Sentinel errors of the script step. A run-time failure is a *ScriptError
// wrapping one of them (or the hl7 sentinel a message method failed with).
var (
	// ErrScriptFailed means the script raised an error: a Starlark error, a
	// fail() call, or a message method that failed for a reason not listed
	// here. Starlark's own message is dropped because it may quote values.
	ErrScriptFailed = errors.New("mapping: script failed")
	// ErrScriptSteps means a run exceeded max_steps.
	ErrScriptSteps = errors.New("mapping: script exceeded max_steps")
	// ErrScriptTimeout means a run exceeded its timeout.
	ErrScriptTimeout = errors.New("mapping: script exceeded its timeout")
	// ErrScriptPath means a message method got a malformed path.
	ErrScriptPath = errors.New("mapping: script: malformed path")
	// ErrScriptSegment means a message method got something that is not a
	// segment ID (or MSH where it cannot be dropped).
	ErrScriptSegment = errors.New("mapping: script: invalid segment id")
	// ErrScriptArgs means a message method was called with missing, extra
	// or mistyped arguments.
	ErrScriptArgs = errors.New("mapping: script: wrong arguments to a message method")
)

// ScriptError reports a run-time failure of a script step by line number
// only, since the script's values are message data. Err is one of the
// ErrScript* sentinels or an hl7 sentinel (hl7.ErrNotFound …).
type ScriptError struct {
	Line  int // 1-based line of the script; 0 when unknown
	Err   error
	limit string // the exceeded limit, for ErrScriptSteps and ErrScriptTimeout
}

// Error returns, for example, "script failed at line 4",
// "script failed at line 4: hl7: segment not found" or
// "script exceeded max_steps (100000) at line 7".
func (e *ScriptError) Error() string {
	at := ""
	if e.Line > 0 {
		at = " at line " + strconv.Itoa(e.Line)
	}
	switch {
	case errors.Is(e.Err, ErrScriptSteps):
		return "script exceeded max_steps (" + e.limit + ")" + at
	case errors.Is(e.Err, ErrScriptTimeout):
		return "script exceeded timeout (" + e.limit + ")" + at
	case errors.Is(e.Err, ErrScriptFailed):
		return "script failed" + at
	}
	return "script failed" + at + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ScriptError) Unwrap() error { return e.Err }

// scriptFile is the file name positions in the script carry.
const scriptFile = "script"

// scriptOptions are the dialect: sets and top-level if/for are allowed;
// while, recursion and global reassignment are not, and load() is refused
// at Build.
var scriptOptions = &syntax.FileOptions{Set: true, TopLevelControl: true}

// scriptPredeclared adds nothing to Starlark's universe, which has no I/O.
var scriptPredeclared = starlark.StringDict{}

type scriptStep struct {
	fn       *starlark.Function // transform, frozen: shared by all runs
	timeout  time.Duration
	maxSteps uint64
}

func (c *ScriptStep) build() (Step, error) {
	name := "script.source"
	if c.File != "" {
		name = "script.file"
	}
	if c.Source == "" {
		return nil, field.Errorf(name, "%q not loaded (conf reads it into source)", c.File)
	}
	s := &scriptStep{
		timeout:  cmp.Or(c.Timeout, defaultScriptTimeout),
		maxSteps: uint64(cmp.Or(c.MaxSteps, defaultScriptMaxSteps)),
	}
	_, prog, err := starlark.SourceProgramOptions(scriptOptions, scriptFile, c.Source, scriptPredeclared.Has)
	if err != nil {
		return nil, field.Errorf(name, "%s", compileError(err))
	}
	if prog.NumLoads() > 0 {
		_, pos := prog.Load(0)
		return nil, field.Errorf(name, "line %d: load() is not allowed", pos.Line)
	}
	var globals starlark.StringDict
	_, err = s.run(context.Background(), func(th *starlark.Thread) (starlark.Value, error) {
		g, ierr := prog.Init(th, scriptPredeclared)
		globals = g
		return starlark.None, ierr
	})
	if err != nil { // top-level code runs without message data: its message may be shown
		var se *ScriptError
		var ee *starlark.EvalError
		switch {
		case errors.As(err, &se) && !errors.Is(err, ErrScriptFailed):
			return nil, field.Errorf(name, "top level: %v", err)
		case errors.As(err, &ee):
			return nil, field.Errorf(name, "line %d: %s", scriptLine(ee), ee.Msg)
		}
		return nil, field.Errorf(name, "%v", err)
	}
	globals.Freeze()
	fn, ok := globals["transform"].(*starlark.Function)
	if !ok {
		return nil, field.Errorf(name, "must define transform(msg)")
	}
	if fn.NumParams() != 1 || fn.HasVarargs() || fn.HasKwargs() {
		return nil, field.Errorf(name, "line %d: transform must take exactly one parameter (msg)", fn.Position().Line)
	}
	s.fn = fn
	return s, nil
}

// compileError formats a syntax or resolve error as "line L:C: message".
func compileError(err error) string {
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("line %d:%d: %s", se.Pos.Line, se.Pos.Col, se.Msg)
	case errors.As(err, &rl):
		parts := make([]string, len(rl))
		for i, e := range rl {
			parts[i] = fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// Apply calls transform(msg) on a fresh thread. It returns the edited
// message, (nil, nil) when transform returned False, or a *ScriptError.
func (s *scriptStep) Apply(ctx context.Context, m *hl7.Message) (*hl7.Message, error) {
	msg := &scriptMsg{m: m}
	res, err := s.run(ctx, func(th *starlark.Thread) (starlark.Value, error) {
		return starlark.Call(th, s.fn, starlark.Tuple{msg}, nil)
	})
	msg.done = true
	if err != nil {
		var ee *starlark.EvalError
		if errors.As(err, &ee) { // not a limit, not ctx: keep the line and any safe cause only
			se := &ScriptError{Line: scriptLine(ee), Err: ErrScriptFailed}
			var me *methodError
			if errors.As(err, &me) {
				se.Err = me.err
			}
			return nil, se
		}
		return nil, err
	}
	if res == starlark.False {
		return nil, nil
	}
	return msg.m, nil
}

// run calls fn on a new thread bounded by max_steps, the timeout and ctx.
// Exceeding a limit gives a *ScriptError, an ended ctx its cause; any other
// failure is returned as fn returned it (a *starlark.EvalError).
func (s *scriptStep) run(ctx context.Context, fn func(*starlark.Thread) (starlark.Value, error)) (starlark.Value, error) {
	th := &starlark.Thread{Name: "mapping script", Print: func(*starlark.Thread, string) {}}
	th.SetMaxExecutionSteps(s.maxSteps)
	overSteps := false // set on th's own goroutine
	th.OnMaxSteps = func(t *starlark.Thread) {
		overSteps = true
		t.Cancel("max_steps")
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(s.timeout, func() {
		timedOut.Store(true)
		th.Cancel("timeout")
	})
	stop := context.AfterFunc(ctx, func() { th.Cancel("context") })
	v, err := fn(th)
	timer.Stop()
	stop()
	if err == nil {
		return v, nil
	}
	var ee *starlark.EvalError
	line := 0
	if errors.As(err, &ee) {
		line = scriptLine(ee)
	}
	switch {
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case overSteps:
		return nil, &ScriptError{Line: line, Err: ErrScriptSteps, limit: strconv.FormatUint(s.maxSteps, 10)}
	case timedOut.Load():
		return nil, &ScriptError{Line: line, Err: ErrScriptTimeout, limit: s.timeout.String()}
	}
	return nil, err
}

// scriptLine returns the line of the innermost frame of the script in the
// error's call stack (built-ins have no line of their own).
func scriptLine(ee *starlark.EvalError) int {
	for i := len(ee.CallStack) - 1; i >= 0; i-- {
		if pos := ee.CallStack[i].Pos; pos.Filename() == scriptFile {
			return int(pos.Line)
		}
	}
	return 0
}

// methodError is the error of a message method: a sentinel that carries no
// value, safe to report.
type methodError struct{ err error }

func (e *methodError) Error() string { return e.err.Error() }
func (e *methodError) Unwrap() error { return e.err }

// methodFailure turns an hl7 error (whose path may have been built from
// message data) into its bare sentinel.
func methodFailure(err error) error {
	for _, s := range []error{hl7.ErrNotFound, hl7.ErrReadOnly, hl7.ErrBadValue, hl7.ErrBadSegmentID} {
		if errors.Is(err, s) {
			return &methodError{s}
		}
	}
	if errors.Is(err, hl7.ErrBadPath) {
		return &methodError{ErrScriptPath}
	}
	return &methodError{ErrScriptFailed}
}

// scriptMsg is the msg a script's transform receives. Its methods edit
// m copy-on-write; the step returns the final m.
type scriptMsg struct {
	m    *hl7.Message
	done bool // transform has returned: the value must no longer work
}

var _ starlark.HasAttrs = (*scriptMsg)(nil)

// String never shows message data: str(msg) and print(msg) are safe.
func (s *scriptMsg) String() string        { return "<hl7 message>" }
func (s *scriptMsg) Type() string          { return "message" }
func (s *scriptMsg) Freeze()               {}
func (s *scriptMsg) Truth() starlark.Bool  { return starlark.True }
func (s *scriptMsg) Hash() (uint32, error) { return 0, errors.New("unhashable type: message") }

// Attr returns the bound method name.
func (s *scriptMsg) Attr(name string) (starlark.Value, error) {
	fn, ok := scriptMethods[name]
	if !ok {
		return nil, nil // "message has no .name field or method"
	}
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if s.done {
			return nil, &methodError{ErrScriptFailed}
		}
		return fn(s, b.Name(), args, kwargs)
	}), nil
}

// AttrNames lists the methods.
func (s *scriptMsg) AttrNames() []string {
	names := make([]string, 0, len(scriptMethods))
	for n := range scriptMethods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type scriptMethod func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// scriptMethods are the methods of msg.
var scriptMethods = map[string]scriptMethod{
	"get": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		if err := starlark.UnpackArgs(name, args, kwargs, "path", &path); err != nil {
			return nil, &methodError{ErrScriptArgs}
		}
		v, _, err := s.m.Get(path)
		if err != nil {
			return nil, methodFailure(err)
		}
		return starlark.String(v), nil
	},
	"set": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path, value string
		if err := starlark.UnpackArgs(name, args, kwargs, "path", &path, "value", &value); err != nil {
			return nil, &methodError{ErrScriptArgs}
		}
		return s.edit(setStep{path: path, value: value})
	},
	"delete": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		if err := starlark.UnpackArgs(name, args, kwargs, "path", &path); err != nil {
			return nil, &methodError{ErrScriptArgs}
		}
		if hl7.CheckPath(path) != nil {
			return nil, &methodError{ErrScriptPath}
		}
		return s.edit(deleteStep{path: path})
	},
	"segments": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		id, err := segmentArg(name, args, kwargs)
		if err != nil {
			return nil, err
		}
		n := 0
		for range s.m.SegmentsNamed(id) {
			n++
		}
		return starlark.MakeInt(n), nil
	},
	"has": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		id, err := segmentArg(name, args, kwargs)
		if err != nil {
			return nil, err
		}
		_, ok := s.m.Segment(id, 1)
		return starlark.Bool(ok), nil
	},
	"drop": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var id string
		all := false
		if err := starlark.UnpackArgs(name, args, kwargs, "id", &id, "all?", &all); err != nil {
			return nil, &methodError{ErrScriptArgs}
		}
		if !validSegmentID(id) || id == "MSH" {
			return nil, &methodError{ErrScriptSegment}
		}
		return s.edit(dropSegmentStep{segment: id, all: all})
	},
	"append": func(s *scriptMsg, name string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var text string
		if err := starlark.UnpackArgs(name, args, kwargs, "text", &text); err != nil {
			return nil, &methodError{ErrScriptArgs}
		}
		out, err := s.m.AppendSegment(translate(text, s.m.Delims()))
		if err != nil {
			return nil, methodFailure(err)
		}
		s.m = out
		return starlark.None, nil
	},
}

// edit applies a built-in step to the message.
func (s *scriptMsg) edit(st Step) (starlark.Value, error) {
	out, err := st.Apply(context.Background(), s.m)
	if err != nil {
		return nil, methodFailure(err)
	}
	s.m = out
	return starlark.None, nil
}

// segmentArg unpacks the single segment ID argument of segments and has.
func segmentArg(name string, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var id string
	if err := starlark.UnpackArgs(name, args, kwargs, "id", &id); err != nil {
		return "", &methodError{ErrScriptArgs}
	}
	if !validSegmentID(id) {
		return "", &methodError{ErrScriptSegment}
	}
	return id, nil
}
