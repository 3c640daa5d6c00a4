package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/validate"
)

const testUsage = `usage: iisync test [-v] [PATH...]

Runs channel tests: YAML files named *.test.yaml (PATH is such a file or a
directory searched recursively; default: the current directory). Each file
names a configuration and a channel, and lists cases: a message, and what
the channel must make of it — the outcome, fields of the transformed
message, segment counts, the validation findings, the ACK code, and the
verdict on a canned registry response. Nothing is stored or sent.

  -v    list passing cases too

A failure prints what differs, got against want. Exit status: 0 when every
case passes, 1 when one fails, 2 when a test file or its configuration is
invalid.

A test file:

  config: ../demo.yaml          # relative to this file
  channel: ehr-vxu
  tests:
    - name: addresses the message to the registry
      message: ../../testdata/demo/1_accepted.hl7   # or text: with one segment per line
      expect:
        outcome: queued         # queued, filtered, rejected or error
        ack: AA                 # MSA-1 the sender gets
        fields: {MSH-6: DEMO-IIS, PID-5.1: ZZTEST}   # "" means empty or absent
        segments: {OBX: 2}
        findings:               # exactly these (rule and severity); [] for none
          - {rule: mqe.vfc_obx_missing, severity: warning}
        registry:               # a canned answer of an iis destination
          destination: iis
          reply: ../../testdata/messages/nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7
          verdict: rejected     # accepted, accepted_with_warnings, rejected, unknown
`

// testFile is one *.test.yaml.
type testFile struct {
	Config  string     `yaml:"config"`
	Channel string     `yaml:"channel"`
	Tests   []testCase `yaml:"tests"`
}

type testCase struct {
	Name    string     `yaml:"name"`
	Message string     `yaml:"message"`
	Text    string     `yaml:"text"`
	Expect  testExpect `yaml:"expect"`
}

type testExpect struct {
	Outcome  string            `yaml:"outcome"`
	ACK      string            `yaml:"ack"`
	Fields   map[string]string `yaml:"fields"`
	Segments map[string]int    `yaml:"segments"`
	Findings *[]testFinding    `yaml:"findings"`
	Registry *testRegistry     `yaml:"registry"`
}

type testFinding struct {
	Rule     string `yaml:"rule"`
	Severity string `yaml:"severity"`
}

type testRegistry struct {
	Destination string `yaml:"destination"`
	Reply       string `yaml:"reply"`
	ReplyText   string `yaml:"reply_text"`
	Verdict     string `yaml:"verdict"`
}

func runTest(ctx context.Context, e *env, args []string) int {
	fset := newFlagSet("test", e.stderr)
	fset.Usage = func() { fmt.Fprint(e.stderr, testUsage) }
	verbose := fset.Bool("v", false, "list passing cases")
	rest, err := parseInterleaved(fset, args)
	if err != nil {
		return 2
	}
	if len(rest) == 0 {
		rest = []string{"."}
	}
	files, err := findTestFiles(rest)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync test: %v\n", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(e.stderr, "iisync test: no *.test.yaml under %s\n", strings.Join(rest, " "))
		return 2
	}
	cases, failed, code := 0, 0, 0
	for _, file := range files {
		n, f, err := runTestFile(ctx, e.stdout, file, *verbose)
		cases, failed = cases+n, failed+f
		if err != nil {
			fmt.Fprintf(e.stdout, "%s\n  ERROR %v\n", file, err)
			code = 2
		}
	}
	fmt.Fprintf(e.stdout, "%d cases in %d files, %d failed\n", cases, len(files), failed)
	switch {
	case code != 0:
		return code
	case failed > 0:
		return 1
	}
	return 0
}

// findTestFiles expands paths to *.test.yaml files, sorted.
func findTestFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".test.yaml") {
				out = append(out, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// runTestFile runs one file's cases and prints their results; it returns
// the number of cases and of failures, and an error when the file itself
// is unusable.
func runTestFile(ctx context.Context, w io.Writer, file string, verbose bool) (int, int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, err
	}
	var tf testFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", file, err)
	}
	if tf.Config == "" || tf.Channel == "" || len(tf.Tests) == 0 {
		return 0, 0, errors.New("config, channel and at least one test are required")
	}
	dir := filepath.Dir(file)
	cfg, err := conf.LoadWith(relTo(dir, tf.Config), conf.Options{Offline: true}) // channel tests need no secrets
	if err != nil {
		return 0, 0, err
	}
	if cfg.CodesDir != "" {
		if err := installCodes(cfg.CodesDir, zerolog.Nop()); err != nil {
			return 0, 0, fmt.Errorf("code tables: %w", err)
		}
	}
	ch, err := pickChannel(cfg, tf.Channel)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintln(w, file)
	failed := 0
	for i, tc := range tf.Tests {
		name := tc.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		problems, err := runTestCase(ctx, dir, ch, tc)
		if err != nil {
			return i, failed, fmt.Errorf("%s: %w", name, err)
		}
		if len(problems) > 0 {
			failed++
			fmt.Fprintf(w, "  FAIL  %s\n", name)
			for _, p := range problems {
				fmt.Fprintf(w, "        %s\n", p)
			}
		} else if verbose {
			fmt.Fprintf(w, "  PASS  %s\n", name)
		}
	}
	return len(tf.Tests), failed, nil
}

