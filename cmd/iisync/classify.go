package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iisync/iisync/transforms/iis"
)

const classifyUsage = `usage: iisync classify [--json] [--rules FILE] [FILE...]

Reads registry responses (ACK, or the MSA of an RSP) and says what each
means for the message it answers, by the CDC IG 1.5 and the AIRA SMM
AckAnalyzer rules the engine itself applies.
FILE "-", or no FILE, reads standard input. A file may hold many messages
(blank lines, batch wrappers or MLLP framing between them).

For each message it prints one tab-separated line:

  VERDICT  FILE[ #N]  MSA-1  MSA-2  REASON

VERDICT is accepted, accepted_with_warnings, rejected or unknown; #N is the
message's place in a file that holds several; "-" stands for an empty
field; REASON summarises the errors from their codes only and says when a
phrase rule or the lack of any severity decided. Then one indented line
per error the registry reported:

  LOCATION  ERR-3 (0357)  ERR-4 (severity)  ERR-5 (0533)  EXPLANATION  "ERR-8"

EXPLANATION is a plain-English sentence built from the codes and the
location. The last column is the registry's own user message (ERR-8, or
MSA-3 when the registry sends one text per error): it may quote patient
data, so keep this output where the file itself may go.

  --json        print one JSON object per message and line: file, index
                and classification (verdict, ack_code, control_id,
                error_codes, errors with their explanation, text, reason)
  --rules FILE  a registry's phrase rules, YAML:
                  reject_phrases:  [RECORD REJECTED, ...]
                  warning_phrases: [NO VALUE STORED, ...]
                a key left out keeps its default (rejected, not accepted,
                record not processed, message not processed; accepted
                with warnings, accepted with errors); [] turns it off

Exits 0 when every file could be read, whatever the verdicts; 1 when a
file could not be read (the others are still classified); 2 on bad flags
or rules.
`

func runClassify(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("classify", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, classifyUsage) }
	asJSON := fs.Bool("json", false, "print JSON lines")
	rulesFile := fs.String("rules", "", "YAML `file` of reject_phrases and warning_phrases")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	var rules iis.Rules
	if *rulesFile != "" {
		if rules, err = readRules(*rulesFile); err != nil {
			fmt.Fprintf(e.stderr, "iisync classify: --rules %v\n", err)
			return 2
		}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	code := 0
	for _, name := range files {
		msgs, err := readResponses(e.stdin, name)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync classify: %v\n", err)
			code = 1
			continue
		}
		for _, fm := range msgs {
			c := iis.ClassifyWith(fm.raw, rules)
			if *asJSON {
				if err := enc.Encode(classifyDoc{File: fm.file, Index: fm.index, Classification: c}); err != nil {
					fmt.Fprintf(e.stderr, "iisync classify: %v\n", err)
					return 1
				}
				continue
			}
			where := fm.file
			if len(msgs) > 1 {
				where = fm.where()
			}
			printClassification(e.stdout, where, c)
		}
	}
	return code
}

// classifyDoc is one line of --json output.
type classifyDoc struct {
	File           string             `json:"file"`
	Index          int                `json:"index"`
	Classification iis.Classification `json:"classification"`
}

// readResponses reads the messages of one file ("-" is stdin). A file with
// content but no MSH line (a plain-text "SUCCESS", an HTML error page) is
// one message, which classifies as unknown; so does an empty file.
func readResponses(stdin io.Reader, name string) ([]fileMessage, error) {
	data, err := readInput(stdin, name)
	if err != nil {
		return nil, err
	}
	raws := splitMessages(data)
	if len(raws) == 0 {
		raws = [][]byte{data}
	}
	out := make([]fileMessage, len(raws))
	for i, raw := range raws {
		out[i] = fileMessage{file: name, index: i + 1, raw: raw}
	}
	return out, nil
}

// readRules decodes a rules file strictly: an unknown key is an error with
// its line.
func readRules(name string) (iis.Rules, error) {
	var r iis.Rules
	data, err := os.ReadFile(name)
	if err != nil {
		return r, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// printClassification writes the verdict line and one line per error.
func printClassification(w io.Writer, where string, c iis.Classification) {
	// Reason without what the line already says: "rejected: AE, 1 error (…)" → "1 error (…)".
	reason := strings.TrimPrefix(c.Reason, string(c.Verdict)+": ")
	if c.ACKCode != "" {
		reason = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(reason, c.ACKCode), ", "), "; ")
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Verdict, where, orDash(c.ACKCode), orDash(oneLine(c.ControlID)), orDash(reason))
	for _, er := range c.Errors {
		msg := "-"
		if er.Message != "" {
			msg = fmt.Sprintf("%q", er.Message)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", orDash(oneLine(er.Location)), orDash(oneLine(er.Code)),
			orDash(oneLine(er.Severity)), orDash(oneLine(er.AppCode)), er.Explanation, msg)
	}
}

// oneLine replaces tabs and line breaks in registry text, so each record
// stays on its line and in its column.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
