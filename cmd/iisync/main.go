// Command iisync is the iisync engine and its tools: serve runs the engine
// from a configuration file, messages searches, shows, reprocesses and
// resends stored messages over the running engine's API, registry queries
// the state registry for one patient and reconciles both sides (the Sync
// Registry) over the same API, inspect shows messages field by field, send
// delivers message files over MLLP, and version prints the build.
//
// This is the only main package and the only place that builds the logger,
// handles signals and calls os.Exit; everything below it is embeddable.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// command is one subcommand: it parses its own flags and returns an exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a subcommand may touch of the process, so tests can run them in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the engine from a configuration file (-c; default: the embedded demo)", runServe},
		{"check", "validate a configuration file without starting anything", runCheck},
		{"messages", "list, show, reprocess or resend stored messages over the API", runMessages},
		{"registry", "the Sync Registry over the API: query the registry for a patient, compare, import, send, reconcile", runRegistry},
		{"inspect", "show messages segment by segment with HL7 field names", runInspect},
		{"send", "send message files over MLLP and report each ACK", runSend},
		{"classify", "say what registry ACK/RSP files mean: accepted, warnings, rejected", runClassify},
		{"ping", "run the registry's connectivityTest for an iis destination", runPing},
		{"sandbox", "run the embedded IIS sandbox (a CDC WSDL registry) alone", runSandbox},
		{"try", "run messages through a channel without storing or sending (the transform playground)", runTry},
		{"test", "run channel tests (*.test.yaml): expected transforms, findings, ACKs, registry verdicts", runTest},
		{"rules", "list the pre-flight validation rules and their default severities", runRules},
		{"codes", "refresh the CDC code tables (CVX, MVX, vaccine groups) from CDC's files", runCodes},
		{"version", "print the version", runVersion},
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return dispatch(ctx, &env{stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

func dispatch(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "iisync: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: iisync <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run 'iisync <command> -h' for a command's flags")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "signals (serve): SIGHUP reloads the configuration; SIGINT/SIGTERM drain and stop")
}
