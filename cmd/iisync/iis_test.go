package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisync/iisync/gateway/mllp/mllptest"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/transforms/hl7"
)

// ehrListener is the EHR's MLLP listener of the return channel: it keeps
// every message it receives and answers AA.
type ehrListener struct {
	addr string
	mu   sync.Mutex
	got  map[string]string // MSA-2 (the EHR's original MSH-10) → MSA-1
	all  [][]byte
}

func startEHR(t testing.TB) *ehrListener {
	t.Helper()
	l := &ehrListener{got: map[string]string{}}
	l.addr = ehrtest.Acker(t, func(m *hl7.Message) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.got[m.Value("MSA-2")] = m.Value("MSA-1")
		l.all = append(l.all, m.Raw())
	})
	return l
}

func (l *ehrListener) returns() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.got))
	for k, v := range l.got {
		out[k] = v
	}
	return out
}

// writeIISConfig writes a configuration whose channel vxu-in delivers to
// the in-process sandbox (sandbox: section, HTTPS on sandboxPort) and
// returns the registry's answers to ehr.
func writeIISConfig(t testing.TB, dir string, sandboxPort int, ehr string) string {
	t.Helper()
	certDir := filepath.Join(dir, "sandbox")
	y := fmt.Sprintf(`storage:
  path: %[1]s/store
  key_file: %[1]s/store.key
security:
  patient_ref_key_file: %[1]s/patient.key
  create_keys: true
api:
  addr: 127.0.0.1:0
log:
  level: info
  format: json
shutdown_grace: 5s
sandbox:
  https_addr: 127.0.0.1:%[2]d
  cert_dir: %[3]s
  users:
    demo: ${env:IISYNC_TEST_SANDBOX_PASSWORD}
channels:
  - name: vxu-in
    source:
      mllp:
        addr: 127.0.0.1:0
    destinations:
      - name: iis
        iis:
          registry: sandbox
          url: https://127.0.0.1:%[2]d/IISService
          ca_file: %[3]s/cert.pem
          username: demo
          password: ${env:IISYNC_TEST_SANDBOX_PASSWORD}
          facility_id: DEMO-CLINIC
          concurrency: 4
    return:
      mllp:
        addr: %[4]s
`, dir, sandboxPort, certDir, ehr)
	p := filepath.Join(dir, "iisync.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sandboxPassword is a canary: it must never reach a log or an output.
const sandboxPassword = "Sb-Canary-Pw-7731"

// TestDemoFlowThroughSandbox is issue 4's "done when", tried as a user
// would: serve with the embedded sandbox as registry, `iisync send` the
// demo VXUs and query, see each accepted, accepted with warnings or
// rejected with the registry's errors (`iisync messages`), the return
// channel carrying those states back to the EHR, and `iisync ping`.
func TestDemoFlowThroughSandbox(t *testing.T) {
	t.Setenv("IISYNC_TEST_SANDBOX_PASSWORD", sandboxPassword)
	dir := t.TempDir()
	ehr := startEHR(t)
	e := &engine{dir: dir}
	e.configFile = writeIISConfig(t, dir, freePort(t), ehr.addr)
	boot(t, e)

	files, err := filepath.Glob("../../testdata/demo/*.hl7")
	if err != nil || len(files) != 5 {
		t.Fatalf("demo messages: %v (%d files)", err, len(files))
	}
	if r := iisync(t, "", append([]string{"send", "--to", e.addr}, files...)...); r.code != 0 {
		t.Fatalf("send: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	want := map[string]struct{ status, ack, errs string }{
		"DEMO-0001": {"accepted", "AA", ""},
		"DEMO-0002": {"accepted_with_warnings", "AA", ""},
		"DEMO-0003": {"rejected", "AE", "0357:103"},
		"DEMO-0004": {"rejected", "AR", "0357:101"},
		"DEMO-Q001": {"accepted", "AA", ""},
	}
	// Wait until every message is final and every return is delivered.
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := e.messages(t, "list")
		lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
		final := len(lines) == len(want) && len(ehr.returns()) == len(want)
		for _, l := range lines {
			if f := strings.Split(l, "\t"); len(f) < 7 || f[5] == "queued" || !strings.Contains(f[6], "return=AA") {
				final = false
			}
		}
		if final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not final in time:\n%s\nreturns %v\nlog:\n%s", r.stdout, ehr.returns(), e.log)
		}
	}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		ctl, status := f[3], f[5]
		w, ok := want[ctl]
		if !ok {
			t.Errorf("unexpected message %q", ctl)
			continue
		}
		if status != w.status || !strings.Contains(f[6], "iis="+w.ack) {
			t.Errorf("%s: status %s, deliveries %s; want %s with iis=%s", ctl, status, f[6], w.status, w.ack)
		}
		if w.errs != "" {
			show := e.messages(t, "show", f[0])
			if !strings.Contains(show.stdout, w.errs) {
				t.Errorf("%s: show does not list error %s:\n%s", ctl, w.errs, show.stdout)
			}
			// Each ERR with its plain-English explanation.
			if !strings.Contains(show.stdout, "  E ") || !strings.Contains(show.stdout, "ERR-8: ") {
				t.Errorf("%s: show does not explain the registry's errors:\n%s", ctl, show.stdout)
			}
		}
	}
	// The EHR hears the registry's verdicts, addressed to its own MSH-10s.
	got := ehr.returns()
	for ctl, w := range want {
		if got[ctl] != w.ack {
			t.Errorf("return for %s: MSA-1 %q, want %q", ctl, got[ctl], w.ack)
		}
	}

	r := iisync(t, "", "ping", "-c", e.configFile)
	if r.code != 0 || !strings.Contains(r.stdout, "vxu-in/iis: ok") {
		t.Errorf("ping: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{e.log.String(), r.stdout, r.stderr} {
		if strings.Contains(out, sandboxPassword) {
			t.Error("the registry password leaked")
		}
	}
	e.noCanaries(t)
}

// TestPingFailures: a registry that is down, and a destination that is not
// an iis one, are reported with exit 1 and 2 and a reason in words.
func TestPingFailures(t *testing.T) {
	t.Setenv("IISYNC_TEST_SANDBOX_PASSWORD", sandboxPassword)
	dir := t.TempDir()
	cfg := writeIISConfig(t, dir, freePort(t), "127.0.0.1:9") // nothing listens: no sandbox started by ping
	if err := os.MkdirAll(filepath.Join(dir, "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	// ping does not start the sandbox, so the CA file must exist: borrow one.
	ca, err := os.ReadFile(mllptest.NewPKI(t).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sandbox", "cert.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	r := iisync(t, "", "ping", "-c", cfg, "--timeout", "5s")
	if r.code != 1 || !strings.Contains(r.stdout, "vxu-in/iis: failed") {
		t.Errorf("ping of a registry that is down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = iisync(t, "", "ping", "-c", cfg, "--destination", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, `no iis destination "nope"`) {
		t.Errorf("ping of an unknown destination: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
