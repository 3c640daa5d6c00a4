package codes

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Updatable table files: what ParseCDC produces and Override accepts.
const (
	FileCVX           = "cvx.tsv"
	FileMVX           = "mvx.tsv"
	FileVaccineGroups = "cvx_vaccine_group.tsv"
)

// ParseCDC reads one of CDC's code set files as downloaded from CDC's IIS
// code pages — cvx.xml (CVX codes), mvx.xml (manufacturers) or vac2vg.xml
// (CVX to vaccine group) — recognised by its root element, and returns
// the table in this package's own form: its file name (FileCVX, FileMVX or
// FileVaccineGroups), the tab-separated rows with a header, and the row
// count. It checks that codes are present and unique.
func ParseCDC(data []byte) (name string, tsv []byte, n int, err error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "ISO-8859-1") || strings.EqualFold(label, "latin1") {
			return latin1Reader{r}, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	var generic struct {
		XMLName xml.Name
		Rows    []struct {
			Names  []string `xml:"Name"`
			Values []string `xml:"Value"`
		} `xml:",any"`
	}
	var out [][]string
	switch rootName(data) {
	case "CVXCodes":
		var doc struct {
			Rows []struct {
				Short   string `xml:"ShortDescription"`
				Full    string `xml:"FullVaccinename"`
				Code    string `xml:"CVXCode"`
				Notes   string `xml:"Notes"`
				Status  string `xml:"Status"`
				Updated string `xml:"LastUpdated"`
			} `xml:"CVXInfo"`
		}
		if err := dec.Decode(&doc); err != nil {
			return "", nil, 0, fmt.Errorf("codes: cvx.xml: %w", err)
		}
		name = FileCVX
		out = append(out, []string{"cvx", "short_description", "full_vaccine_name", "status", "last_updated", "vaccine_groups", "vaccine_group_cvx", "notes"})
		for _, r := range doc.Rows {
			out = append(out, []string{r.Code, r.Short, r.Full, r.Status, r.Updated, "", "", r.Notes})
		}
	case "MVXCodes", "VGCodes":
		if err := dec.Decode(&generic); err != nil {
			return "", nil, 0, fmt.Errorf("codes: %s: %w", rootName(data), err)
		}
		if rootName(data) == "MVXCodes" {
			name = FileMVX
			out = append(out, []string{"mvx", "manufacturer", "status", "last_updated", "notes"})
			for _, r := range generic.Rows {
				v := pairs(r.Names, r.Values)
				out = append(out, []string{v["MVX_CODE"], v["Manufacturer Name"], v["Status"], v["Last Updated"], v["Notes"]})
			}
		} else {
			name = FileVaccineGroups
			out = append(out, []string{"cvx", "short_description", "status", "vaccine_group", "vaccine_group_cvx"})
			for _, r := range generic.Rows {
				v := pairs(r.Names, r.Values)
				out = append(out, []string{v["CVXCode"], v["ShortDescription"], v["Status"], v["Vaccine Group Name"], v["CVX for Vaccine Group"]})
			}
		}
	default:
		return "", nil, 0, fmt.Errorf("codes: unknown code file (root element %q): want CDC's cvx.xml, mvx.xml or vac2vg.xml", rootName(data))
	}
	seen := map[string]bool{}
	var b bytes.Buffer
	for i, r := range out {
		for j := range r {
			r[j] = strings.Join(strings.Fields(r[j]), " ") // trims CDC's padding; no tabs or newlines survive
		}
		if i > 0 {
			key := r[0]
			if name != FileVaccineGroups {
				if key == "" || seen[strings.ToUpper(key)] {
					return "", nil, 0, fmt.Errorf("codes: %s: row %d: empty or repeated code %q", name, i, key)
				}
				seen[strings.ToUpper(key)] = true
			} else if key == "" {
				return "", nil, 0, fmt.Errorf("codes: %s: row %d: empty CVX code", name, i)
			}
		}
		b.WriteString(strings.Join(r, "\t"))
		b.WriteByte('\n')
	}
	if len(out) < 2 {
		return "", nil, 0, fmt.Errorf("codes: %s: no rows", name)
	}
	return name, b.Bytes(), len(out) - 1, nil
}

// rootName is the name of the document's first element.
func rootName(data []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return latin1Reader{r}, nil }
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

// pairs zips CDC's alternating <Name>/<Value> elements.
func pairs(names, values []string) map[string]string {
	m := make(map[string]string, len(names))
	for i, n := range names {
		if i < len(values) {
			m[strings.TrimSpace(n)] = strings.TrimSpace(values[i])
		}
	}
	return m
}

// latin1Reader decodes ISO-8859-1 (CDC's cvx.xml) to UTF-8.
type latin1Reader struct{ r io.Reader }

func (l latin1Reader) Read(p []byte) (int, error) {
	buf := make([]byte, len(p)/2+1)
	n, err := l.r.Read(buf)
	out := p[:0]
	for _, c := range buf[:n] {
		out = append(out, string(rune(c))...)
	}
	return len(out), err
}

// Override replaces the tables in use with the embedded ones, each file of
// files (FileCVX, FileMVX, FileVaccineGroups → rows as ParseCDC returns
// them) taking the place of the embedded table of that name. On an error
// the tables in use stay as they were. Safe for concurrent use with the
// lookups, which see either the old or the new tables.
func Override(files map[string][]byte) error {
	for name := range files {
		if name != FileCVX && name != FileMVX && name != FileVaccineGroups {
			return fmt.Errorf("codes: %s is not an updatable table", name)
		}
	}
	t, err := build(func(name string) ([]byte, error) {
		if b, ok := files[strings.TrimPrefix(name, "data/")]; ok {
			return b, nil
		}
		return dataFS.ReadFile(name)
	})
	if err != nil {
		return fmt.Errorf("codes: %w", err)
	}
	load() // the embedded tables first, so a later first use cannot undo this
	active.Store(t)
	return nil
}

// Change is one difference a new table makes to the one in use.
type Change struct {
	Code string
	// What: "added", "removed", or "status Active -> Inactive" and the like.
	What string
}

// Compare lists what installing tsv (a FileCVX or FileMVX table) would
// change in the table in use: codes added, removed and status changes.
func Compare(name string, tsv []byte) ([]Change, error) {
	type row struct{ status string }
	cur := map[string]row{}
	t := load()
	switch name {
	case FileCVX:
		for _, c := range t.cvx {
			cur[normCVX(c.Code)] = row{c.Status}
		}
	case FileMVX:
		for _, m := range t.mvx {
			cur[m.Code] = row{m.Status}
		}
	default:
		return nil, errors.New("codes: compare takes the CVX or MVX table")
	}
	statusCol := 3
	if name == FileMVX {
		statusCol = 2
	}
	var out []Change
	next := map[string]bool{}
	for r := range rowsOf(func(string) ([]byte, error) { return tsv, nil }, name) {
		k := r[0]
		if name == FileCVX {
			k = normCVX(k)
		} else {
			k = strings.ToUpper(k)
		}
		next[k] = true
		old, ok := cur[k]
		switch st := col(r, statusCol); {
		case !ok:
			out = append(out, Change{r[0], "added"})
		case old.status != st:
			out = append(out, Change{r[0], "status " + old.status + " -> " + st})
		}
	}
	for k := range cur {
		if !next[k] {
			out = append(out, Change{k, "removed"})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}
