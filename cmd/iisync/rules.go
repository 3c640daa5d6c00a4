package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/iisync/iisync/transforms/validate"
)

const rulesUsage = `usage: iisync rules

Lists the pre-flight validation rules (a channel's validate: section): each
rule's id, its default severity and what it checks. A channel overrides a
severity with validate.severities: {RULE-ID: error|warning|info|ignore}.
`

func runRules(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("rules", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, rulesUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tDEFAULT\tCHECKS")
	for _, r := range validate.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Default, r.Description)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
