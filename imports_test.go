package iisync_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection enforces the one-way import rule. Run it with -count=1:
// the test cache cannot see the output of go list.
func TestImportDirection(t *testing.T) {
	const m = "github.com/iisync/iisync"
	deny := map[string][]string{ // importer tree -> forbidden import trees
		m + "/transforms": {m + "/gateway", m + "/channels", m + "/conf", m + "/cmd", m + "/console", m + "/sandbox", "net", "os", "github.com/dgraph-io/badger"},
		m + "/gateway":    {m + "/transforms", m + "/channels", m + "/conf", m + "/cmd", m + "/console", m + "/sandbox", "github.com/dgraph-io/badger"},
		m + "/channels":   {m + "/conf", m + "/cmd", m + "/console", m + "/sandbox"},
		m + "/conf":       {m + "/cmd", m + "/console", m + "/sandbox"},
		m + "/console":    {m + "/cmd", m + "/sandbox"},
		m + "/sandbox":    {m + "/cmd", m + "/console", m + "/channels"},
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	under := func(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }
	checked := 0
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), " ")
		checked++
		for from, bad := range deny {
			if !under(pkg, from) {
				continue
			}
			for _, imp := range strings.Fields(imports) {
				if under(imp, m+"/conf/field") {
					continue
				}
				if slices.ContainsFunc(bad, func(b string) bool { return under(imp, b) }) {
					t.Errorf("%s must not import %s", pkg, imp)
				}
			}
		}
	}
	if checked < 3 {
		t.Fatalf("go list saw only %d packages; the check is not looking at the module", checked)
	}
}
