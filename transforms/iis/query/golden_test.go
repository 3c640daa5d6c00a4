package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisync/iisync/internal/golden"
)

// TestGolden parses every sample answer in testdata/rsp (see
// testdata/SOURCES.md) and compares the Response, as JSON, with
// testdata/golden/<name>.json. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rsp", "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".hl7")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), Parse(raw, nil))
		})
	}
}
