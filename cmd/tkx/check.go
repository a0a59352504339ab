package main

import (
	"fmt"
	"io"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/host"
)

func init() {
	register(&command{
		name:    "check",
		summary: "parse and resolve scripts without running them",
		usage: `Usage: tkx check FILE.star [FILE.star ...]

Parses and resolves each script (syntax, undefined names, load() targets)
without executing anything; prints file:line:col: msg for every problem.
Exit status: 0 when every file is clean, 1 otherwise, 2 for usage errors.`,
		run: func(args []string, stdout, stderr io.Writer) int {
			if len(args) == 0 {
				fmt.Fprintln(stderr, commands["check"].usage)
				return exitUsage
			}
			in := builtins.NewInterpreter(host.Options{Stderr: stderr})
			code := exitOK
			for _, f := range args {
				if err := in.Check(f, nil); err != nil {
					fmt.Fprintln(stderr, host.FormatError(err))
					code = exitFailure
				}
			}
			return code
		},
	})
}
