package validate

import (
	"bytes"
	"cmp"
	"slices"
	"sync"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// maxReps bounds the repetitions of one field that are checked one by
// one, so that a hostile message cannot make validation quadratic.
const maxReps = 32

// segInfo is one segment of the message being checked.
type segInfo struct {
	seg  hl7.Segment
	id   segID
	name string
	occ  int // 1-based occurrence of the segment ID in the message
}

// keyed is a finding with its sort key.
type keyed struct {
	pos int // index of the segment it was found at (len(segs) = end of message)
	ord int // order of emission
	f   Finding
}

// run is the state of one Validate call. Runs are pooled: a run holds
// views of the message only while Validate works on it, and release drops
// them before the run goes back to the pool.
type run struct {
	v     *Validator
	p     *profile
	d     hl7.Delimiters
	today int
	segs  []segInfo
	out   []keyed

	// VXU state, filled in message order (see observeVXU).
	vac     vaccine // RXA-5 of the RXA at vacPos
	vacPos  int
	pidSeen bool
	dob     int
	dobOK   bool
	grp     orderGroup
	inGroup bool
	orc     int // position of the last ORC not yet tied to an RXA, or -1

	buf   [24]segInfo
	spans spans
	cs    compView      // components of the repetition being checked
	vals  [16]cachedVal // values read by conditions and constraints in the current segment
	nvals int
}

// cachedVal is the value of element field.comp.sub (repetition 1).
type cachedVal struct {
	f, c, s int
	v       []byte
}

// val returns the plain value of repetition 1 of field f, component c,
// sub-component s of the segment being checked, read once per segment:
// conditions and constraints often test the same element (RXA-20 …).
func (r *run) val(v *segView, f, c, s int) []byte {
	for i := range r.nvals {
		if e := &r.vals[i]; e.f == f && e.c == c && e.s == s {
			return e.v
		}
	}
	val := v.at(f, c, s).value(r.d)
	if r.nvals < len(r.vals) {
		r.vals[r.nvals] = cachedVal{f, c, s, val}
		r.nvals++
	}
	return val
}

var runPool = sync.Pool{New: func() any { return new(run) }}

// view splits the segment at pos into fields. The view is valid until the
// next call.
func (r *run) view(pos int) segView { return split(r.segs[pos].seg, r.d, &r.spans) }

// vaccine is what RXA-5 of one RXA names.
type vaccine struct {
	cvx codes.CVX
	ok  bool // RXA-5 is a known CVX, or an NDC that maps to one
}

// newRun takes a run from the pool and lists the segments of m.
func newRun(v *Validator, p *profile, m *hl7.Message) *run {
	r := runPool.Get().(*run)
	r.v, r.p, r.d, r.today = v, p, m.Delims(), dayNumber(v.now())
	r.segs, r.orc, r.vacPos = r.buf[:0], -1, -1
	type count struct {
		id segID
		n  int
	}
	var countBuf [16]count
	counts := countBuf[:0]
	var many map[segID]int // when a message has more distinct segment IDs than countBuf
	for seg := range m.Segments() {
		id := idOfRaw(seg.Raw())
		occ := 0
		for i := range counts {
			if counts[i].id == id {
				counts[i].n++
				occ = counts[i].n
				break
			}
		}
		if occ == 0 {
			switch {
			case many != nil:
				many[id]++
				occ = many[id]
			case len(counts) < cap(countBuf):
				counts = append(counts, count{id, 1})
				occ = 1
			default:
				many = map[segID]int{id: 1}
				occ = 1
			}
		}
		name, ok := p.names[id]
		if !ok {
			name = seg.Name()
		}
		r.segs = append(r.segs, segInfo{seg: seg, id: id, name: name, occ: occ})
	}
	return r
}

// release drops every reference r holds to the message (segments,
// cached values, vaccines, the findings slice) and pools it. The offset
// arrays hold no references and are left as they are.
func (r *run) release() {
	clear(r.buf[:min(len(r.segs), len(r.buf))])
	clear(r.vals[:])
	r.v, r.p, r.segs, r.out = nil, nil, nil, nil
	r.vac, r.grp, r.cs.b = vaccine{}, orderGroup{}, nil
	r.pidSeen, r.dobOK, r.inGroup, r.nvals, r.dob = false, false, false, 0, 0
	runPool.Put(r)
}

// add records a finding unless its rule is ignored.
func (r *run) add(ru rule, pos int, loc hl7.Location, code, appCode, msg string) {
	s := r.v.sev[ru]
	if s == Ignore {
		return
	}
	r.out = append(r.out, keyed{pos: pos, ord: len(r.out), f: Finding{
		Rule: ruleTable[ru].id, Severity: s, Location: loc, Code: code, AppCode: appCode, Message: msg,
	}})
}

// check runs every rule of the profile: the structure first, then each
// segment's fields and conformance statements, with the MQE-style rules
// observing the segments in the same pass.
func (r *run) check() {
	r.structure()
	for i := range r.segs {
		si := &r.segs[i]
		spec := r.p.segs[si.id]
		if spec == nil && !r.observes(si.id) {
			continue
		}
		v := r.view(i)
		if spec != nil {
			r.fields(i, si, &v, spec)
		}
		if r.p.vxu {
			r.observeVXU(i, si, &v)
		} else {
			r.observeQBP(i, si, &v)
		}
	}
	if r.p.vxu && r.inGroup {
		r.dose()
	}
}

// observes reports whether the MQE-style rules read segments with ID id.
func (r *run) observes(id segID) bool {
	if r.p.vxu {
		return id == idPID || id == idORC || id == idRXA || id == idOBX
	}
	return id == idQPD
}

// result returns the findings in message order.
func (r *run) result() []Finding {
	if len(r.out) == 0 {
		return nil
	}
	slices.SortFunc(r.out, func(a, b keyed) int {
		la, lb := a.f.Location, b.f.Location
		return cmp.Or(
			cmp.Compare(a.pos, b.pos),
			cmp.Compare(la.Field, lb.Field),
			cmp.Compare(la.Rep, lb.Rep),
			cmp.Compare(la.Component, lb.Component),
			cmp.Compare(la.SubComponent, lb.SubComponent),
			cmp.Compare(a.ord, b.ord),
		)
	})
	out := make([]Finding, len(r.out))
	for i := range r.out {
		out[i] = r.out[i].f
	}
	return out
}

// fields checks the fields of the segment at pos against its spec: usage,
// cardinality, required components, value sets, then the conformance
// statements.
func (r *run) fields(pos int, si *segInfo, v *segView, spec *segSpec) {
	d := r.d
	r.nvals = 0
	for i := range spec.checks {
		fc := &spec.checks[i]
		f := v.field(fc.n)
		if !f.valued(d) {
			if fc.usage == uR || (fc.pred != nil && fc.pred.eval(r, v)) {
				r.add(fc.missingRule, pos, hl7.Location{Segment: si.name, Seq: si.occ, Field: fc.n}, "101", "7", fc.msgMissing)
			}
			continue
		}
		perRep := len(fc.comps) > 0 || fc.vs != nil
		rest := f.b
		for rep := 1; ; rep++ {
			j := bytes.IndexByte(rest, d.Repetition)
			cur := rest
			if j >= 0 {
				cur = rest[:j]
			}
			if rep == fc.max+1 && fc.max > 0 {
				r.add(rCardinality, pos, hl7.Location{Segment: si.name, Seq: si.occ, Field: fc.n, Rep: rep}, "102", "", fc.msgTooMany)
			}
			if perRep && rep <= maxReps {
				// A single repetition is the field, already known to be valued.
				if rv := (elem{b: cur, lvl: lvRep, ok: true}); (j < 0 && rep == 1) || rv.valued(d) {
					cs := &r.cs
					cs.split(cur, d.Component)
					for _, c := range fc.comps {
						if !cs.comp(c.n).valued(d) {
							r.add(c.rule, pos, hl7.Location{Segment: si.name, Seq: si.occ, Field: fc.n, Rep: rep, Component: c.n}, "101", "7", c.msg)
						}
					}
					if fc.vs != nil {
						r.checkCode(pos, si, fc, cs, rep)
					}
				}
			}
			if j < 0 || rep >= maxReps || (!perRep && rep > fc.max) {
				break
			}
			rest = rest[j+1:]
		}
	}
	for i := range spec.cons {
		r.checkConstraint(pos, si, v, &spec.cons[i])
	}
}

// checkCode checks repetition rep of a coded field against its value set.
// A CE/CWE passes when its identifier or its alternate identifier is in
// the set; RXA-5 is resolved the way a registry resolves it (vaccineCode).
func (r *run) checkCode(pos int, si *segInfo, fc *fieldCheck, rv *compView, rep int) {
	d := r.d
	loc := hl7.Location{Segment: si.name, Seq: si.occ, Field: fc.n, Rep: rep}
	if fc.composite {
		loc.Component = 1
	} else if rep == 1 {
		loc.Rep = 0
	}
	if fc.vs.vaccine {
		comp, cvx, ok := r.v.t.vaccineCode(rv.comp(1).value(d), rv.comp(3).value(d),
			rv.comp(4).value(d), rv.comp(6).value(d))
		if rep == 1 {
			r.vac, r.vacPos = vaccine{cvx: cvx, ok: ok}, pos
		}
		if !ok {
			loc.Rep, loc.Component = rep, comp
			r.add(fc.vsRule, pos, loc, "103", "5", fc.msgVS)
		}
		return
	}
	code := rv.comp(1).value(d)
	if len(code) == 0 || fc.vs.has(code) {
		return
	}
	if fc.composite {
		if alt := rv.comp(4).value(d); len(alt) > 0 && fc.vs.has(alt) {
			return
		}
	}
	r.add(fc.vsRule, pos, loc, "103", "5", fc.msgVS)
}
