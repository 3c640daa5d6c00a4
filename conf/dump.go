package conf

import (
	"bytes"
	_ "embed"
	"fmt"
	"reflect"
	"strings"

	"github.com/iisync/iisync/conf/field"
	"go.yaml.in/yaml/v3"
)

//go:embed examples/demo.yaml
var demo []byte

// Demo returns conf/examples/demo.yaml, the configuration `make run` uses:
// MLLP from the EHR on 127.0.0.1:2575, returns to 127.0.0.1:2576, API and
// metrics on 127.0.0.1:8080, data under ./var. Parse it with baseDir ".".
func Demo() []byte { return bytes.Clone(demo) }

// Dump returns the effective configuration as YAML: defaults applied, the
// channels of include files inlined (so include: is left out), unset
// optional parts left out, and every field.Secret printed as <secret>.
// Values resolved from ${env:} or ${file:} into fields that are not secrets
// print as they are.
func (f *File) Dump() ([]byte, error) {
	c := f.WithDefaults()
	c.Include = nil
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, fmt.Errorf("conf: dump: %w", err)
	}
	blankZeroSecrets(&n, reflect.ValueOf(c))
	prune(&n, true)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("conf: dump: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("conf: dump: %w", err)
	}
	return buf.Bytes(), nil
}

// prune drops mapping entries whose value is null (unset optional kinds
// and pointers) and, at the top, the include key.
func prune(n *yaml.Node, top bool) {
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" || top && k.Value == "include" {
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		prune(c, false)
	}
}

var secretType = reflect.TypeFor[field.Secret]()

// blankZeroSecrets prints an unset field.Secret as "" rather than <secret>,
// so a dump does not suggest a credential that is not there. It walks the
// encoded node n alongside the value v it was encoded from.
func blankZeroSecrets(n *yaml.Node, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	switch {
	case v.Type() == secretType:
		if v.Interface().(field.Secret).IsZero() && n.Kind == yaml.ScalarNode {
			n.Value, n.Tag, n.Style = "", "!!str", 0
		}
	case v.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if !t.Field(i).IsExported() || name == "" || name == "-" {
				continue
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == name {
					blankZeroSecrets(n.Content[j+1], v.Field(i))
				}
			}
		}
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode && v.Len() == len(n.Content):
		for i := range v.Len() {
			blankZeroSecrets(n.Content[i], v.Index(i))
		}
	}
}
