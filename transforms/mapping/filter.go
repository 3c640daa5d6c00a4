package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/iisync/iisync/transforms/hl7"
)

// Sentinel errors of filter evaluation. A runtime error of Match is a
// *FilterError wrapping one of them; none ever carries a field value.
var (
	// ErrFilterPath means field() was called at run time with a malformed
	// path (a path built from message data, since constant paths are checked
	// by CompileFilter).
	ErrFilterPath = errors.New("mapping: filter: malformed path in field()")
	// ErrFilterSegment means has() or count() was called at run time with
	// something that is not a segment ID.
	ErrFilterSegment = errors.New("mapping: filter: invalid segment id in has() or count()")
	// ErrFilterEval means the expression failed at run time for another
	// reason (a failed conversion such as int(field("RXA-6")), an index out
	// of range …). The underlying message is dropped because it may quote
	// message data.
	ErrFilterEval = errors.New("mapping: filter: evaluation failed")
)

// FilterError locates a run-time failure of a filter expression by line and
// column in the expression, which is configuration, never message data.
type FilterError struct {
	Line, Column int   // 1-based line and column in the expression
	Err          error // ErrFilterPath, ErrFilterSegment or ErrFilterEval
}

// Error returns the position and the sentinel text, for example
// "filter 1:7: mapping: filter: malformed path in field()".
func (e *FilterError) Error() string {
	return "filter " + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": " + e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *FilterError) Unwrap() error { return e.Err }

// Filter is a compiled filter expression. It is immutable and safe for
// concurrent use; compile it once (at config load) and call Match per
// message.
//
// The expression language is expr (https://expr-lang.org) with this
// environment, all strings escape-decoded and "" when absent:
//
//	field(path) string  the value at an hl7 path, e.g. field("PID-8")
//	type                MSH-9.1, e.g. "VXU"
//	trigger             MSH-9.2, e.g. "V04"
//	control_id          MSH-10
//	sender              MSH-4.1 (sending facility)
//	receiver            MSH-6.1 (receiving facility)
//	version             MSH-12.1, e.g. "2.5.1"
//	profile             MSH-21.1, e.g. "Z22"
//	has(seg) bool       whether a segment is present, e.g. has("PD1")
//	count(seg) int      how many segments have that ID, e.g. count("RXA")
//
// The expression must yield a bool. Examples:
//
//	type == "VXU" && sender in ["CLINIC1", "CLINIC2"]
//	field("PID-8") == "F" && count("RXA") > 0
type Filter struct {
	src     string
	program *vm.Program
}

// filterEnv is the environment the expression runs against: only a hidden
// reference to the message. Variables and functions are rewritten at compile
// time into calls that take it (see patcher), so Match builds no map and
// computes only the header values the expression uses.
type filterEnv struct {
	Msg msgRef `expr:"__msg"`
}

// msgRef hides the *hl7.Message from the expression: it has no methods, so
// the expression cannot reach Raw or the edit methods.
type msgRef struct{ m *hl7.Message }

const msgIdent = "__msg"

// headerVars maps each variable of the environment to the path it reads.
var headerVars = map[string]string{
	"type":       "MSH-9.1",
	"trigger":    "MSH-9.2",
	"control_id": "MSH-10",
	"sender":     "MSH-4.1",
	"receiver":   "MSH-6.1",
	"version":    "MSH-12.1",
	"profile":    "MSH-21.1",
}

// filterFuncs are the functions that receive the message as a hidden first
// argument.
var filterFuncs = map[string]bool{"field": true, "has": true, "count": true}

// CompileFilter compiles expr once. Its errors describe the expression (which
// is configuration, so it may be quoted): a syntax or type error, an unknown
// name, a result that is not a bool, or a constant argument of field(), has()
// or count() that is not a valid path or segment ID.
func CompileFilter(src string) (*Filter, error) {
	p := &patcher{}
	program, err := expr.Compile(src,
		expr.Env(filterEnv{}),
		expr.AsBool(),
		expr.Patch(p),
		expr.Function("field", fieldFunc, new(func(msgRef, string) string)),
		expr.Function("has", hasFunc, new(func(msgRef, string) bool)),
		expr.Function("count", countFunc, new(func(msgRef, string) int)),
	)
	if len(p.errs) > 0 { // more precise than what the type checker says after them
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e.Bind(file.NewSource(src))
		}
		err = errors.Join(errs...)
	}
	if err != nil {
		return nil, fmt.Errorf("mapping: compile filter: %w", err)
	}
	return &Filter{src: src, program: program}, nil
}

// String returns the source expression.
func (f *Filter) String() string { return f.src }

