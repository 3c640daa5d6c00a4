package validate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// cond is a condition on the fields of one segment: every term must hold.
// An empty cond always holds.
type cond []term

// term is one test of a cond, on repetition 1 of field[.comp].
type term struct {
	field, comp int
	op          byte // '=' equals, '!' differs, 'i' one of, 'n' none of, 'v' valued
	vals        [][]byte
}

// parseCond reads the condition syntax of predicates.tsv and
// constraints.tsv: terms joined by " & ", each "F[.C]=V", "F[.C]!=V",
// "F[.C] in V1,V2", "F[.C] notin V1,V2" or "F[.C] valued".
func parseCond(s string) (cond, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var c cond
	for part := range strings.SplitSeq(s, "&") {
		part = strings.TrimSpace(part)
		var t term
		var el, vals string
		switch {
		case strings.HasSuffix(part, " valued"):
			t.op, el = 'v', strings.TrimSuffix(part, " valued")
		case strings.Contains(part, " notin "):
			t.op = 'n'
			el, vals, _ = strings.Cut(part, " notin ")
		case strings.Contains(part, " in "):
			t.op = 'i'
			el, vals, _ = strings.Cut(part, " in ")
		case strings.Contains(part, "!="):
			t.op = '!'
			el, vals, _ = strings.Cut(part, "!=")
		case strings.Contains(part, "="):
			t.op = '='
			el, vals, _ = strings.Cut(part, "=")
		default:
			return nil, fmt.Errorf("bad condition term %q", part)
		}
		var err error
		if t.field, t.comp, _, err = parseTarget(strings.TrimSpace(el)); err != nil {
			return nil, err
		}
		if t.op != 'v' {
			for v := range strings.SplitSeq(vals, ",") {
				t.vals = append(t.vals, []byte(strings.TrimSpace(v)))
			}
		}
		c = append(c, t)
	}
	return c, nil
}

// parseTarget reads "F", "F.C" or "F.C.S".
func parseTarget(s string) (f, c, sub int, err error) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return 0, 0, 0, fmt.Errorf("bad element %q", s)
	}
	nums := [3]int{}
	for i, p := range parts {
		if nums[i], err = strconv.Atoi(p); err != nil || nums[i] < 1 {
			return 0, 0, 0, fmt.Errorf("bad element %q", s)
		}
	}
	return nums[0], nums[1], nums[2], nil
}

// eval reports whether the condition holds on the segment r is checking.
func (c cond) eval(r *run, v *segView) bool {
	for i := range c {
		t := &c[i]
		val := r.val(v, t.field, t.comp, 0)
		ok := false
		switch t.op {
		case 'v':
			ok = len(val) > 0
		case '=':
			ok = bytes.EqualFold(val, t.vals[0])
		case '!':
			ok = !bytes.EqualFold(val, t.vals[0])
		case 'i', 'n':
			in := false
			for _, w := range t.vals {
				if bytes.EqualFold(val, w) {
					in = true
					break
				}
			}
			ok = in == (t.op == 'i')
		}
		if !ok {
			return false
		}
	}
	return true
}

// trimmed returns the wire bytes of an element, trimmed of spaces.
func trimmed(f hl7.Field) []byte { return bytes.TrimSpace(f.Raw()) }
