package conf

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/mapping"
)

// maxStepFileBytes bounds a map table or script file.
const maxStepFileBytes = 4 << 20

// loadStepFiles reads the files transform steps name — a map step's
// table_file (CSV rows from,to) and a script step's file — into the step,
// since transforms/mapping reads no files. Paths are relative to the
// directory of the configuration file that holds the channel (an include
// file's own directory for its channels), like include: patterns. A map
// step may not have both an inline table and a table_file.
func (l *loader) loadStepFiles(f *File, baseDir string) {
	for i := range f.Channels {
		dir := baseDir
		if i < len(f.origins) && f.origins[i] != "" {
			dir = filepath.Dir(f.origins[i])
		}
		steps := f.Channels[i].Transforms
		for j := range steps {
			path := fmt.Sprintf("channels[%d].transforms[%d]", i, j)
			if m := steps[j].Map; m != nil && m.TableFile != "" {
				if len(m.Table) > 0 {
					l.problems = append(l.problems, field.Errorf(path+".map", "give table or table_file, not both"))
					continue
				}
				data, err := readRegular(resolve(dir, m.TableFile), maxStepFileBytes)
				if err != nil {
					l.problems = append(l.problems, field.Errorf(path+".map.table_file", "%v", err))
					continue
				}
				table, err := mapping.ParseTableCSV(bytes.NewReader(data))
				if err != nil {
					l.problems = append(l.problems, field.Errorf(path+".map.table_file", "%s: %v", m.TableFile, err))
					continue
				}
				mm := *m
				mm.Table = table
				steps[j].Map = &mm
			}
			if sc := steps[j].Script; sc != nil && sc.File != "" {
				if sc.Source != "" {
					l.problems = append(l.problems, field.Errorf(path+".script", "give source or file, not both"))
					continue
				}
				data, err := readRegular(resolve(dir, sc.File), maxStepFileBytes)
				if err != nil {
					l.problems = append(l.problems, field.Errorf(path+".script.file", "%v", err))
					continue
				}
				ss := *sc
				ss.Source = string(data)
				steps[j].Script = &ss
			}
		}
	}
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
