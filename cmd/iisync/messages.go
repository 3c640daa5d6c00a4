package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/console"
)

const messagesUsage = `usage: iisync messages <list|show|reprocess|resend> [flags] [ID]

A client of the running engine's HTTP API (see docs/API.md):

  list       search stored messages; one line each: id, received time,
             channel, control ID, type, status, each destination's ACK code
  show ID    one message: summary and every stage (PHI: the server audits it);
             --raw prints only the raw message
  reprocess ID   run the stored message through its channel again
  resend ID      queue it again for its destinations (--dest NAME, repeatable)

Common flags: --api URL (default http://127.0.0.1:8080), --token T (default
$IISYNC_API_TOKEN).
`

func runMessages(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, messagesUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return messagesList(ctx, e, args[1:])
	case "show":
		return messagesShow(ctx, e, args[1:])
	case "reprocess":
		return messagesReprocess(ctx, e, args[1:])
	case "resend":
		return messagesResend(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "iisync messages: unknown subcommand %q\n\n%s", args[0], messagesUsage)
	return 2
}

// apiClient is a small client of the console API.
type apiClient struct {
	base  string
	token string
	user  string // X-Iisync-User, for the audit trail; default $USER
	hc    *http.Client
}

func addAPIFlags(fs *flag.FlagSet) func() (*apiClient, error) {
	api := fs.String("api", "http://127.0.0.1:8080", "API base `URL`")
	token := fs.String("token", "", "API bearer `token` (default $IISYNC_API_TOKEN)")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout")
	return func() (*apiClient, error) {
		u, err := url.Parse(*api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--api must be an http(s) URL, got %q", *api)
		}
		t := *token
		if t == "" {
			t = os.Getenv("IISYNC_API_TOKEN")
		}
		return &apiClient{base: strings.TrimRight(*api, "/"), token: t, user: os.Getenv("USER"), hc: &http.Client{Timeout: *timeout}}, nil
	}
}

// apiError is a non-2xx answer of the API.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.msg)
}

// do sends a request and decodes a JSON answer into out (when non-nil); a
// non-2xx answer is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, body any, out any) error {
	status, data, err := c.exchange(ctx, method, path, body)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return &apiError{status: status, msg: errorText(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// exchange sends a request and returns the answer's status and body,
// whatever the status.
func (c *apiClient) exchange(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.user != "" {
		req.Header.Set("X-Iisync-User", c.user)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

// errorText is the "error" of an API error answer, else the body.
func errorText(data []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		return strings.TrimSpace(string(data))
	}
	return e.Error
}

// parseMsgArgs parses flags (allowed before or after the positional args)
// and returns the client and the positional args.
func parseMsgArgs(e *env, fs *flag.FlagSet, usage string, args []string, nargs int) (*apiClient, []string, bool) {
	mk := addAPIFlags(fs)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, nil, false
	}
	if len(pos) != nargs {
		fs.Usage()
		return nil, nil, false
	}
	c, err := mk()
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync %s: %v\n", fs.Name()[len("iisync "):], err)
		return nil, nil, false
	}
	return c, pos, true
}

func messagesList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("messages list", e.stderr)
	params := []struct{ flag, param, help string }{
		{"channel", "channel", "channel `name`"},
		{"control-id", "control_id", "MSH-10"},
		{"sender", "sender", "MSH-4.1"},
		{"type", "type", "MSH-9 prefix, e.g. `VXU`"},
		{"patient", "patient", "patient `MRN` (hashed by the server, never stored)"},
		{"status", "status", "message `status`: received, filtered, queued, sent, accepted, accepted_with_warnings, rejected, errored, dead_lettered"},
		{"ack", "ack", "a destination's ACK `code` (MSA-1)"},
		{"error", "error", "an error `code` from a destination's ACK, e.g. 0357:101"},
		{"since", "since", "received at or after `time` (RFC 3339)"},
		{"until", "until", "received before `time` (RFC 3339)"},
		{"after", "after", "page after this message `id`"},
		{"limit", "limit", "at most `n` messages (1..1000, default 100)"},
	}
	vals := make([]*string, len(params))
	for i, p := range params {
		vals[i] = fs.String(p.flag, "", p.help)
	}
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	c, _, ok := parseMsgArgs(e, fs, "usage: iisync messages list [flags]\n\n", args, 0)
	if !ok {
		return 2
	}
	q := url.Values{}
	for i, p := range params {
		if *vals[i] != "" {
			q.Set(p.param, *vals[i])
		}
	}
	path := "/api/messages"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var list console.MessageList
	if err := c.do(ctx, http.MethodGet, path, nil, &list); err != nil {
		fmt.Fprintf(e.stderr, "iisync messages list: %v\n", err)
		return 1
	}
	if *asJSON {
		return printJSON(e, list)
	}
	for _, m := range list.Messages {
		fmt.Fprintln(e.stdout, summaryLine(m))
	}
	if list.NextAfter != 0 {
		fmt.Fprintf(e.stderr, "more: --after %d\n", list.NextAfter)
	}
	return 0
}

