package mapping

import (
	"context"
	"strconv"

	"github.com/iisync/iisync/transforms/hl7"
)

// A Step inspects or rewrites one message; (nil, nil) filters it out. Called
// concurrently; must not mutate m (return a new *hl7.Message).
//
// The caller is the channel's receive path (through Run), once per message
// and step, from many goroutines at once; a Step therefore keeps no
// per-message state. ctx bounds the call; pure steps may ignore it. A non-nil
// error means the message cannot be transformed: the channel stores it as
// errored and does not deliver it. The error must locate the problem (step
// kind, path, segment) and never contain a field value, because it is logged
// and may be echoed in an ERR segment.
type Step interface {
	Apply(ctx context.Context, m *hl7.Message) (*hl7.Message, error)
}

// StepFunc adapts a function to the Step interface.
type StepFunc func(ctx context.Context, m *hl7.Message) (*hl7.Message, error)

// Apply calls f(ctx, m).
func (f StepFunc) Apply(ctx context.Context, m *hl7.Message) (*hl7.Message, error) { return f(ctx, m) }

// Kinded is an optional capability of a Step: Kind names it (the YAML key,
// e.g. "map") in the errors of Run. The steps Build returns implement it.
type Kinded interface {
	Kind() string
}

// StepError reports which step of a list failed. Index is 0-based, as in
// the configuration path transforms[2]; Kind is "" for a step that does not
// implement Kinded.
type StepError struct {
	Index int
	Kind  string
	Err   error
}

// Error returns, for example, `step 2 (map): path "RXA-5.1": hl7: …`.
func (e *StepError) Error() string {
	s := "step " + strconv.Itoa(e.Index)
	if e.Kind != "" {
		s += " (" + e.Kind + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// Run applies steps to m in order, each to the previous one's result. It
// returns the final message; (nil, nil) when a step filtered the message out
// (later steps do not run); or nil and a *StepError when a step failed or ctx
// ended between two steps. m itself is never modified. Run with no steps
// returns m.
func Run(ctx context.Context, steps []Step, m *hl7.Message) (*hl7.Message, error) {
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, &StepError{Index: i, Kind: kindOf(s), Err: context.Cause(ctx)}
		}
		out, err := s.Apply(ctx, m)
		if err != nil {
			return nil, &StepError{Index: i, Kind: kindOf(s), Err: err}
		}
		if out == nil {
			return nil, nil
		}
		m = out
	}
	return m, nil
}

func kindOf(s Step) string {
	if k, ok := s.(Kinded); ok {
		return k.Kind()
	}
	return ""
}
