package channels

import (
	"fmt"

	"github.com/rs/zerolog"
)

// The component table. The set of destination kinds is closed, so it is
// listed here, explicitly, rather than filled by init() side effects: a
// reader sees every kind in one place, and a duplicate name panics when the
// package is initialized, i.e. at startup and in every test run.
//
// To add a kind: add its optional pointer field to DestinationConfig with
// its defaults and validation, then one line below.
var destinationKinds = newComponentTable("destination", []component[DestinationConfig, destinationKind]{
	{"mllp", func(c DestinationConfig) bool { return c.MLLP != nil }, destinationKind(buildMLLPDestination)},
	{"http", func(c DestinationConfig) bool { return c.HTTP != nil }, destinationKind(buildHTTPDestination)},
	{"file", func(c DestinationConfig) bool { return c.File != nil }, destinationKind(buildFileDestination)},
	{"iis", func(c DestinationConfig) bool { return c.IIS != nil }, destinationKind(buildIISDestination)},
})

// destinationKind builds one kind of Destination from its configuration.
// Like every constructor it starts no goroutine and opens no connection.
type destinationKind func(cfg DestinationConfig, log zerolog.Logger) (Destination, error)

// component is one row of a component table: a kind name (the YAML key),
// a predicate telling whether a configuration C selects the kind, and the
// constructor F.
type component[C, F any] struct {
	name     string
	selected func(C) bool
	build    F
}

// componentTable is a closed, ordered set of component kinds configured by
// a C (a one-key kind map such as DestinationConfig).
type componentTable[C, F any] struct {
	what  string
	rows  []component[C, F]
	names map[string]int
}

// newComponentTable returns a table of rows in the given order. A name
// registered twice panics: that is a programming error, found at startup.
func newComponentTable[C, F any](what string, rows []component[C, F]) *componentTable[C, F] {
	t := &componentTable[C, F]{what: what, names: make(map[string]int, len(rows))}
	for _, r := range rows {
		if r.name == "" || r.selected == nil {
			panic(fmt.Sprintf("channels: %s component %q registered without a name or selector", what, r.name))
		}
		if _, dup := t.names[r.name]; dup {
			panic(fmt.Sprintf("channels: %s kind %q registered twice", what, r.name))
		}
		t.names[r.name] = len(t.rows)
		t.rows = append(t.rows, r)
	}
	return t
}

// lookup returns the one row that cfg (named name) selects. It fails when
// cfg selects none or more than one (Validate reports the same with a path).
func (t *componentTable[C, F]) lookup(name string, cfg C) (component[C, F], error) {
	var found []component[C, F]
	for _, r := range t.rows {
		if r.selected(cfg) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return component[C, F]{}, fmt.Errorf("%s %q selects %d of the kinds %v: %w", t.what, name, len(found), t.kinds(), ErrNoDestinationKind)
	}
	return found[0], nil
}

// kinds lists the registered names in table order.
func (t *componentTable[C, F]) kinds() []string {
	out := make([]string, len(t.rows))
	for i, r := range t.rows {
		out[i] = r.name
	}
	return out
}

// buildDestination builds the destination cfg describes through the
// component table. It does no I/O except reading an HTTP destination's
// CAFile (see buildHTTPDestination). log gains a dest_kind field.
func buildDestination(cfg DestinationConfig, log zerolog.Logger) (Destination, error) {
	row, err := destinationKinds.lookup(cfg.Name, cfg)
	if err != nil {
		return nil, err
	}
	d, err := row.build(cfg, log.With().Str("dest_kind", row.name).Logger())
	if err != nil {
		return nil, fmt.Errorf("destination %q (%s): %w", cfg.Name, row.name, err)
	}
	return d, nil
}

// buildReturnDestination builds the return channel's sender: an MLLP
// destination to the EHR's listener. Its Send checks that the EHR's ACK
// answers the return message's own MSH-10.
func buildReturnDestination(cfg ReturnConfig, log zerolog.Logger) (Destination, error) {
	d, err := newMLLPDestination(cfg.MLLP, log.With().Str("dest_kind", "mllp").Logger())
	if err != nil {
		return nil, fmt.Errorf("return destination: %w", err)
	}
	return d, nil
}
