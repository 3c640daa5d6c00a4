package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/hl7/dict"
)

const inspectUsage = `usage: iisync inspect [--json] [--get PATH ...] FILE...

Shows each message in the files segment by segment, every non-empty field
with its HL7 name. FILE "-" reads standard input. A file may hold many
messages (CR, LF or CRLF terminators, batch wrappers or MLLP framing).

  --get PATH   print only these decoded values (repeatable), one line per
               message, tab-separated; PATH uses HL7 numbering: PID-5.1,
               PID-3[2].1, RXA[2]-5.1, RXA-10.9.2
  --json       print the messages as JSON

Exits 1 if any message does not parse (the error gives its position).
`

func runInspect(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("inspect", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, inspectUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	var gets multiFlag
	fs.Var(&gets, "get", "path to print (repeatable)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(e.stderr, inspectUsage)
		return 2
	}
	for _, p := range gets {
		if err := hl7.CheckPath(p); err != nil {
			fmt.Fprintf(e.stderr, "iisync inspect: --get %s: %v\n", p, err)
			return 2
		}
	}
	msgs, err := readMessages(e.stdin, files)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync inspect: %v\n", err)
		return 1
	}
	code := 0
	var docs []inspectDoc
	for _, fm := range msgs {
		m, err := hl7.Parse(fm.raw)
		if err != nil {
			// The error carries a position only, never field content.
			fmt.Fprintf(e.stderr, "%s: %v\n", fm.where(), err)
			code = 1
			continue
		}
		switch {
		case len(gets) > 0:
			vals := make([]string, len(gets))
			for i, p := range gets {
				vals[i] = m.Value(p)
			}
			fmt.Fprintln(e.stdout, strings.Join(vals, "\t"))
		case *asJSON:
			docs = append(docs, inspectJSON(fm, m))
		default:
			printMessage(e.stdout, fm, m)
		}
	}
	if *asJSON && len(gets) == 0 {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if docs == nil {
			docs = []inspectDoc{}
		}
		if err := enc.Encode(docs); err != nil {
			fmt.Fprintf(e.stderr, "iisync inspect: %v\n", err)
			return 1
		}
	}
	if len(msgs) == 0 {
		fmt.Fprintln(e.stderr, "iisync inspect: no messages found")
		return 1
	}
	return code
}

// fieldLabel is "PID-3" or "PID-3[2]" for a later repetition.
func fieldLabel(seg string, n, rep, reps int) string {
	l := seg + "-" + strconv.Itoa(n)
	if reps > 1 {
		l += "[" + strconv.Itoa(rep) + "]"
	}
	return l
}

func printMessage(w io.Writer, fm fileMessage, m *hl7.Message) {
	fmt.Fprintf(w, "== %s  %s  control_id=%s  (%d bytes, %d segments)\n",
		fm.where(), m.Type(), m.ControlID(), len(m.Raw()), m.SegmentCount())
	seqs := map[string]int{}
	for seg := range m.Segments() {
		name := seg.Name()
		seqs[name]++
		title := dict.SegmentName(name)
		if seqs[name] > 1 || hasMore(m, name) {
			name += "[" + strconv.Itoa(seqs[name]) + "]"
		}
		fmt.Fprintf(w, "%-8s %s\n", name, title)
		for n := 1; n <= seg.FieldCount(); n++ {
			f := seg.Field(n)
			if len(f.Raw()) == 0 {
				continue
			}
			reps := f.RepetitionCount()
			i := 0
			for r := range f.Repetitions() {
				i++
				if len(r.Raw()) == 0 {
					continue
				}
				fmt.Fprintf(w, "  %-10s %-44s %s\n", fieldLabel(seg.Name(), n, i, reps), dict.FieldName(seg.Name(), n), r.String())
			}
		}
	}
}

// hasMore reports whether the message has more than one segment called name,
// so the first one is numbered too.
func hasMore(m *hl7.Message, name string) bool {
	_, ok := m.Segment(name, 2)
	return ok
}

type inspectDoc struct {
	File      string       `json:"file"`
	Index     int          `json:"index"`
	Type      string       `json:"type"`
	ControlID string       `json:"control_id"`
	Bytes     int          `json:"bytes"`
	Segments  []segmentDoc `json:"segments"`
}

type segmentDoc struct {
	Name   string     `json:"name"`
	Seq    int        `json:"seq"`
	Title  string     `json:"title,omitempty"`
	Fields []fieldDoc `json:"fields"`
}

type fieldDoc struct {
	Field  int      `json:"field"`
	Name   string   `json:"name,omitempty"`
	Values []string `json:"values"` // one per repetition, decoded at the leaves
}

func inspectJSON(fm fileMessage, m *hl7.Message) inspectDoc {
	d := inspectDoc{File: fm.file, Index: fm.index, Type: m.Type(), ControlID: m.ControlID(), Bytes: len(m.Raw())}
	seqs := map[string]int{}
	for seg := range m.Segments() {
		seqs[seg.Name()]++
		sd := segmentDoc{Name: seg.Name(), Seq: seqs[seg.Name()], Title: dict.SegmentName(seg.Name()), Fields: []fieldDoc{}}
		for n := 1; n <= seg.FieldCount(); n++ {
			f := seg.Field(n)
			if len(f.Raw()) == 0 {
				continue
			}
			fd := fieldDoc{Field: n, Name: dict.FieldName(seg.Name(), n)}
			for r := range f.Repetitions() {
				fd.Values = append(fd.Values, r.String())
			}
			sd.Fields = append(sd.Fields, fd)
		}
		d.Segments = append(d.Segments, sd)
	}
	return d
}
