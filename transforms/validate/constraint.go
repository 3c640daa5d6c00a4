package validate

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// checkKind is what a constraint row tests.
type checkKind uint8

const (
	ckEq checkKind = iota + 1
	ckIn
	ckEmpty
	ckPosInt
	ckNum
	ckValueSet
	ckDate
	ckDateValid
	ckDateExact
	ckTSZ
	ckEqField
)

var checkKinds = map[string]checkKind{
	"eq": ckEq, "in": ckIn, "empty": ckEmpty, "posint": ckPosInt, "num": ckNum,
	"value_set": ckValueSet, "date": ckDate, "datevalid": ckDateValid,
	"dateexact": ckDateExact, "ts_z": ckTSZ, "eqfield": ckEqField,
}

// constraint is one row of constraints.tsv, compiled.
type constraint struct {
	field, comp, sub int
	check            checkKind
	args             [][]byte  // eq, in
	other            [2]int    // eqfield: field and component compared with
	vs               *valueSet // value_set
	when             cond
	rule             rule
	code, appCode    string
	msg              string
}

// parseConstraint compiles a constraints.tsv row: profiles, segment,
// target, check, arg, when, rule, id, message.
func (t *tables) parseConstraint(c []string) (constraint, error) {
	if len(c) < 9 {
		return constraint{}, fmt.Errorf("want 9 columns, got %d", len(c))
	}
	var con constraint
	var err error
	if con.field, con.comp, con.sub, err = parseTarget(c[2]); err != nil {
		return con, err
	}
	kind, ok := checkKinds[c[3]]
	if !ok {
		return con, fmt.Errorf("unknown check %q", c[3])
	}
	con.check = kind
	arg := c[4]
	switch kind {
	case ckEq, ckIn:
		for a := range strings.SplitSeq(arg, ",") {
			con.args = append(con.args, []byte(strings.TrimSpace(a)))
		}
	case ckValueSet:
		if con.vs = t.vs[arg]; con.vs == nil {
			return con, fmt.Errorf("unknown value set %q", arg)
		}
	case ckEqField:
		if con.other[0], con.other[1], _, err = parseTarget(arg); err != nil {
			return con, err
		}
	}
	if con.when, err = parseCond(c[5]); err != nil {
		return con, err
	}
	if con.rule, ok = ruleIndex[c[6]]; !ok {
		return con, fmt.Errorf("unknown rule %q", c[6])
	}
	con.msg = c[8]
	if id := c[7]; strings.HasPrefix(id, "IZ-") {
		con.msg += " (" + id + ")"
	}
	switch kind {
	case ckValueSet:
		con.code, con.appCode = "103", "5"
	case ckDate, ckDateValid, ckDateExact, ckTSZ:
		con.code, con.appCode = "102", "2"
	default:
		con.code, con.appCode = "102", "4"
	}
	return con, nil
}

// checkConstraint applies one constraint to the segment at pos. Every
// check needs its target valued, so that is tested before the condition.
func (r *run) checkConstraint(pos int, si *segInfo, v *segView, c *constraint) {
	if c.check == ckValueSet {
		f := v.field(c.field)
		if len(f.b) == 0 || (len(c.when) > 0 && !c.when.eval(r, v)) {
			return
		}
		for rep := 1; rep <= f.reps(r.d) && rep <= maxReps; rep++ {
			code := f.rep(r.d, rep).value(r.d)
			if len(code) > 0 && !c.vs.has(code) {
				r.add(c.rule, pos, hl7.Location{Segment: si.name, Seq: si.occ, Field: c.field, Rep: rep, Component: 1},
					c.code, c.appCode, c.msg)
			}
		}
		return
	}
	val := r.val(v, c.field, c.comp, c.sub)
	if len(val) == 0 || (len(c.when) > 0 && !c.when.eval(r, v)) {
		return
	}
	bad := false
	switch c.check {
	case ckEmpty:
		bad = true
	case ckEq, ckIn:
		bad = true
		for _, a := range c.args {
			if bytes.EqualFold(val, a) {
				bad = false
				break
			}
		}
	case ckPosInt:
		bad = !isPosInt(val)
	case ckNum:
		bad = !isNum(val)
	case ckDate:
		_, ok := parseDate(val)
		bad = !ok || len(val) != 8
	case ckDateValid:
		_, ok := parseDate(val)
		bad = !ok
	case ckDateExact:
		_, ok := parseDate(val)
		bad = ok && len(val) != 8
	case ckTSZ:
		bad = !isTSZ(val)
	case ckEqField:
		w := r.val(v, c.other[0], c.other[1], 0)
		bad = len(w) > 0 && !bytes.Equal(val, w)
	}
	if bad {
		loc := hl7.Location{Segment: si.name, Seq: si.occ, Field: c.field}
		if c.comp > 0 {
			loc.Rep, loc.Component, loc.SubComponent = 1, c.comp, c.sub
		}
		r.add(c.rule, pos, loc, c.code, c.appCode, c.msg)
	}
}
