package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

func TestFilterMatch(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{`type == "VXU"`, true},
		{`type == "QBP"`, false},
		{`type == "VXU" && sender in ["CLINIC1", "CLINIC2"]`, true},
		{`type == "VXU" && sender in ["CLINIC2", "CLINIC3"]`, false},
		{`field("PID-8") == "F"`, true},
		{`field("PID-8") == "M"`, false},
		{`count("RXA") > 0`, true},
		{`count("RXA") == 2 && count("OBX") == 3 && count("IN1") == 0`, true},
		{`has("PD1") && !has("IN1")`, true},
		{`trigger == "V04" && control_id == "CTL0001" && receiver == "STATE"`, true},
		{`version == "2.5.1" && profile == "Z22"`, true},
		{`field("PID-11.1") == "1 MAIN ST & APT 2"`, true}, // decoded
		{`field("RXA[2]-5.1") == "20"`, true},
		{`field("PID-99") == ""`, true}, // absent is ""
		{`field("MSH-9") == "VXU^V04^VXU_V04"`, true},
		{`field("PID-5.1") startsWith "ZZ"`, true},
		{`upper(field("NK1-3.2")) == "MOTHER"`, true},
		{`let t = type; t == "VXU" or t == "QBP"`, true},
		{`any(["RXA", "RXR"], has(#))`, true},
		{`field("RXA-5.1") in ["08", "45"] ? true : false`, true},
	}
	m := canary(t)
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := CompileFilter(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Match(m)
			if err != nil || got != tc.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tc.want)
			}
			if f.String() != tc.expr {
				t.Errorf("String() = %q", f.String())
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // prefix of the error text
	}{
		{``, "mapping: compile filter: "},
		{`type ==`, "mapping: compile filter: unexpected token EOF"},
		{`count("RXA")`, "mapping: compile filter: expected bool, but got int"},
		{`type`, "mapping: compile filter: expected bool, but got string"},
		{`typo == "VXU"`, "mapping: compile filter: unknown name typo (1:1)"},
		{`field("PID8") == ""`, `mapping: compile filter: field("PID8"): malformed path (1:7)`},
		{`has("pid")`, `mapping: compile filter: has("pid"): not a segment id (1:5)`},
		{`count("RX") > 1`, `mapping: compile filter: count("RX"): not a segment id (1:7)`},
		{`field("PID-8", "x") == ""`, "mapping: compile filter: field() takes exactly one argument (1:1)"},
		{`has()`, "mapping: compile filter: has() takes exactly one argument (1:1)"},
		{`__msg != nil`, "mapping: compile filter: unknown name __msg (1:1)"},
		{`field(1) == ""`, "mapping: compile filter: cannot use int as argument (type string) to call field"},
		{`type == 1`, "mapping: compile filter: invalid operation: == (mismatched types string and int)"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := CompileFilter(tc.expr)
			if err == nil || f != nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v\nwant prefix %q", err, tc.want)
			}
		})
	}
}

// TestFilterRuntimeErrors feeds canary values into expressions that fail at
// run time: the error locates the failure and holds no value.
func TestFilterRuntimeErrors(t *testing.T) {
	tests := []struct {
		expr string
		is   error
		text string
	}{
		{`int(field("PID-5.1")) > 0`, ErrFilterEval, "filter 1:1: mapping: filter: evaluation failed"},
		{`float(field("PID-3.1")) > 0`, ErrFilterEval, "filter 1:1: mapping: filter: evaluation failed"},
		{`field(field("PID-3.1")) == ""`, ErrFilterPath, "filter 1:1: mapping: filter: malformed path in field()"},
		{`type == "VXU" && has(field("PID-7"))`, ErrFilterSegment, "filter 1:18: mapping: filter: invalid segment id in has() or count()"},
		{`count(field("PID-5.1")) > 0`, ErrFilterSegment, "filter 1:1: mapping: filter: invalid segment id in has() or count()"},
		{`date(field("PID-5.1")).Year() > 2000`, ErrFilterEval, "filter 1:1: mapping: filter: evaluation failed"},
		{`field("PID-5.1") matches field("PID-3") + "("`, ErrFilterEval, ""},
		{`fromJSON(field("PID-5.1")) == nil`, ErrFilterEval, ""},
	}
	m := canary(t)
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := CompileFilter(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := f.Match(m)
			var fe *FilterError
			if ok || !errors.As(err, &fe) || !errors.Is(err, tc.is) {
				t.Fatalf("got %v, %v; want a *FilterError wrapping %v", ok, err, tc.is)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("error = %q, want %q", err, tc.text)
			}
			noMarkers(t, tc.expr, err)
		})
	}
}

func FuzzFilterCompile(f *testing.F) {
	for _, s := range []string{
		`type == "VXU"`, `type == "VXU" && sender in ["CLINIC1", "CLINIC2"]`, `field("PID-8") == "F"`,
		`count("RXA") > 0`, `has("PD1")`, `field(field("PID-3.1")) == ""`, `int(field("PID-8")) > 1`,
		`let x = 1; x > 0`, `any(["RXA"], has(#))`, `__msg == nil`, `field("PID-8", 1)`,
	} {
		f.Add(s)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20250101||VXU^V04^VXU_V04|1|P|2.5.1\rPID|1||PAT123^^^MR||ZZTEST^ALICE||20200101|F\rRXA|0|1\r"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 512 {
			t.Skip("long expression")
		}
		flt, err := CompileFilter(src)
		if err != nil {
			return
		}
		if _, err := flt.Match(m); err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("Match error %T is not a *FilterError", err)
			}
			noMarkers(t, src, err)
		}
	})
}
