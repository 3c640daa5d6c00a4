package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/transforms/iis/codes"
)

const codesUsage = `usage: iisync codes update [-c FILE | --dir DIR] CDC-FILE...

Refreshes the CDC code tables the engine validates and maps with (CVX with
their vaccine groups, MVX) from CDC's files as downloaded from its IIS code
set pages: cvx.xml, mvx.xml, vac2vg.xml. Each file is checked, what it
changes against the tables in use is printed (codes added, removed, status
changes), and it is written to the codes directory, which iisync serve reads
at start (restart it to use them). The embedded tables stay the fallback.

  -c, --config FILE   take the directory from the configuration's codes_dir
                      (without -c and --dir: the demo's ./var/codes)
  --dir DIR           the codes directory
`

func runCodes(_ context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "update" {
		fmt.Fprint(e.stderr, codesUsage)
		return 2
	}
	fs := newFlagSet("codes update", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, codesUsage) }
	var file, dir string
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "config", "", "same as -c")
	fs.StringVar(&dir, "dir", "", "codes directory")
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(rest) == 0 || (file != "" && dir != "") {
		fs.Usage()
		return 2
	}
	if dir == "" {
		f, err := loadConfig(file)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
			return 2
		}
		if dir = f.CodesDir; dir == "" {
			fmt.Fprintln(e.stderr, "iisync codes: the configuration has no codes_dir; give --dir")
			return 2
		}
	}
	if err := installCodes(dir, zerolog.Nop()); err != nil { // compare against what serve would use
		fmt.Fprintf(e.stderr, "iisync codes: %s: %v\n", dir, err)
		return 1
	}
	parsed := map[string][]byte{}
	for _, name := range rest {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
			return 1
		}
		table, tsv, n, err := codes.ParseCDC(data)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync codes: %s: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(e.stdout, "%s: %s, %d rows\n", name, table, n)
		if table != codes.FileVaccineGroups {
			changes, err := codes.Compare(table, tsv)
			if err != nil {
				fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
				return 1
			}
			if len(changes) == 0 {
				fmt.Fprintln(e.stdout, "  no change")
			}
			for _, c := range changes {
				fmt.Fprintf(e.stdout, "  %s %s\n", c.Code, c.What)
			}
		}
		parsed[table] = tsv
	}
	if err := codes.Override(parsed); err != nil { // the set must build before it is written
		fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
		return 1
	}
	for table, tsv := range parsed {
		p := filepath.Join(dir, table)
		err := os.WriteFile(p+".tmp", tsv, 0o644)
		if err == nil {
			err = os.Rename(p+".tmp", p)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync codes: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", p)
	}
	fmt.Fprintln(e.stdout, "restart iisync serve to use them")
	return 0
}

// installCodes installs the code tables found in dir (a missing dir or
// file keeps the embedded table).
func installCodes(dir string, log zerolog.Logger) error {
	files := map[string][]byte{}
	for _, name := range []string{codes.FileCVX, codes.FileMVX, codes.FileVaccineGroups} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		}
		files[name] = b
	}
	if len(files) == 0 {
		return nil
	}
	if err := codes.Override(files); err != nil {
		return err
	}
	log.Info().Str("dir", dir).Int("tables", len(files)).Msg("code tables installed")
	return nil
}
