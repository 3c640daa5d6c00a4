package validate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// maxKids bounds the children of one structure group, so the walker can
// count them in a fixed array. The NIST profiles have at most 9.
const maxKids = 16

// node is a segment or a group of a profile's message structure.
type node struct {
	seg      string // segment ID; "" for a group
	id       segID  // seg as a number
	name     string // group name (VXU_V04.ORDER) or segment ID
	usage    usage
	max      int // maximum occurrences; -1 = unbounded
	kids     []*node
	members  []segID // group: every segment inside it
	starters []segID // group: the segments that may open an instance
	first    string  // group: its first required segment, named when the group is missing
}

// has reports whether segment id appears anywhere in the structure.
func (n *node) has(id segID) bool {
	if n.seg != "" {
		return n.id == id
	}
	return slices.Contains(n.members, id)
}

// opens reports whether a segment seg, met while this child is next,
// belongs to it: the segment itself, or a segment that may open an
// instance of the group.
func (n *node) opens(id segID) bool {
	if n.seg != "" {
		return n.id == id
	}
	return slices.Contains(n.starters, id)
}

// loadStructure reads a *_structure.txt file: one element per line,
// "SEG [U min..max]" or "GROUP [U min..max] {" … "}".
func loadStructure(name string) (*node, error) {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("validate: embedded table missing: %w", err)
	}
	root := &node{name: "message", usage: uR, max: 1}
	stack := []*node{root}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "}" {
			if len(stack) < 2 {
				return nil, fmt.Errorf("validate: %s line %d: unbalanced }", name, i+1)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		n, open, err := parseStructureLine(line)
		if err != nil {
			return nil, fmt.Errorf("validate: %s line %d: %w", name, i+1, err)
		}
		parent := stack[len(stack)-1]
		parent.kids = append(parent.kids, n)
		if len(parent.kids) > maxKids {
			return nil, fmt.Errorf("validate: %s line %d: more than %d elements in a group", name, i+1, maxKids)
		}
		if open {
			stack = append(stack, n)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("validate: %s: unclosed group", name)
	}
	root.index()
	return root, nil
}

func parseStructureLine(line string) (n *node, open bool, err error) {
	open = strings.HasSuffix(line, "{")
	line = strings.TrimSpace(strings.TrimSuffix(line, "{"))
	name, spec, ok := strings.Cut(line, " [")
	if !ok || !strings.HasSuffix(spec, "]") {
		return nil, false, fmt.Errorf("bad element %q", line)
	}
	u, card, ok := strings.Cut(strings.TrimSuffix(spec, "]"), " ")
	if !ok {
		return nil, false, fmt.Errorf("bad element %q", line)
	}
	_, maxs, ok := strings.Cut(card, "..")
	if !ok {
		return nil, false, fmt.Errorf("bad cardinality %q", card)
	}
	n = &node{name: name, usage: parseUsage(u), max: -1}
	if maxs != "*" {
		if n.max, err = strconv.Atoi(maxs); err != nil {
			return nil, false, fmt.Errorf("bad cardinality %q", card)
		}
	}
	if !open {
		if len(name) != 3 {
			return nil, false, fmt.Errorf("bad segment ID %q", name)
		}
		n.seg, n.id = name, idOf(name)
	}
	return n, open, nil
}

// index fills members, starters and first of every group below n. A group
// instance may be opened by the segments that can come first in it (its
// first child's, then the next child's while the ones before are not
// required) and also by any segment it directly requires, so that an RXA
// without its ORC opens an ORDER group with the ORC reported missing.
func (n *node) index() {
	if n.seg != "" {
		return
	}
	add := func(set []segID, ids ...segID) []segID {
		for _, id := range ids {
			if !slices.Contains(set, id) {
				set = append(set, id)
			}
		}
		return set
	}
	leading := true
	for _, k := range n.kids {
		k.index()
		if k.seg != "" {
			n.members = add(n.members, k.id)
		} else {
			n.members = add(n.members, k.members...)
		}
		if leading || (k.seg != "" && k.usage == uR) {
			if k.seg != "" {
				n.starters = add(n.starters, k.id)
			} else {
				n.starters = add(n.starters, k.starters...)
			}
		}
		if k.usage == uR {
			leading = false
			if n.first == "" {
				n.first = k.seg
				if k.seg == "" {
					n.first = k.first
				}
			}
		}
	}
}

// walker matches the segments of a message against a structure.
type walker struct {
	r    *run
	i    int // next segment
	seen [24]struct {
		id segID
		n  int
	} // how many segments of each profile segment ID lie before i
	nseen int
}

// next moves past the current segment, counting it.
func (w *walker) next() {
	id := w.r.segs[w.i].id
	w.i++
	if _, ok := w.r.p.names[id]; !ok {
		return
	}
	for k := range w.nseen {
		if w.seen[k].id == id {
			w.seen[k].n++
			return
		}
	}
	if w.nseen < len(w.seen) {
		w.seen[w.nseen].id, w.seen[w.nseen].n = id, 1
		w.nseen++
	}
}

// before returns how many segments with ID id lie before the current one.
func (w *walker) before(id segID) int {
	for k := range w.nseen {
		if w.seen[k].id == id {
			return w.seen[k].n
		}
	}
	return 0
}

// structure checks the order, presence and repetition of the segments.
// Z segments are skipped: HL7 lets a receiver ignore them.
func (r *run) structure() {
	w := walker{r: r}
	w.group(r.p.root, true)
}

// group consumes one instance of g from the current segment on. At the
// top level it reports and skips a segment nothing accepts; below, it
// returns so that an enclosing group can take it.
func (w *walker) group(g *node, top bool) {
	segs := w.r.segs
	var countBuf [maxKids]int
	counts := countBuf[:len(g.kids)]
	pos := 0
	for w.i < len(segs) {
		id := segs[w.i].id
		if id>>16 == 'Z' {
			w.next()
			continue
		}
		k := -1
		for j := pos; j < len(g.kids); j++ {
			c := g.kids[j]
			if !c.opens(id) {
				continue
			}
			if j == pos && c.max >= 0 && counts[j] >= c.max && c.max > 0 {
				continue // full: a later element or the enclosing group may take it
			}
			k = j
			break
		}
		if k < 0 {
			if !top {
				w.missing(g, pos, counts, w.i)
				return
			}
			w.unexpected(g, pos, counts)
			w.next()
			continue
		}
		w.missing(g, pos, counts[:k], w.i)
		pos = k
		c := g.kids[k]
		counts[k]++
		if c.seg != "" {
			if c.max == 0 {
				name := segs[w.i].name
				w.r.add(rStructure, w.i, hl7.Location{Segment: name, Seq: segs[w.i].occ}, "100", "",
					segmentLabel(name)+" is not supported by the "+w.r.p.title+" profile")
			}
			w.next()
			continue
		}
		before := w.i
		w.group(c, false)
		if w.i == before { // cannot happen with the starters rule; never loop
			w.unexpected(g, pos, counts)
			w.next()
		}
	}
	w.missing(g, pos, counts, len(segs))
}

// missing reports the required elements of g from index from up to
// len(counts) that did not occur, at segment position at (the current
// segment, or the end of the message).
func (w *walker) missing(g *node, from int, counts []int, at int) {
	for j := from; j < len(counts); j++ {
		c := g.kids[j]
		if counts[j] > 0 || c.usage != uR {
			continue
		}
		seg := c.seg
		if seg == "" {
			seg = c.first
		}
		if seg == "" {
			continue
		}
		occ := w.before(idOf(seg)) + 1
		w.r.add(rUsage, at, hl7.Location{Segment: seg, Seq: occ}, "100", "7",
			segmentLabel(seg)+" is required by the "+w.r.p.title+" profile but missing")
	}
}

// unexpected reports the current segment, which no element accepts here.
func (w *walker) unexpected(g *node, pos int, counts []int) {
	s := w.r.segs[w.i]
	msg := " is not part of the " + w.r.p.title + " profile"
	switch {
	case pos < len(g.kids) && g.kids[pos].opens(s.id) && counts[pos] > 0:
		msg = " occurs more often than the " + w.r.p.title + " profile allows"
	case w.r.p.root.has(s.id):
		msg = " is out of the order the " + w.r.p.title + " profile requires"
	}
	w.r.add(rStructure, w.i, hl7.Location{Segment: s.name, Seq: s.occ}, "100", "", segmentLabel(s.name)+msg)
}

// segID is a segment ID as a number, its three bytes big-endian, so that
// segments compare and look up without string work.
type segID uint32

// The segment IDs the MQE-style rules look for.
var (
	idPID = idOf("PID")
	idORC = idOf("ORC")
	idRXA = idOf("RXA")
	idOBX = idOf("OBX")
	idQPD = idOf("QPD")
)

// idOf returns the segID of a segment ID (its first three bytes).
func idOf(name string) segID {
	if len(name) < 3 {
		return 0
	}
	return segID(name[0])<<16 | segID(name[1])<<8 | segID(name[2])
}

// idOfRaw returns the segID of a segment's wire bytes.
func idOfRaw(b []byte) segID {
	if len(b) < 3 {
		return 0
	}
	return segID(b[0])<<16 | segID(b[1])<<8 | segID(b[2])
}
