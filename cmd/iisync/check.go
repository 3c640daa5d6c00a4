package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/iisync/iisync/conf"
)

const checkUsage = `usage: iisync check -c FILE [--dump] [--env-file FILE]

Validates a configuration file and its includes without starting anything:
no listener, no store, no key file is opened and no file is created. It
resolves ${env:NAME} and ${file:PATH} references, so the secrets must be
readable where it runs. Prints "FILE: ok (N channels)", or every problem at
once with its line or path, and exits 1.

  -c, --config FILE   the configuration file
  --dump              print the effective configuration (defaults applied,
                      includes inlined, secrets as <secret>) as YAML on
                      stdout; the ok line then goes to stderr
  --env-file FILE     NAME=VALUE lines (# comments, blank lines, optional
                      quotes) that ${env:NAME} sees before the process
                      environment, like a service's EnvironmentFile
`

func runCheck(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("check", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, checkUsage) }
	var file, envFile string
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "config", "", "same as -c")
	fs.StringVar(&envFile, "env-file", "", "NAME=VALUE file for ${env:} references")
	dump := fs.Bool("dump", false, "print the effective configuration")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if file == "" || len(rest) > 0 {
		fs.Usage()
		return 2
	}
	var opts conf.Options
	if envFile != "" {
		vars, err := readEnvFile(envFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync check: --env-file %v\n", err)
			return 2
		}
		opts.LookupEnv = func(name string) (string, bool) {
			if v, ok := vars[name]; ok {
				return v, true
			}
			return os.LookupEnv(name)
		}
	}
	f, err := conf.LoadWith(file, opts)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	ok := fmt.Sprintf("%s: ok (%d channels)", file, len(f.Channels))
	if !*dump {
		fmt.Fprintln(e.stdout, ok)
		return 0
	}
	out, err := f.Dump()
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync check: %v\n", err)
		return 1
	}
	_, _ = e.stdout.Write(out)
	fmt.Fprintln(e.stderr, ok)
	return 0
}

// readEnvFile reads NAME=VALUE lines. Errors give the line, never a value.
func readEnvFile(path string) (map[string]string, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(fd)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			return nil, fmt.Errorf("%s:%d: want NAME=VALUE", path, n)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		vars[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vars, nil
}
