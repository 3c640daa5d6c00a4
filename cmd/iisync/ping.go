package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf"
	"github.com/iisync/iisync/gateway/soap"
)

const pingUsage = `usage: iisync ping [-c FILE] [--destination [CHANNEL/]NAME] [--echo TEXT] [--timeout DURATION]

Runs the registry's connectivityTest (CDC IIS WSDL) for an iis destination
of the configuration (without -c: the embedded demo configuration): the
Ping button of the Sync Registry window. It needs no running engine; it
reads the destination's URL, TLS settings and profile from the file.

Prints "NAME: ok in 12ms, echo \"TEXT\"" and exits 0 when the registry
echoes; prints the SOAP fault kind or the transport failure and exits 1
otherwise. Without --destination the configuration must have exactly one
iis destination.

  -c, --config FILE       the configuration file
  --destination NAME      the iis destination: NAME or CHANNEL/NAME
  --echo TEXT             what to ask the registry to echo (default "iisync ping")
  --timeout DURATION      bound of the whole test (default 30s)
`

func runPing(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("ping", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, pingUsage) }
	var file, dest, echo string
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "config", "", "same as -c")
	fs.StringVar(&dest, "destination", "", "the iis destination")
	fs.StringVar(&echo, "echo", "iisync ping", "text to echo")
	timeout := fs.Duration("timeout", 30*time.Second, "bound of the test")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) > 0 || *timeout <= 0 {
		fs.Usage()
		return 2
	}
	f, err := loadConfig(file)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync ping: %v\n", err)
		return 2
	}
	name, d, err := findIISDestination(f, dest)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync ping: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	got, err := channels.PingDestination(ctx, d, echo)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		fmt.Fprintf(e.stdout, "%s: failed after %s: %s\n", name, took, pingFailure(err))
		return 1
	}
	fmt.Fprintf(e.stdout, "%s: ok in %s, echo %q\n", name, took, got)
	return 0
}

// findIISDestination picks the iis destination named sel ("NAME" or
// "CHANNEL/NAME"; "" when the file has exactly one).
func findIISDestination(f *conf.File, sel string) (string, channels.DestinationConfig, error) {
	type found struct {
		name string
		d    channels.DestinationConfig
	}
	var all, match []found
	for _, ch := range f.Channels {
		for _, d := range ch.Destinations {
			if d.IIS == nil {
				continue
			}
			fd := found{ch.Name + "/" + d.Name, d}
			all = append(all, fd)
			if sel == "" || sel == d.Name || sel == fd.name {
				match = append(match, fd)
			}
		}
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.name
	}
	switch {
	case len(all) == 0:
		return "", channels.DestinationConfig{}, errors.New("the configuration has no iis destination")
	case len(match) == 1:
		return match[0].name, match[0].d, nil
	case len(match) == 0:
		return "", channels.DestinationConfig{}, fmt.Errorf("no iis destination %q (there are: %s)", sel, strings.Join(names, ", "))
	}
	return "", channels.DestinationConfig{}, fmt.Errorf("several iis destinations match %q; name one with --destination CHANNEL/NAME (%s)", sel, strings.Join(names, ", "))
}

// pingFailure says what went wrong in words: the fault kind, the HTTP
// status or the transport cause (never registry free text).
func pingFailure(err error) string {
	var fault *soap.Fault
	if errors.As(err, &fault) {
		switch fault.Kind {
		case soap.FaultSecurity:
			return fmt.Sprintf("the registry refused the credentials (%v)", err)
		case soap.FaultUnsupportedOperation:
			return fmt.Sprintf("the registry does not support connectivityTest (%v)", err)
		}
		return fmt.Sprintf("the registry answered a SOAP fault (%v)", err)
	}
	return err.Error()
}
