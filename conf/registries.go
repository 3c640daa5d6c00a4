package conf

import (
	_ "embed"
	"fmt"
	"reflect"
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

// applyRegistries fills the empty fields of every iis destination that
// names a registry profile from that profile. Unknown names are left for
// Validate to report.
func (f File) applyRegistries() File {
	profiles := f.RegistryProfiles()
	chs := slices.Clone(f.Channels)
	for i := range chs {
		dests := slices.Clone(chs[i].Destinations)
		for j, d := range dests {
			if d.IIS == nil || d.IIS.Registry == "" {
				continue
			}
			p, ok := profiles[d.IIS.Registry]
			if !ok {
				continue
			}
			c := *d.IIS
			fillZero(reflect.ValueOf(&c).Elem(), reflect.ValueOf(p))
			dests[j].IIS = &c
		}
		chs[i].Destinations = dests
	}
	f.Channels = chs
	return f
}

// fillZero sets every zero field of dst (recursively through structs) to
// the value of the same field in src.
func fillZero(dst, src reflect.Value) {
	for i := range dst.NumField() {
		df, sf := dst.Field(i), src.Field(i)
		if !df.CanSet() {
			continue // unexported (a Secret's value): set as a whole below
		}
		switch {
		case df.Kind() == reflect.Struct && hasSettable(df):
			fillZero(df, sf)
		case df.IsZero():
			df.Set(sf)
		}
	}
}

func hasSettable(v reflect.Value) bool {
	for i := range v.NumField() {
		if v.Field(i).CanSet() {
			return true
		}
	}
	return false
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
