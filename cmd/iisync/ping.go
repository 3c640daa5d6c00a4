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

Prints "CHANNEL/NAME: ok in 12ms, echo \"TEXT\"" for each iis destination
(without --destination: every one of the file; with a NAME several channels
use: each of them) and exits 0 when every registry echoes; prints the SOAP
fault kind or the transport failure and exits 1 otherwise.

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
	dests, err := findIISDestinations(f, dest)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync ping: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	code := 0
	for _, d := range dests {
		start := time.Now()
		got, err := channels.PingDestination(ctx, d.d, echo)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			fmt.Fprintf(e.stdout, "%s: failed after %s: %s\n", d.name, took, pingFailure(err))
			code = 1
			continue
		}
		fmt.Fprintf(e.stdout, "%s: ok in %s, echo %q\n", d.name, took, got)
	}
	return code
}

// iisDestination is one iis destination of a file, named CHANNEL/NAME.
type iisDestination struct {
	name string
	d    channels.DestinationConfig
}

// findIISDestinations lists the iis destinations sel names ("NAME" or
// "CHANNEL/NAME"; "" for all of them), in file order.
func findIISDestinations(f *conf.File, sel string) ([]iisDestination, error) {
	var all, match []iisDestination
	for _, ch := range f.Channels {
		for _, d := range ch.Destinations {
			if d.IIS == nil {
				continue
			}
			fd := iisDestination{ch.Name + "/" + d.Name, d}
			all = append(all, fd)
			if sel == "" || sel == d.Name || sel == fd.name {
				match = append(match, fd)
			}
		}
	}
	switch {
	case len(all) == 0:
		return nil, errors.New("the configuration has no iis destination")
	case len(match) == 0:
		names := make([]string, len(all))
		for i, a := range all {
			names[i] = a.name
		}
		return nil, fmt.Errorf("no iis destination %q (there are: %s)", sel, strings.Join(names, ", "))
	}
	return match, nil
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
