package mapping

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestCatalogueYAML decodes one step of every kind the way conf does
// (strictly), fills what conf reads from files, builds and runs them.
func TestCatalogueYAML(t *testing.T) {
	b, err := os.ReadFile("testdata/catalogue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var cfgs []StepConfig
	if err := dec.Decode(&cfgs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			t.Errorf("[%d]: %v", i, err)
		}
		seen[c.Kind()] = true
	}
	for _, k := range components.order {
		if !seen[k.name] {
			t.Errorf("testdata/catalogue.yaml has no %s step", k.name)
		}
	}
	if s := cfgs[len(cfgs)-2].Script; s.Timeout != 50*time.Millisecond || s.MaxSteps != 100000 {
		t.Errorf("script limits decoded as %v, %d", s.Timeout, s.MaxSteps)
	}
	if cfgs[1].When != `sender == "NISTEHRFAC"` {
		t.Errorf("when decoded as %q", cfgs[1].When)
	}

	// Before conf has read the files, Build says so.
	_, err = Build(cfgs)
	want := "step 7 (map): table_file: \"cvx-local.csv\" not loaded (conf reads it into table)\n" +
		"step 21 (script): file: \"fixes/clinic1.star\" not loaded (conf reads it into source)"
	if err == nil || err.Error() != want {
		t.Errorf("Build before loading files:\n%v\nwant\n%s", err, want)
	}
	cfgs[7].Map.Table = mustTable(t, "from,to\n# local → CDC\n99,45\n")
	cfgs[21].Script.Source = "def transform(msg):\n    msg.set('PID-8', msg.get('PID-8').upper())\n"
	steps, err := Build(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(t.Context(), steps, readMessage(t, nistNDC))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "catalogue_yaml", out)
}

// TestDocShowsEveryKind keeps the catalogue in doc.go complete and valid:
// every transforms: block there decodes strictly and validates.
func TestDocShowsEveryKind(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "//\ttransforms:" {
			continue
		}
		var block strings.Builder
		for ; i < len(lines) && strings.HasPrefix(lines[i], "//\t"); i++ {
			block.WriteString(strings.TrimPrefix(lines[i], "//\t") + "\n")
		}
		dec := yaml.NewDecoder(strings.NewReader(block.String()))
		dec.KnownFields(true)
		var doc struct {
			Transforms []StepConfig `yaml:"transforms"`
		}
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("doc.go block before line %d: %v", i+1, err)
		}
		for _, c := range doc.Transforms {
			if err := c.Validate(); err != nil {
				t.Errorf("doc.go block before line %d: %v", i+1, err)
			}
			seen[c.Kind()] = true
		}
	}
	for _, k := range components.order {
		if !seen[k.name] {
			t.Errorf("doc.go has no YAML example of %s", k.name)
		}
	}
}
