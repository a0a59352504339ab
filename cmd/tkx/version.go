package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the tkx release; builds from source say "dev".
var version = "0.1.0-dev"

func init() {
	register(&command{
		name:    "version",
		summary: "print the tkx version",
		usage:   "Usage: tkx version\n\nPrints the tkx version, the Go version and the starlark-go version.",
		run: func(args []string, stdout, stderr io.Writer) int {
			star := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "go.starlark.net" {
						star = d.Version
					}
				}
			}
			fmt.Fprintf(stdout, "tkx %s (%s, go.starlark.net %s, %s/%s)\n", version, runtime.Version(), star, runtime.GOOS, runtime.GOARCH)
			return exitOK
		},
	})
}