// vms recycles expr virtual machines: a VM is not safe for concurrent use,
// but may be reused for sequential runs.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Match evaluates the filter against m. Its error is a *FilterError that
// locates the failure in the expression and never contains message data.
func (f *Filter) Match(m *hl7.Message) (bool, error) {
	v := vms.Get().(*vm.VM)
	out, err := v.Run(f.program, filterEnv{Msg: msgRef{m}})
	clear(v.Stack[:cap(v.Stack)]) // drop references to the message before pooling
	clear(v.Variables)
	vms.Put(v)
	if err != nil {
		return false, runtimeError(err)
	}
	b, _ := out.(bool) // AsBool guarantees a bool
	return b, nil
}

// runtimeError turns an expr run-time error into a *FilterError that keeps
// the position and our sentinel, and drops expr's message, which may quote
// values (strconv errors do).
func runtimeError(err error) error {
	fe := &FilterError{Err: ErrFilterEval}
	var xe *file.Error
	if errors.As(err, &xe) {
		fe.Line, fe.Column = xe.Line, xe.Column+1
	}
	for _, s := range []error{ErrFilterPath, ErrFilterSegment} {
		if errors.Is(err, s) {
			fe.Err = s
		}
	}
	return fe
}

func fieldFunc(args ...any) (any, error) {
	v, _, err := args[0].(msgRef).m.Get(args[1].(string))
	if err != nil {
		return nil, ErrFilterPath // not the PathError: a dynamic path may be message data
	}
	return v, nil
}

func hasFunc(args ...any) (any, error) {
	seg := args[1].(string)
	if !validSegmentID(seg) {
		return nil, ErrFilterSegment
	}
	_, ok := args[0].(msgRef).m.Segment(seg, 1)
	return ok, nil
}

func countFunc(args ...any) (any, error) {
	seg := args[1].(string)
	if !validSegmentID(seg) {
		return nil, ErrFilterSegment
	}
	n := 0
	for range args[0].(msgRef).m.SegmentsNamed(seg) {
		n++
	}
	return n, nil
}

// patcher rewrites the expression before type checking: a variable such as
// type becomes field(__msg, "MSH-9.1"), and field(x), has(x), count(x) get
// the hidden message as first argument. It also checks constant arguments
// and refuses __msg written by the user.
type patcher struct {
	injected map[ast.Node]bool // nodes this patcher created
	errs     []*file.Error
}

// Visit implements ast.Visitor. ast.Walk visits children before their
// parent, so a call's callee identifier is seen (and left alone, as no
// variable is named like a function) before the call.
func (p *patcher) Visit(node *ast.Node) {
	if p.injected == nil {
		p.injected = map[ast.Node]bool{}
	}
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if p.injected[n] {
			return
		}
		if n.Value == msgIdent {
			p.errorf(n, "unknown name %s", msgIdent)
			return
		}
		if path, ok := headerVars[n.Value]; ok {
			ast.Patch(node, p.call(n.Location(), "field", path))
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !filterFuncs[id.Value] || p.injected[id] {
			return
		}
		if len(n.Arguments) != 1 {
			p.errorf(n, "%s() takes exactly one argument", id.Value)
			return
		}
		if s, ok := n.Arguments[0].(*ast.StringNode); ok {
			p.checkConst(id.Value, s)
		}
		ref := &ast.IdentifierNode{Value: msgIdent}
		ref.SetLocation(n.Location())
		p.injected[ref] = true
		n.Arguments = append([]ast.Node{ref}, n.Arguments...)
	}
}

// call builds fn(__msg, "arg") located at loc.
func (p *patcher) call(loc file.Location, fn, arg string) ast.Node {
	callee, ref := &ast.IdentifierNode{Value: fn}, &ast.IdentifierNode{Value: msgIdent}
	str := &ast.StringNode{Value: arg}
	for _, n := range []ast.Node{callee, ref, str} {
		n.SetLocation(loc)
	}
	p.injected[callee], p.injected[ref] = true, true
	return &ast.CallNode{Callee: callee, Arguments: []ast.Node{ref, str}}
}

// checkConst validates a constant argument of field, has or count.
func (p *patcher) checkConst(fn string, s *ast.StringNode) {
	switch fn {
	case "field":
		if hl7.CheckPath(s.Value) != nil {
			p.errorf(s, "field(%q): malformed path", s.Value)
		}
	default:
		if !validSegmentID(s.Value) {
			p.errorf(s, "%s(%q): not a segment id", fn, s.Value)
		}
	}
}

func (p *patcher) errorf(n ast.Node, format string, args ...any) {
	p.errs = append(p.errs, &file.Error{Location: n.Location(), Message: fmt.Sprintf(format, args...)})
}
