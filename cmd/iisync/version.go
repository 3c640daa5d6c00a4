package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("version", e.stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Fprintf(e.stdout, "iisync %s (%s %s/%s%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, revision())
	return 0
}

// revision returns ", commit abc1234" when the build recorded one.
func revision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 7 {
			return ", commit " + s.Value[:7]
		}
	}
	return ""
}
