package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/transforms/hl7"
)

// TestReadmeSyncWalkthrough runs README's "Sync Registry, by hand" as
// written, on the demo configuration (conf/examples/demo.yaml) with its
// ports and paths moved into the test: the chart over the hourly channel,
// the query, then select, import, reconcile, delete, send, refresh, audit
// and ping with the row numbers the README gives.
func TestReadmeSyncWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the engine and the sandbox")
	}
	demo, err := os.ReadFile("../../conf/examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := filepath.Abs("../../testdata/demo/sync/registry_history.hl7")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var toEHR []*hl7.Message
	ehr := ehrtest.Acker(t, func(m *hl7.Message) {
		if strings.HasPrefix(m.Type(), "VXU") {
			mu.Lock()
			toEHR = append(toEHR, m)
			mu.Unlock()
		}
	})
	dir := t.TempDir()
	sandboxPort := freePort(t)
	y := strings.NewReplacer(
		"127.0.0.1:2575", "127.0.0.1:0",
		"127.0.0.1:2577", "127.0.0.1:0",
		"127.0.0.1:2576", ehr,
		"127.0.0.1:8080", "127.0.0.1:0",
		"127.0.0.1:8443", fmt.Sprintf("127.0.0.1:%d", sandboxPort),
		"./var", dir,
		"testdata/demo/sync/registry_history.hl7", seed,
	).Replace(string(demo))
	if strings.Contains(y, "./var") || !strings.Contains(y, "ehr-hourly") {
		t.Fatal("the demo configuration changed shape: update this test")
	}
	e := &engine{dir: dir, configFile: writeFile(t, "demo.yaml", y)}
	boot(t, e)

	hourly := mllpAddr(t, e.run, "ehr-hourly")
	if r := iisync(t, "", "send", "--to", hourly, "../../testdata/demo/sync/chart.hl7"); r.code != 0 {
		t.Fatalf("send: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	R := []string{"--mrn", "DEMO2001", "--channel", "ehr-hourly", "--api", e.api, "--user", "readme"}
	reg := func(action string, args ...string) string {
		t.Helper()
		r := iisync(t, "", append(append([]string{"registry", action}, R...), args...)...)
		if r.code != 0 {
			t.Fatalf("registry %s %v: exit %d\n%s%s", action, args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	rows := regexp.MustCompile(`(?m)^\s+(\d+)\s+(WHITE|BLUE|YELLOW)\s+(\S+)\s+(\S+)\s+(\d+)`)
	table := func(out string) string {
		var b strings.Builder
		for _, m := range rows.FindAllStringSubmatch(out, -1) {
			fmt.Fprintf(&b, "%s %s %s %s %s\n", m[1], m[2], m[3], m[4], m[5])
		}
		return b.String()
	}

	// The first sync: the colours the README describes.
	want := "1 YELLOW registry_only 2025-01-15 08\n" +
		"2 YELLOW registry_only 2025-03-18 20\n" +
		"3 WHITE differs 2025-03-18 10\n" +
		"4 BLUE local_only 2025-03-20 107\n" +
		"5 BLUE local_only 2025-05-20 49\n" +
		"6 BLUE local_only 2025-05-21 150\n"
	if got := table(reg("query")); got != want {
		t.Fatalf("first sync rows:\n%s\nwant:\n%s", got, want)
	}
	reg("select", "--which", "registry_only")
	reg("import", "--rows", "1")
	reg("reconcile", "--local", "4", "--registry", "2")
	reg("delete", "--rows", "5")
	if out := reg("send", "--rows", "4"); !strings.Contains(out, "Registry         accepted, ACK AA") {
		t.Errorf("send:\n%s", out)
	}
	want = "1 WHITE match 2025-01-15 08\n" +
		"2 WHITE match 2025-03-18 20\n" +
		"3 WHITE differs 2025-03-18 10\n" +
		"4 WHITE match 2025-05-20 49\n"
	if got := table(reg("refresh")); got != want {
		t.Fatalf("second sync rows:\n%s\nwant:\n%s", got, want)
	}
	if out := reg("audit"); strings.Count(out, "readme") != 7 {
		t.Errorf("audit: want 7 actions by readme\n%s", out)
	}
	if r := iisync(t, "", "registry", "ping", "--channel", "ehr-hourly", "--api", e.api); r.code != 0 {
		t.Errorf("ping: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// `iisync ping` with the demo configuration tests both iis destinations.
	if r := iisync(t, "", "ping", "-c", e.configFile); r.code != 0 || strings.Count(r.stdout, ": ok in ") != 2 ||
		!strings.Contains(r.stdout, "ehr-vxu/iis: ok") || !strings.Contains(r.stdout, "ehr-hourly/iis: ok") {
		t.Errorf("ping: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The EHR got the import, the reconcile and the delete.
	ehrtest.WaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(toEHR) == 3 }, "three VXUs at the EHR")
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, m := range toEHR {
		got = append(got, m.Value("RXA-21")+" "+m.Value("RXA-5.1"))
	}
	if strings.Join(got, ",") != "A 08,U 20,D 150" {
		t.Errorf("the EHR got %v", got)
	}
}