// runTestCase returns what differs from the case's expectations.
func runTestCase(ctx context.Context, dir string, ch channels.ChannelConfig, tc testCase) ([]string, error) {
	raw, err := caseBytes(dir, tc.Message, tc.Text)
	if err != nil {
		return nil, err
	}
	r, err := channels.TryChannel(ctx, ch, raw, time.Now())
	if err != nil {
		return nil, err
	}
	var p []string
	want := tc.Expect
	if want.Outcome != "" && r.Outcome != want.Outcome {
		p = append(p, fmt.Sprintf("outcome: got %s, want %s%s", r.Outcome, want.Outcome, errSuffix(r.Error)))
	}
	if want.ACK != "" {
		if got := msaCode(r.ACK); got != want.ACK {
			p = append(p, fmt.Sprintf("ack: got %s, want %s", got, want.ACK))
		}
	}
	if len(want.Fields) > 0 || len(want.Segments) > 0 {
		m, err := hl7.Parse(r.Transformed)
		if err != nil {
			p = append(p, "no transformed message to check fields in"+errSuffix(r.Error))
		} else {
			for _, path := range sortedKeys(want.Fields) {
				got, _, err := m.Get(path)
				if err != nil {
					return nil, fmt.Errorf("fields: %s: %w", path, err)
				}
				if got != want.Fields[path] {
					p = append(p, fmt.Sprintf("%s: got %q, want %q", path, got, want.Fields[path]))
				}
			}
			for _, seg := range sortedKeys(want.Segments) {
				n := 0
				for range m.SegmentsNamed(seg) {
					n++
				}
				if n != want.Segments[seg] {
					p = append(p, fmt.Sprintf("segments %s: got %d, want %d", seg, n, want.Segments[seg]))
				}
			}
		}
	}
	if want.Findings != nil {
		p = append(p, compareFindings(r.Findings, *want.Findings)...)
	}
	if reg := want.Registry; reg != nil {
		reply, err := caseBytes(dir, reg.Reply, reg.ReplyText)
		if err != nil {
			return nil, fmt.Errorf("registry reply: %w", err)
		}
		i := slices.IndexFunc(ch.Destinations, func(d channels.DestinationConfig) bool { return d.Name == reg.Destination })
		if i < 0 {
			return nil, fmt.Errorf("registry: channel has no destination %q", reg.Destination)
		}
		if got := channels.ClassifyReply(ch.Destinations[i], reply); string(got.Verdict) != reg.Verdict {
			p = append(p, fmt.Sprintf("registry verdict: got %s (%s), want %s", got.Verdict, got.Reason, reg.Verdict))
		}
	}
	return p, nil
}

// caseBytes reads a message from a file (relative to dir) or inline text
// (one segment per line).
func caseBytes(dir, file, text string) ([]byte, error) {
	switch {
	case file != "" && text != "":
		return nil, errors.New("give a message file or text, not both")
	case file != "":
		b, err := os.ReadFile(relTo(dir, file))
		if err != nil {
			return nil, err
		}
		msgs := splitMessages(b)
		if len(msgs) != 1 {
			return nil, fmt.Errorf("%s holds %d messages, want 1", file, len(msgs))
		}
		return msgs[0], nil
	case text != "":
		lines := strings.Split(strings.TrimSpace(text), "\n")
		return []byte(strings.Join(lines, "\r") + "\r"), nil
	}
	return nil, errors.New("a message file or text is required")
}

// relTo resolves a path of a test file against its directory.
func relTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func compareFindings(got []validate.Finding, want []testFinding) []string {
	key := func(rule, sev string) string { return rule + " (" + sev + ")" }
	var g, w []string
	for _, f := range got {
		if f.Severity != validate.Ignore {
			g = append(g, key(f.Rule, string(f.Severity)))
		}
	}
	for _, f := range want {
		w = append(w, key(f.Rule, f.Severity))
	}
	var missing, extra []string
	for _, k := range w {
		if i := slices.Index(g, k); i >= 0 {
			g = slices.Delete(g, i, i+1)
		} else {
			missing = append(missing, k)
		}
	}
	extra = g
	var out []string
	if len(missing) > 0 {
		out = append(out, "findings missing: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		out = append(out, "findings not expected: "+strings.Join(extra, ", "))
	}
	return out
}

func msaCode(ack []byte) string {
	m, err := hl7.Parse(ack)
	if err != nil {
		return ""
	}
	return m.Value("MSA-1")
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
