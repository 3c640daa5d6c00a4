package conf

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf/field"
)

//go:embed registries.yaml
var registriesYAML []byte

// builtinRegistries decodes registries.yaml once. It is part of the binary,
// so a decoding error is a programming error, caught by every test run.
var builtinRegistries = sync.OnceValue(func() map[string]channels.IISDestinationConfig {
	var m map[string]channels.IISDestinationConfig
	dec := yaml.NewDecoder(strings.NewReader(string(registriesYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		panic("conf: registries.yaml: " + err.Error())
	}
	return m
})

// RegistryProfiles returns the registry profiles an `iis:` destination may
// name with `registry:`: the built-in ones, replaced or extended by the
// file's iis_profiles.
func (f File) RegistryProfiles() map[string]channels.IISDestinationConfig {
	out := make(map[string]channels.IISDestinationConfig)
	for k, v := range builtinRegistries() {
		out[k] = v
	}
	for k, v := range f.IISProfiles {
		out[k] = v
	}
	return out
}

// builtinRegistryNodes is registries.yaml as YAML nodes by profile name.
var builtinRegistryNodes = sync.OnceValue(func() map[string]*yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(registriesYAML, &doc); err != nil {
		panic("conf: registries.yaml: " + err.Error())
	}
	return mappingEntries(doc.Content[0])
})

// profileNodes returns the iis_profiles entries of a main file's document.
func profileNodes(doc *yaml.Node) map[string]*yaml.Node {
	if len(doc.Content) == 0 {
		return nil
	}
	return mappingEntries(mappingValue(doc.Content[0], "iis_profiles"))
}

// applyRegistryNodes completes every iis destination that names a registry
// profile with the profile's keys it does not set itself (recursively in
// profile: and classify:), on the YAML tree before it is decoded, so that a
// value the destination writes always wins, even one equal to a default
// (version: "1.2" over a SOAP 1.1 profile). profiles (the file's
// iis_profiles) take precedence over the built-in ones. Unknown names are
// left for Validate to report.
func applyRegistryNodes(doc *yaml.Node, profiles map[string]*yaml.Node) {
	if len(doc.Content) == 0 {
		return
	}
	chs := mappingValue(doc.Content[0], "channels")
	if chs == nil || chs.Kind != yaml.SequenceNode {
		return
	}
	for _, ch := range chs.Content {
		dests := mappingValue(ch, "destinations")
		if dests == nil || dests.Kind != yaml.SequenceNode {
			continue
		}
		for _, d := range dests.Content {
			iis := mappingValue(d, "iis")
			name := mappingValue(iis, "registry")
			if name == nil || name.Kind != yaml.ScalarNode {
				continue
			}
			p := profiles[name.Value]
			if p == nil {
				p = builtinRegistryNodes()[name.Value]
			}
			if p != nil {
				mergeMissing(iis, p)
			}
		}
	}
}

// mergeMissing adds to the mapping dst a copy of every key of the mapping
// src that dst lacks, and merges mappings both have.
func mergeMissing(dst, src *yaml.Node) {
	if dst.Kind != yaml.MappingNode || src.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		if dv := mappingValue(dst, k.Value); dv != nil {
			mergeMissing(dv, v)
			continue
		}
		dst.Content = append(dst.Content, copyNode(k), copyNode(v))
	}
}

func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

// mappingValue returns the value of key in the mapping n (nil if n is not
// a mapping or lacks key).
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mappingEntries returns a mapping's values by key (nil if not a mapping).
func mappingEntries(n *yaml.Node) map[string]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1]
	}
	return out
}

// validateRegistries reports destinations naming an unknown registry
// profile.
func (f File) validateRegistries() []error {
	profiles := f.RegistryProfiles()
	var errs []error
	for i, ch := range f.Channels {
		for j, d := range ch.Destinations {
			if d.IIS == nil || d.IIS.Registry == "" {
				continue
			}
			if _, ok := profiles[d.IIS.Registry]; !ok {
				names := make([]string, 0, len(profiles))
				for k := range profiles {
					names = append(names, k)
				}
				slices.Sort(names)
				errs = append(errs, field.Errorf(fmt.Sprintf("channels[%d].destinations[%d].iis.registry", i, j),
					"unknown registry profile %q (known: %s)", d.IIS.Registry, strings.Join(names, ", ")))
			}
		}
	}
	return errs
}
