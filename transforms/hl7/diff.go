package hl7

import (
	"fmt"
	"strconv"
)

// Change is one difference between two messages. Path names a field in
// HL7 numbering with the segment's occurrence, "PID-5" or "OBX[3]-5", or a
// whole segment added or removed, "OBX[4]". Old and New are wire text
// (escapes as sent), "" for an absent field or segment. They are message
// data: show them to the user who owns the message, never log them.
type Change struct {
	Path     string `json:"path"`
	Old      string `json:"old"`
	New      string `json:"new"`
	Segment  string `json:"segment"`         // segment ID
	Op       string `json:"op"`              // "changed", "added" or "removed"
	FieldNum int    `json:"field,omitempty"` // 0 for a whole segment
}

// Diff lists what turns a into b, in b's order: changed fields of segments
// both have, and segments added or removed. Segments are paired by a
// longest common subsequence of their IDs, so an inserted OBX shows as one
// added segment, not as every later segment changed. Occurrence numbers
// are those in a for removed segments and in b otherwise.
func Diff(a, b *Message) []Change {
	as, bs := segmentList(a), segmentList(b)
	// LCS over segment IDs (messages are at most a few hundred segments).
	n, m := len(as), len(bs)
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case as[i].Name() == bs[j].Name():
				l[i][j] = l[i+1][j+1] + 1
			case l[i+1][j] >= l[i][j+1]:
				l[i][j] = l[i+1][j]
			default:
				l[i][j] = l[i][j+1]
			}
		}
	}
	aOcc, bOcc := occurrences(as), occurrences(bs)
	var out []Change
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && as[i].Name() == bs[j].Name():
			out = append(out, fieldChanges(as[i], bs[j], segPath(bs[j].Name(), bOcc[j]))...)
			i, j = i+1, j+1
		case j < m && (i == n || l[i][j+1] >= l[i+1][j]):
			out = append(out, Change{Path: segPath(bs[j].Name(), bOcc[j]), New: string(bs[j].Raw()), Segment: bs[j].Name(), Op: "added"})
			j++
		default:
			out = append(out, Change{Path: segPath(as[i].Name(), aOcc[i]), Old: string(as[i].Raw()), Segment: as[i].Name(), Op: "removed"})
			i++
		}
	}
	return out
}

func segmentList(m *Message) []Segment {
	var out []Segment
	for s := range m.Segments() {
		out = append(out, s)
	}
	return out
}

// occurrences numbers each segment within its ID, from 1.
func occurrences(ss []Segment) []int {
	seen := map[string]int{}
	out := make([]int, len(ss))
	for i, s := range ss {
		seen[s.Name()]++
		out[i] = seen[s.Name()]
	}
	return out
}

func segPath(name string, occ int) string {
	if occ == 1 {
		return name
	}
	return name + "[" + strconv.Itoa(occ) + "]"
}

// fieldChanges compares two segments of the same ID field by field.
func fieldChanges(a, b Segment, path string) []Change {
	var out []Change
	for f := 1; f <= max(a.FieldCount(), b.FieldCount()); f++ {
		if a.Name() == "MSH" && f <= 2 {
			continue // delimiters: a change re-encodes everything, shown by the other fields
		}
		fa, fb := a.Field(f), b.Field(f)
		if string(fa.Raw()) != string(fb.Raw()) {
			out = append(out, Change{Path: fmt.Sprintf("%s-%d", path, f), Old: string(fa.Raw()), New: string(fb.Raw()),
				Segment: a.Name(), Op: "changed", FieldNum: f})
		}
	}
	return out
}
