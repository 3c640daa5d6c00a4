package mapping

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseTableCSV reads a map step's table_file: one `from,to` row per line,
// fields trimmed of spaces and quoted as CSV when they hold a comma or a
// quote ("Hep B, adult"). A first row of exactly `from,to` is a header and
// is skipped; lines starting with # are comments; blank lines are ignored;
// a UTF-8 byte order mark is dropped. A row without exactly two fields, a
// from value listed twice and a table without rows are errors, reported
// with their line number. The caller (conf) opens the file; this package
// does no I/O of its own.
func ParseTableCSV(r io.Reader) (map[string]string, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.TrimLeadingSpace = true
	table := map[string]string{}
	lines := map[string]int{}
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("mapping: table csv: line %d: %w", pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("mapping: table csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			rec[0] = strings.TrimPrefix(rec[0], "\uFEFF")
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && len(rec) == 2 && rec[0] == "from" && rec[1] == "to" {
			continue
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("mapping: table csv: line %d: want 2 fields (from,to), got %d", line, len(rec))
		}
		if prev, dup := lines[rec[0]]; dup {
			return nil, fmt.Errorf("mapping: table csv: line %d: from value %q already on line %d", line, rec[0], prev)
		}
		table[rec[0]], lines[rec[0]] = rec[1], line
	}
	if len(table) == 0 {
		return nil, errors.New("mapping: table csv: no rows")
	}
	return table, nil
}
