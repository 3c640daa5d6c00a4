package mapping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/iisync/iisync/conf/field"
	// Renamed: golden is this package's own helper, defined below.
	goldenfile "github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/transforms/hl7"
)

// markers are the canary patient values of testdata/vxu_canary.hl7; no
// error may contain one.
var markers = []string{"ZZTEST", "PAT123", "20200101"}

func canaryRaw(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vxu_canary.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func canary(t testing.TB) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(canaryRaw(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func noMarkers(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v|%+v|%#v", err, err, err)} {
		for _, mk := range markers {
			if strings.Contains(s, mk) {
				t.Errorf("%s: error leaks %s: %s", what, mk, s)
			}
		}
	}
}

func ptr(s string) *string { return &s }

// segments returns the wire segments of m except those named in skip.
func segments(m *hl7.Message, skip []string) []string {
	var out []string
	for s := range m.Segments() {
		if !containsStr(skip, s.Name()) {
			out = append(out, string(s.Raw()))
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSteps(t *testing.T) {
	tests := []struct {
		name    string
		cfg     StepConfig
		touched []string // segments allowed to differ; all others must be byte-identical
		same    bool     // the message must come back unchanged
	}{
		{"set_component", StepConfig{Set: &SetStep{Path: "PID-3.4", Value: "STATEIIS"}}, []string{"PID"}, false},
		{"set_escapes_value", StepConfig{Set: &SetStep{Path: "PID-3.6", Value: "A^B&C"}}, []string{"PID"}, false},
		{"set_new_field", StepConfig{Set: &SetStep{Path: "PD1-16", Value: "A"}}, []string{"PD1"}, false},
		{"set_msh_sender", StepConfig{Set: &SetStep{Path: "MSH-4.1", Value: "CLINIC9"}}, []string{"MSH"}, false},
		{"set_second_rxa", StepConfig{Set: &SetStep{Path: "RXA[2]-9.1", Value: "01"}}, []string{"RXA"}, false},
		{"set_unchanged", StepConfig{Set: &SetStep{Path: "PID-8", Value: "F"}}, nil, true},
		{"copy_composite_keeps_escapes", StepConfig{Copy: &CopyStep{From: "PID-11", To: "NK1-4"}}, []string{"NK1"}, false},
		{"copy_component", StepConfig{Copy: &CopyStep{From: "MSH-4.1", To: "RXA-11.4"}}, []string{"RXA"}, false},
		{"copy_missing_source_empties", StepConfig{Copy: &CopyStep{From: "PID-30", To: "PID-8"}}, []string{"PID"}, false},
		{"delete_component", StepConfig{Delete: &DeleteStep{Path: "PID-5.2"}}, []string{"PID"}, false},
		{"delete_field", StepConfig{Delete: &DeleteStep{Path: "PID-13"}}, []string{"PID"}, false},
		{"delete_absent_element", StepConfig{Delete: &DeleteStep{Path: "PID-29"}}, nil, true},
		{"delete_absent_segment", StepConfig{Delete: &DeleteStep{Path: "IN1-2"}}, nil, true},
		{"map_first_rxa", StepConfig{Map: &MapStep{Path: "RXA-5.1", Table: map[string]string{"08": "45", "20": "106"}}}, []string{"RXA"}, false},
		{"map_default", StepConfig{Map: &MapStep{Path: "NK1-3.1", Table: map[string]string{"GRD": "GRD"}, Default: ptr("OTH")}}, []string{"NK1"}, false},
		{"map_unlisted_stays", StepConfig{Map: &MapStep{Path: "NK1-3.1", Table: map[string]string{"GRD": "GRD"}}}, nil, true},
		{"map_same_value", StepConfig{Map: &MapStep{Path: "PID-8", Table: map[string]string{"F": "F"}}}, nil, true},
		{"map_absent_segment", StepConfig{Map: &MapStep{Path: "IN1-2", Table: map[string]string{"": "X"}}}, nil, true},
		{"drop_first_obx", StepConfig{DropSegment: &DropSegmentStep{Segment: "OBX"}}, []string{"OBX"}, false},
		{"drop_all_obx", StepConfig{DropSegment: &DropSegmentStep{Segment: "OBX", All: true}}, []string{"OBX"}, false},
		{"drop_absent", StepConfig{DropSegment: &DropSegmentStep{Segment: "IN1", All: true}}, nil, true},
	}
	raw := canaryRaw(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := canary(t)
			steps, err := Build([]StepConfig{tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			out, err := steps[0].Apply(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Raw(), raw) {
				t.Fatal("input message modified")
			}
			if tc.same {
				if out != m {
					t.Errorf("want the input message back unchanged, got a new one (equal bytes: %v)", bytes.Equal(out.Raw(), raw))
				}
				return
			}
			if bytes.Equal(out.Raw(), raw) {
				t.Error("message unchanged")
			}
			if a, b := segments(m, tc.touched), segments(out, tc.touched); strings.Join(a, "\r") != strings.Join(b, "\r") {
				t.Errorf("segments other than %v changed", tc.touched)
			}
			golden(t, tc.name, out)
		})
	}
}

// golden compares m with testdata/steps/<name>.golden (segments on lines).
func golden(t *testing.T, name string, m *hl7.Message) {
	t.Helper()
	got := bytes.ReplaceAll(m.Raw(), []byte("\r"), []byte("\n"))
	goldenfile.Check(t, filepath.Join("testdata", "steps", name+".golden"), got)
}

func TestStepErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  StepConfig
		is   error
		text string
	}{
		{"set missing segment", StepConfig{Set: &SetStep{Path: "IN1-2", Value: "ZZTEST"}}, hl7.ErrNotFound, `step 0 (set): path "IN1-2": hl7: segment not found`},
		{"copy to missing segment", StepConfig{Copy: &CopyStep{From: "PID-5", To: "IN1-2"}}, hl7.ErrNotFound, `step 0 (copy): path "IN1-2": hl7: segment not found`},
		{"copy composite into component", StepConfig{Copy: &CopyStep{From: "PID-5", To: "NK1-2.1"}}, hl7.ErrBadValue, `step 0 (copy): path "NK1-2.1": hl7: value would break the message structure`},
		{"copy into an empty field is fine", StepConfig{Copy: &CopyStep{From: "PID-3", To: "PID-2[1]"}}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Build([]StepConfig{tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(t.Context(), steps, canary(t))
			if tc.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *StepError
			if out != nil || !errors.As(err, &se) || !errors.Is(err, tc.is) || err.Error() != tc.text {
				t.Errorf("got %v, %v; want %q", out, err, tc.text)
			}
			noMarkers(t, tc.name, err)
		})
	}
}

func TestRun(t *testing.T) {
	steps, err := Build([]StepConfig{
		{Set: &SetStep{Path: "MSH-4.1", Value: "CLINIC9"}},
		{Map: &MapStep{Path: "RXA-5.1", Table: map[string]string{"08": "45"}}},
		{DropSegment: &DropSegmentStep{Segment: "OBX", All: true}},
		{Delete: &DeleteStep{Path: "PID-13"}},
		{Copy: &CopyStep{From: "MSH-4.1", To: "RXA-11.4"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := canaryRaw(t)
	m := canary(t)
	out, err := Run(t.Context(), steps, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Raw(), raw) {
		t.Fatal("input message modified")
	}
	if a, b := segments(m, []string{"MSH", "PID", "RXA", "OBX"}), segments(out, []string{"MSH", "PID", "RXA", "OBX"}); strings.Join(a, "\r") != strings.Join(b, "\r") {
		t.Error("untouched segments changed")
	}
	golden(t, "run_chain", out)

	if out, err := Run(t.Context(), nil, m); out != m || err != nil {
		t.Errorf("no steps: got %v, %v", out, err)
	}
}

func TestRunFilteredAndErrors(t *testing.T) {
	calls := 0
	count := StepFunc(func(_ context.Context, m *hl7.Message) (*hl7.Message, error) { calls++; return m, nil })
	drop := StepFunc(func(context.Context, *hl7.Message) (*hl7.Message, error) { return nil, nil })
	boom := StepFunc(func(context.Context, *hl7.Message) (*hl7.Message, error) { return nil, errors.New("boom") })
	built, err := Build([]StepConfig{{Set: &SetStep{Path: "IN1-2", Value: "X"}}})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("shutting down")
	cancel(cause)

	tests := []struct {
		name  string
		ctx   context.Context
		steps []Step
		calls int
		err   string
		is    error
	}{
		{"filtered stops the chain", t.Context(), []Step{count, drop, count}, 1, "", nil},
		{"error has index", t.Context(), []Step{count, count, boom, count}, 2, "step 2: boom", nil},
		{"built step has kind", t.Context(), []Step{count, count, built[0]}, 2, `step 2 (set): path "IN1-2": hl7: segment not found`, hl7.ErrNotFound},
		{"cancelled ctx", cancelled, []Step{count}, 0, "step 0: shutting down", cause},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = 0
			out, err := Run(tc.ctx, tc.steps, canary(t))
			if out != nil || calls != tc.calls {
				t.Errorf("got %v after %d calls, want nil after %d", out, calls, tc.calls)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Errorf("err = %v, want %q", err, tc.err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("err %v is not %v", err, tc.is)
			}
		})
	}
}

// TestStepsConcurrent runs every built step on one shared message from many
// goroutines (run with -race): steps keep no state and never write to m.
func TestStepsConcurrent(t *testing.T) {
	steps, err := Build([]StepConfig{
		{Set: &SetStep{Path: "PID-3.4", Value: "X"}},
		{Copy: &CopyStep{From: "PID-11", To: "NK1-4"}},
		{Delete: &DeleteStep{Path: "PID-5.2"}},
		{Map: &MapStep{Path: "RXA-5.1", Table: map[string]string{"08": "45"}}},
		{DropSegment: &DropSegmentStep{Segment: "OBX", All: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, raw := canary(t), canaryRaw(t)
	f, err := CompileFilter(`type == "VXU" && count("RXA") == 2`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	first := make([][]byte, 8)
	for g := range 8 {
		wg.Go(func() {
			for range 50 {
				if ok, err := f.Match(m); !ok || err != nil {
					t.Errorf("match: %v %v", ok, err)
				}
				out, err := Run(context.Background(), steps, m)
				if err != nil {
					t.Error(err)
					return
				}
				first[g] = out.Raw()
			}
		})
	}
	wg.Wait()
	if !bytes.Equal(m.Raw(), raw) {
		t.Fatal("input message modified")
	}
	for g := range first {
		if !bytes.Equal(first[g], first[0]) {
			t.Error("runs disagree")
		}
	}
}

func TestBuildValidate(t *testing.T) {
	all := components.names()
	tests := []struct {
		name  string
		cfgs  []StepConfig
		want  string // Error()
		paths string // the same problems as *field.Error values, as conf sees them
	}{
		{"no kind", []StepConfig{{}}, "step 0: must set exactly one of " + all + " (got 0)", "[0]: must set exactly one of " + all + " (got 0)"},
		{"two kinds", []StepConfig{{Set: &SetStep{Path: "PID-8"}, Delete: &DeleteStep{Path: "PID-8"}}}, "step 0: must set exactly one of " + all + " (got 2)", "[0]: must set exactly one of " + all + " (got 2)"},
		{"set bad path", []StepConfig{{Set: &SetStep{Path: "PID8", Value: "ZZTEST"}}}, `step 0 (set): path: invalid path "PID8"`, `[0].set.path: invalid path "PID8"`},
		{"set empty path", []StepConfig{{Set: &SetStep{Value: "PAT123"}}}, "step 0 (set): path: required", "[0].set.path: required"},
		{"set delimiters", []StepConfig{{Set: &SetStep{Path: "MSH-2", Value: "^~"}}}, `step 0 (set): path: "MSH-2" holds the delimiters and cannot be changed`, `[0].set.path: "MSH-2" holds the delimiters and cannot be changed`},
		{"copy both bad", []StepConfig{{Copy: &CopyStep{From: "pid-3", To: "MSH-1"}}}, "step 0 (copy): from: invalid path \"pid-3\"\nstep 0 (copy): to: \"MSH-1\" holds the delimiters and cannot be changed", "[0].copy.from: invalid path \"pid-3\"\n[0].copy.to: \"MSH-1\" holds the delimiters and cannot be changed"},
		{"delete bad", []StepConfig{{Delete: &DeleteStep{Path: "PID-0"}}}, `step 0 (delete): path: invalid path "PID-0"`, `[0].delete.path: invalid path "PID-0"`},
		{"map empty table", []StepConfig{{Map: &MapStep{Path: "RXA-5.1"}}}, "step 0 (map): table: must have at least one entry", "[0].map.table: must have at least one entry"},
		{"drop MSH", []StepConfig{{DropSegment: &DropSegmentStep{Segment: "MSH"}}}, `step 0 (drop_segment): segment: must be a segment ID other than MSH, got "MSH"`, `[0].drop_segment.segment: must be a segment ID other than MSH, got "MSH"`},
		{"drop bad id", []StepConfig{{DropSegment: &DropSegmentStep{Segment: "obx"}}}, `step 0 (drop_segment): segment: must be a segment ID other than MSH, got "obx"`, `[0].drop_segment.segment: must be a segment ID other than MSH, got "obx"`},
		{"all problems, by index", []StepConfig{
			{Set: &SetStep{Path: "PID-8", Value: "F"}},
			{Map: &MapStep{Path: "x"}},
			{DropSegment: &DropSegmentStep{}},
		}, "step 1 (map): path: invalid path \"x\"\nstep 1 (map): table: must have at least one entry\nstep 2 (drop_segment): segment: must be a segment ID other than MSH, got \"\"",
			"[1].map.path: invalid path \"x\"\n[1].map.table: must have at least one entry\n[2].drop_segment.segment: must be a segment ID other than MSH, got \"\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Build(tc.cfgs)
			if err == nil || err.Error() != tc.want || steps != nil {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			if got := fieldPaths(err); got != tc.paths {
				t.Errorf("as field errors:\n%s\nwant\n%s", got, tc.paths)
			}
			noMarkers(t, tc.name, err)
		})
	}
	if steps, err := Build(nil); err != nil || len(steps) != 0 {
		t.Errorf("Build(nil) = %v, %v", steps, err)
	}
}

// fieldPaths renders err as conf does: each problem as a *field.Error with
// its path relative to the transforms list.
func fieldPaths(err error) string {
	var lines []string
	for _, e := range field.Flatten(err) {
		var fe *field.Error
		if !errors.As(e, &fe) {
			return "not a *field.Error: " + e.Error()
		}
		lines = append(lines, fe.Error())
	}
	return strings.Join(lines, "\n")
}

func TestStepConfigKind(t *testing.T) {
	tests := []struct {
		cfg  StepConfig
		want string
	}{
		{StepConfig{Set: &SetStep{}}, "set"},
		{StepConfig{Copy: &CopyStep{}}, "copy"},
		{StepConfig{Delete: &DeleteStep{}}, "delete"},
		{StepConfig{Map: &MapStep{}}, "map"},
		{StepConfig{DropSegment: &DropSegmentStep{}}, "drop_segment"},
		{StepConfig{}, ""},
		{StepConfig{Set: &SetStep{}, Map: &MapStep{}}, ""},
	}
	for _, tc := range tests {
		if got := tc.cfg.Kind(); got != tc.want {
			t.Errorf("Kind() = %q, want %q", got, tc.want)
		}
	}
	// Every kind StepConfig can hold is in the table.
	if len(components.order) != 18 {
		t.Errorf("component table has %d kinds", len(components.order))
	}
}

func TestRegistryDuplicatePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `"set" registered twice`) {
			t.Errorf("recover() = %v", r)
		}
	}()
	newRegistry(component{name: "set"}, component{name: "set"})
}

func TestBuildCopiesConfig(t *testing.T) {
	cfg := StepConfig{Map: &MapStep{Path: "PID-8", Table: map[string]string{"F": "W"}, Default: ptr("U")}}
	steps, err := Build([]StepConfig{cfg})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Map.Table["F"], *cfg.Map.Default = "X", "Y" // a later change of the config must not reach the step
	out, err := steps[0].Apply(t.Context(), canary(t))
	if err != nil {
		t.Fatal(err)
	}
	if v := out.Value("PID-8"); v != "W" {
		t.Errorf("PID-8 = %q, want W", v)
	}
}
