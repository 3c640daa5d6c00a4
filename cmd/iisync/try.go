package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf"
	"github.com/iisync/iisync/transforms/validate"
)

const tryUsage = `usage: iisync try [-c FILE] [--channel NAME] [--json] [--show] MESSAGE-FILE...

The transform playground, offline: runs each message of the files through a
channel of the configuration (without -c: the embedded demo configuration)
as the engine would — parse, filter, transform steps, pre-flight validation,
the ACK — without storing or sending anything. For each message it prints
the outcome (queued, filtered, rejected or error), what the steps changed
field by field, the validation findings, and the MSA/ERR of the ACK the
sender would get. Without --channel: the first channel of the configuration.

The output shows message content (it is your own test message).

  -c, --config FILE   the configuration file
  --channel NAME      the channel to run (default: the first)
  --show              also print each transformed message
  --json              one JSON object per message (outcome, error, changes,
                      findings, transformed, ack)

Exit status: 0 when every message was tried, 1 when a file could not be read,
2 for bad flags or configuration.
`

func runTry(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("try", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, tryUsage) }
	var file, channel string
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "config", "", "same as -c")
	fs.StringVar(&channel, "channel", "", "channel name")
	show := fs.Bool("show", false, "print the transformed messages")
	asJSON := fs.Bool("json", false, "JSON output")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	var f *conf.File
	if file == "" {
		f, err = loadConfig("")
	} else { // secrets are not needed to try a channel
		f, err = conf.LoadWith(file, conf.Options{Offline: true})
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync try: %v\n", err)
		return 2
	}
	if f.CodesDir != "" {
		if err := installCodes(f.CodesDir, zerolog.Nop()); err != nil {
			fmt.Fprintf(e.stderr, "iisync try: code tables: %v\n", err)
			return 2
		}
	}
	ch, err := pickChannel(f, channel)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync try: %v\n", err)
		return 2
	}
	msgs, err := readMessages(e.stdin, rest)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync try: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(e.stdout)
	for _, m := range msgs {
		r, err := channels.TryChannel(ctx, ch, m.raw, time.Now())
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync try: channel %s: %v\n", ch.Name, err)
			return 2
		}
		if *asJSON {
			_ = enc.Encode(tryJSON(m.where(), r))
			continue
		}
		printTry(e.stdout, m.where(), r, *show)
	}
	return 0
}

// pickChannel finds the channel named name ("" for the first one).
func pickChannel(f *conf.File, name string) (channels.ChannelConfig, error) {
	var names []string
	for i, c := range f.Channels {
		if c.Name == name || (name == "" && i == 0) {
			return c, nil
		}
		names = append(names, c.Name)
	}
	if name == "" {
		return channels.ChannelConfig{}, errors.New("the configuration has no channel")
	}
	return channels.ChannelConfig{}, fmt.Errorf("no channel %q (%s)", name, strings.Join(names, ", "))
}

// tryOutput is the JSON form of one tried message.
type tryOutput struct {
	Message string `json:"message"`
	*channels.TryResult
	TransformedText string `json:"transformed,omitempty"`
	ACKText         string `json:"ack,omitempty"`
}

func tryJSON(where string, r *channels.TryResult) tryOutput {
	return tryOutput{Message: where, TryResult: r, TransformedText: string(r.Transformed), ACKText: string(r.ACK)}
}

func printTry(w io.Writer, where string, r *channels.TryResult, show bool) {
	fmt.Fprintf(w, "%s: %s", where, r.Outcome)
	if r.Error != "" {
		fmt.Fprintf(w, " (%s)", r.Error)
	}
	fmt.Fprintln(w)
	for _, c := range r.Changes {
		switch c.Op {
		case "changed":
			fmt.Fprintf(w, "  changed  %-10s %q -> %q\n", c.Path, c.Old, c.New)
		case "added":
			fmt.Fprintf(w, "  added    %-10s %s\n", c.Path, c.New)
		case "removed":
			fmt.Fprintf(w, "  removed  %-10s %s\n", c.Path, c.Old)
		}
	}
	for _, f := range r.Findings {
		if f.Severity == validate.Ignore {
			continue
		}
		fmt.Fprintf(w, "  %-8s %-12s %s: %s\n", f.Severity, validate.FormatLocation(f.Location), f.Rule, f.Message)
	}
	for _, seg := range strings.Split(strings.TrimRight(string(r.ACK), "\r"), "\r") {
		if strings.HasPrefix(seg, "MSA|") || strings.HasPrefix(seg, "ERR|") {
			fmt.Fprintf(w, "  ack      %s\n", seg)
		}
	}
	if show && len(r.Transformed) > 0 {
		fmt.Fprintf(w, "%s\n", segmentLines(string(r.Transformed)))
	}
}
