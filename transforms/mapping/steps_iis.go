package mapping

import (
	"bytes"
	"context"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// Steps that know immunization registries.

type facilityStep struct {
	table map[string]string
	def   string
}

func (c *FacilityStep) build() (Step, error) {
	return facilityStep{table: maps.Clone(c.Table), def: c.Default}, nil
}

// facilityPath is the sending facility the facility step maps.
const facilityPath = "MSH-4.1"

// Apply maps MSH-4.1 through the table.
func (s facilityStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	v := m.Value(facilityPath)
	to, ok := s.table[v]
	if !ok {
		if s.def == "" {
			return nil, &hl7.PathError{Path: facilityPath, Err: ErrUnmappedFacility}
		}
		to = s.def
	}
	if to == v {
		return m, nil
	}
	return m.Set(facilityPath, to)
}

type ndcToCVXStep struct {
	segment string // "RXA"
	field   int    // 5
	keep    bool
}

func (c *NDCToCVXStep) build() (Step, error) {
	p := c.Path
	if p == "" {
		p = "RXA-5"
	}
	n, _ := strconv.Atoi(p[4:]) // Validate checked SEG-n
	return ndcToCVXStep{segment: p[:3], field: n, keep: c.OnUnknown == "keep"}, nil
}

// isNDC reports whether a coding system (CWE component 3) names NDC.
func isNDC(system string) bool {
	return strings.EqualFold(system, "NDC") || strings.EqualFold(system, "99NDC")
}

// Apply rewrites every NDC-coded field into CVX, one segment edit each
// (which hl7 keeps aside until the message's bytes are needed).
func (s ndcToCVXStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	d := m.Delims()
	out := m // edits go to out; the loop reads m, which never changes
	i, occ := -1, 0
	for seg := range m.Segments() {
		i++
		if seg.Name() != s.segment {
			continue
		}
		occ++
		f := seg.Field(s.field)
		rep := f.Rep(1)
		if !isNDC(rep.Component(3).String()) {
			continue
		}
		newRep, ok := ndcRep(rep, d)
		if !ok {
			if s.keep {
				continue
			}
			return nil, &hl7.PathError{Path: s.segment + "[" + strconv.Itoa(occ) + "]-" + strconv.Itoa(s.field) + ".1", Err: ErrUnknownNDC}
		}
		var err error
		if out, err = out.ReplaceSegment(i, replaceField(seg.Raw(), d.Field, s.field, newRep, f.Raw()[len(rep.Raw()):])); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ndcRep returns the repetition rep (NDC^text^NDC[^alt triplet…]) rewritten
// as CVX^short name^CVX^NDC^text^NDC, keeping components 7 and on. When the
// NDC is not in the crosswalk but the alternate triplet is CVX, the
// triplets are swapped instead; otherwise ok is false.
func ndcRep(rep hl7.Field, d hl7.Delimiters) (out []byte, ok bool) {
	raw := rep.Raw()
	var comps [6][]byte // components 1-6; rest holds 7 and on, with its leading separator
	rest := raw
	for i := range comps {
		c, r, more := bytes.Cut(rest, []byte{d.Component})
		comps[i], rest = c, r
		if !more {
			rest = nil
			break
		}
	}
	if rest != nil {
		rest = raw[len(raw)-len(rest)-1:]
	}
	out = make([]byte, 0, len(raw)+48)
	join := func(parts ...[]byte) []byte {
		for i, p := range parts {
			if i > 0 {
				out = append(out, d.Component)
			}
			out = append(out, p...)
		}
		return append(out, rest...)
	}
	if cvx, ok := lookupNDC(rep.Component(1).String()); ok {
		return join([]byte(hl7.Escape(cvx.code, d)), []byte(hl7.Escape(cvx.short, d)), []byte("CVX"), comps[0], comps[1], comps[2]), true
	}
	if strings.EqualFold(rep.Component(6).String(), "CVX") && rep.Component(4).String() != "" {
		return join(comps[3], comps[4], comps[5], comps[0], comps[1], comps[2]), true
	}
	return nil, false
}

// ndcCVX is what an NDC translates to.
type ndcCVX struct{ code, short string }

// ndcCache remembers the translations found (string → ndcCVX). The codes
// tables never change, and only NDCs in the crosswalk are stored, so it is
// bounded by the crosswalk's size times the few ways of writing an NDC.
var ndcCache sync.Map

// lookupNDC translates an NDC as written in a message to its CVX code and
// CDC short name.
func lookupNDC(ndc string) (ndcCVX, bool) {
	ndc = strings.TrimSpace(ndc)
	if v, ok := ndcCache.Load(ndc); ok {
		return v.(ndcCVX), true
	}
	code, ok := codes.LookupNDC(ndc)
	if !ok {
		return ndcCVX{}, false
	}
	v := ndcCVX{code: code}
	if e, ok := codes.LookupCVX(code); ok {
		v.code, v.short = e.Code, e.Short
	}
	ndcCache.Store(ndc, v)
	return v, true
}

// replaceField returns a copy of the (non-MSH) segment seg with field n
// replaced by val followed by more; the field exists.
func replaceField(seg []byte, fs byte, n int, val, more []byte) []byte {
	start := 3
	for k := 0; k < n; k++ {
		i := bytes.IndexByte(seg[start:], fs)
		if i < 0 {
			return seg // cannot happen: the caller read field n
		}
		start += i + 1
	}
	end := len(seg)
	if i := bytes.IndexByte(seg[start:], fs); i >= 0 {
		end = start + i
	}
	out := make([]byte, 0, len(seg)-(end-start)+len(val)+len(more))
	out = append(out, seg[:start]...)
	out = append(out, val...)
	out = append(out, more...)
	return append(out, seg[end:]...)
}