// summaryLine is one tab-separated line: id, received time, channel, control
// ID, type, status, then destination=ACK code (or its status) for each
// delivery.
func summaryLine(m console.Summary) string {
	f := []string{
		strconv.FormatUint(uint64(m.ID), 10), m.ReceivedAt.UTC().Format(time.RFC3339),
		m.Channel, orDash(m.ControlID), orDash(m.Type), string(m.Status),
	}
	var ds []string
	for _, d := range m.Deliveries {
		code := d.ACKCode
		if code == "" {
			code = string(d.Status)
		}
		ds = append(ds, strings.TrimPrefix(d.Destination, m.Channel+"/")+"="+code)
	}
	f = append(f, orDash(strings.Join(ds, ",")))
	return strings.Join(f, "\t")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(e.stderr, "iisync messages: %v\n", err)
		return 1
	}
	return 0
}

func idPath(id string, suffix string) (string, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return "", fmt.Errorf("message ID must be a positive integer, got %q", id)
	}
	return "/api/messages/" + strconv.FormatUint(n, 10) + suffix, nil
}

func messagesShow(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("messages show", e.stderr)
	raw := fs.Bool("raw", false, "print only the raw message, one segment per line")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	c, pos, ok := parseMsgArgs(e, fs, "usage: iisync messages show [flags] ID\n\n", args, 1)
	if !ok {
		return 2
	}
	path, err := idPath(pos[0], "")
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync messages show: %v\n", err)
		return 2
	}
	var rec console.Record
	if err := c.do(ctx, http.MethodGet, path, nil, &rec); err != nil {
		fmt.Fprintf(e.stderr, "iisync messages show: %v\n", err)
		return 1
	}
	switch {
	case *asJSON:
		return printJSON(e, rec)
	case *raw:
		if rec.ContentPruned {
			fmt.Fprintln(e.stderr, "iisync messages show: content pruned by retention")
			return 1
		}
		fmt.Fprint(e.stdout, segmentLines(rec.Raw))
		return 0
	}
	w := e.stdout
	fmt.Fprintf(w, "id:          %d\n", rec.ID)
	fmt.Fprintf(w, "channel:     %s\n", rec.Channel)
	fmt.Fprintf(w, "received:    %s (%s)\n", rec.ReceivedAt.UTC().Format(time.RFC3339Nano), orDash(rec.Source))
	fmt.Fprintf(w, "control id:  %s\n", orDash(rec.ControlID))
	fmt.Fprintf(w, "sender:      %s\n", orDash(rec.Sender))
	fmt.Fprintf(w, "type:        %s\n", orDash(rec.Type))
	fmt.Fprintf(w, "status:      %s\n", rec.Status)
	if rec.ParseError != "" {
		fmt.Fprintf(w, "parse error: %s\n", rec.ParseError)
	}
	for _, d := range rec.Deliveries {
		fmt.Fprintf(w, "delivery %s: %s, %d attempt(s)", d.Destination, d.Status, d.Attempts)
		if d.ACKCode != "" {
			fmt.Fprintf(w, ", ACK %s", d.ACKCode)
		}
		if len(d.ErrorCodes) > 0 {
			fmt.Fprintf(w, ", errors %s", strings.Join(d.ErrorCodes, " "))
		}
		if d.LastError != "" {
			fmt.Fprintf(w, ", last error: %s", d.LastError)
		}
		fmt.Fprintln(w)
		for _, er := range d.Errors {
			fmt.Fprintf(w, "  %s %s: %s", orDash(er.Severity), orDash(er.Location), er.Explanation)
			if er.Message != "" {
				fmt.Fprintf(w, " ERR-8: %q", er.Message)
			}
			fmt.Fprintln(w)
		}
	}
	if rec.ContentPruned {
		fmt.Fprintln(w, "\n(content pruned by retention)")
		return 0
	}
	stage := func(name, text string) {
		if text != "" {
			fmt.Fprintf(w, "\n--- %s\n%s", name, segmentLines(text))
		}
	}
	stage("raw", rec.Raw)
	stage("transformed", rec.Transformed)
	for _, d := range rec.Deliveries {
		stage(d.Destination+" sent", d.Sent)
		stage(d.Destination+" response", d.Response)
	}
	return 0
}

// segmentLines puts each HL7 segment on its own line for a terminal.
func segmentLines(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

func messagesReprocess(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("messages reprocess", e.stderr)
	c, pos, ok := parseMsgArgs(e, fs, "usage: iisync messages reprocess [flags] ID\n\n", args, 1)
	if !ok {
		return 2
	}
	path, err := idPath(pos[0], "/reprocess")
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync messages reprocess: %v\n", err)
		return 2
	}
	var out console.IDResponse
	if err := c.do(ctx, http.MethodPost, path, nil, &out); err != nil {
		fmt.Fprintf(e.stderr, "iisync messages reprocess: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%d\n", out.ID)
	return 0
}

func messagesResend(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("messages resend", e.stderr)
	var dests multiFlag
	fs.Var(&dests, "dest", "destination `name` (repeatable; default all of the message's destinations)")
	c, pos, ok := parseMsgArgs(e, fs, "usage: iisync messages resend [flags] ID\n\n", args, 1)
	if !ok {
		return 2
	}
	path, err := idPath(pos[0], "/resend")
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync messages resend: %v\n", err)
		return 2
	}
	var out console.ResendResponse
	if err := c.do(ctx, http.MethodPost, path, console.ResendRequest{Destinations: dests}, &out); err != nil {
		fmt.Fprintf(e.stderr, "iisync messages resend: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%d\t%s\n", out.ID, out.Status)
	return 0
}
