package mapping

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

func TestScript(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		steps    int
		timeout  time.Duration
		filtered bool
		check    map[string]string // path → value expected in the output
		is       error             // run-time error
		text     string
	}{
		{name: "edits", src: `
def transform(msg):
    if msg.get("MSH-4.1") == "CLINIC1":
        msg.set("MSH-4.1", "ORG0042")
    msg.set("PID-3.4", msg.get("MSH-4.1"))
    msg.delete("PID-13")
    if msg.has("OBX") and msg.segments("OBX") == 3:
        msg.drop("OBX", all=True)
    msg.append("NTE|1||added by script")
`, check: map[string]string{"MSH-4.1": "ORG0042", "PID-3.4": "ORG0042", "PID-13": "", "OBX-1": "", "NTE-3": "added by script"}},
		{name: "drop first only", src: "def transform(msg):\n    msg.drop('OBX')\n    msg.set('PID-8', str(msg.segments('OBX')))\n",
			check: map[string]string{"PID-8": "2"}},
		{name: "return value ignored", src: "def transform(msg):\n    return None\n", check: map[string]string{"PID-8": "F"}},
		{name: "true keeps", src: "def transform(msg):\n    return msg.get('PID-8') == 'F'\n", check: map[string]string{"PID-8": "F"}},
		{name: "filter out", src: "def transform(msg):\n    return msg.get('MSH-9.1') != 'VXU'\n", filtered: true},
		{name: "globals and helpers", src: `
CODES = {"08": "45", "20": "107"}
def recode(v):
    return CODES.get(v, v)
def transform(msg):
    for i in range(1, msg.segments("RXA") + 1):
        p = "RXA[%d]-5.1" % i
        msg.set(p, recode(msg.get(p)))
`, check: map[string]string{"RXA-5.1": "45", "RXA[2]-5.1": "107"}},
		{name: "step limit", src: "def transform(msg):\n    n = 0\n    for i in range(1000000):\n        n += i\n", steps: 1000,
			is: ErrScriptSteps, text: "step 0 (script): script exceeded max_steps (1000) at line 3"},
		{name: "timeout", src: "def transform(msg):\n    for i in range(100000000):\n        pass\n", steps: maxScriptMaxSteps, timeout: 5 * time.Millisecond,
			is: ErrScriptTimeout, text: "step 0 (script): script exceeded timeout (5ms) at line 2"},
		{name: "fail quotes a value", src: "def transform(msg):\n    fail('bad patient ' + msg.get('PID-5.1') + ' ' + msg.get('PID-7'))\n",
			is: ErrScriptFailed, text: "step 0 (script): script failed at line 2"},
		{name: "type error quotes a value", src: "def transform(msg):\n    x = msg.get('PID-3.1')\n    return x + 1\n",
			is: ErrScriptFailed, text: "step 0 (script): script failed at line 3"},
		{name: "key error quotes a value", src: "def transform(msg):\n    return {}[msg.get('PID-5.1')]\n",
			is: ErrScriptFailed, text: "step 0 (script): script failed at line 2"},
		{name: "method on missing segment", src: "def transform(msg):\n    msg.set('PID-8', 'M')\n    msg.set('IN1-2', msg.get('PID-5.1'))\n",
			is: hl7.ErrNotFound, text: "step 0 (script): script failed at line 3: hl7: segment not found"},
		{name: "path built from data", src: "def transform(msg):\n    msg.get(msg.get('PID-5.1'))\n",
			is: ErrScriptPath, text: "step 0 (script): script failed at line 2: mapping: script: malformed path"},
		{name: "bad segment id", src: "def transform(msg):\n    msg.has(msg.get('PID-3.1'))\n",
			is: ErrScriptSegment, text: "step 0 (script): script failed at line 2: mapping: script: invalid segment id"},
		{name: "drop MSH", src: "def transform(msg):\n    msg.drop('MSH')\n",
			is: ErrScriptSegment, text: "step 0 (script): script failed at line 2: mapping: script: invalid segment id"},
		{name: "set delimiters", src: "def transform(msg):\n    msg.set('MSH-2', 'x')\n",
			is: hl7.ErrReadOnly, text: "step 0 (script): script failed at line 2: hl7: element cannot be edited"},
		{name: "append bad segment", src: "def transform(msg):\n    msg.append(msg.get('PID-5.1') + '\\rPID|2')\n",
			is: hl7.ErrBadSegmentID, text: "step 0 (script): script failed at line 2: hl7: invalid segment id"},
		{name: "wrong arguments", src: "def transform(msg):\n    msg.set('PID-8')\n",
			is: ErrScriptArgs, text: "step 0 (script): script failed at line 2: mapping: script: wrong arguments to a message method"},
		{name: "no such method", src: "def transform(msg):\n    msg.open('/etc/passwd')\n",
			is: ErrScriptFailed, text: "step 0 (script): script failed at line 2"},
		{name: "recursion", src: "def f(n):\n    return f(n - 1) if n else 0\ndef transform(msg):\n    f(3)\n",
			is: ErrScriptFailed, text: "step 0 (script): script failed at line 2"},
		{name: "print is discarded", src: "def transform(msg):\n    print(msg, msg.get('PID-5.1'))\n", check: map[string]string{"PID-8": "F"}},
		{name: "str of msg hides data", src: "def transform(msg):\n    msg.set('PID-8', str(msg) + repr(msg) + ' '.join(dir(msg)))\n",
			check: map[string]string{"PID-8": "<hl7 message><hl7 message>append delete drop get has segments set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Build([]StepConfig{{Script: &ScriptStep{Source: tc.src, MaxSteps: tc.steps, Timeout: tc.timeout}}})
			if err != nil {
				t.Fatal(err)
			}
			m := canary(t)
			out, err := Run(t.Context(), steps, m)
			if tc.is != nil {
				var se *ScriptError
				if out != nil || !errors.Is(err, tc.is) || !errors.As(err, &se) || err.Error() != tc.text {
					t.Errorf("got %v, %v\nwant %s", out, err, tc.text)
				}
				noMarkers(t, tc.name, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.filtered != (out == nil) {
				t.Fatalf("filtered = %v, want %v", out == nil, tc.filtered)
			}
			for p, want := range tc.check {
				if got := out.Value(p); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
		})
	}
}

func TestScriptBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ScriptStep
		want string
	}{
		{"syntax error", ScriptStep{Source: "def transform(msg):\n    x = (\n"}, "step 0 (script): source: line 3:1: got outdent, want primary expression"},
		{"syntax error in a file", ScriptStep{File: "fix.star", Source: "def transform(msg):\n  if x\n"}, "step 0 (script): file: line 3:1: got newline, want ':'"},
		{"undefined names", ScriptStep{Source: "def transform(msg):\n    foo(msg)\n    bar()\n"}, "step 0 (script): source: line 2:5: undefined: foo; line 3:5: undefined: bar"},
		{"while", ScriptStep{Source: "def transform(msg):\n    while True:\n        pass\n"}, "step 0 (script): source: line 2:5: this Starlark dialect does not support while loops"},
		{"load", ScriptStep{Source: "load('x.star', 'y')\ndef transform(msg):\n    pass\n"}, "step 0 (script): source: line 1: load() is not allowed"},
		{"no transform", ScriptStep{Source: "def transfrom(msg):\n    pass\n"}, "step 0 (script): source: must define transform(msg)"},
		{"transform not a function", ScriptStep{Source: "transform = 1\n"}, "step 0 (script): source: must define transform(msg)"},
		{"transform arity", ScriptStep{Source: "x = 1\ndef transform(msg, extra):\n    pass\n"}, "step 0 (script): source: line 2: transform must take exactly one parameter (msg)"},
		{"top level fails", ScriptStep{Source: "x = {}['missing']\ndef transform(msg):\n    pass\n"}, `step 0 (script): source: line 1: key "missing" not in dict`},
		{"top level too long", ScriptStep{Source: "[i for i in range(1000000)]\ndef transform(msg):\n    pass\n", MaxSteps: 100},
			"step 0 (script): source: top level: script exceeded max_steps (100) at line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			_, err := Build([]StepConfig{{Script: &cfg}})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestScriptCancelled checks that an ended ctx stops a running script and
// is reported as such.
func TestScriptCancelled(t *testing.T) {
	steps, err := Build([]StepConfig{{Script: &ScriptStep{
		Source:   "def transform(msg):\n    for i in range(100000000):\n        pass\n",
		MaxSteps: maxScriptMaxSteps, Timeout: maxScriptTimeout,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeoutCause(t, 5*time.Millisecond, errShutdown)
	defer cancel()
	start := time.Now()
	_, err = Run(ctx, steps, canary(t))
	if !errors.Is(err, errShutdown) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	if !strings.HasPrefix(err.Error(), "step 0 (script): ") {
		t.Errorf("err = %v", err)
	}
}

var errShutdown = errors.New("shutting down")

func contextWithTimeoutCause(t *testing.T, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(t.Context(), d, cause)
}
