package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host"
)

func init() {
	register(&command{
		name:    "run",
		summary: "run a recipe: tkx run recipe.star [key=value ...]",
		usage: `Usage: tkx run [--max-steps N] RECIPE.star [key=value ...] [--help]

Runs a recipe script: executes its top level, applies the key=value
overrides to its CONFIG (nested fields as a.b=value; values are checked
against the type of the field's default), then calls main(cfg).

  --help            list the recipe's config fields, types, defaults and docs
  --max-steps N     abort after N Starlark steps per thread (0: no limit)

Ctrl-C once asks the recipe to stop at its next step (should_stop() turns
True, so it can flush logs and save a checkpoint); a second Ctrl-C aborts.
Exit status: 0 success, 1 recipe failure, 2 usage error.`,
		run: runCmd,
	})
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	maxSteps := fs.Uint64("max-steps", 0, "Starlark step budget per thread (0: none)")
	fs.Usage = func() { fmt.Fprintln(stderr, commands["run"].usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "tkx run: missing recipe file\n\n"+commands["run"].usage)
		return exitUsage
	}
	file := rest[0]
	var overrides []string
	help := false
	for _, a := range rest[1:] {
		switch {
		case a == "--help" || a == "-h":
			help = true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "tkx run: unknown flag %q after the recipe (flags go before it; overrides are key=value)\n", a)
			return exitUsage
		case !strings.Contains(a, "="):
			fmt.Fprintf(stderr, "tkx run: argument %q is not a key=value override\n", a)
			return exitUsage
		default:
			overrides = append(overrides, a)
		}
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	in := builtins.NewInterpreter(host.Options{MaxSteps: *maxSteps, Stderr: stderr})

	if help {
		r, err := in.LoadRecipe(ctx, file, nil, nil)
		if err != nil {
			return reportError(stderr, err)
		}
		printFields(stdout, file, r.Config)
		return exitOK
	}

	// First Ctrl-C: graceful stop; second: cancel every thread.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				fmt.Fprintln(stderr, "\ntkx: stopping at the next step (press Ctrl-C again to abort)")
				in.RequestStop()
				continue
			}
			cancel(errors.New("interrupted"))
			return
		}
	}()

	// Stop the clients' heartbeats however the recipe ends.
	defer startinker.CloseAll()
	r, err := in.LoadRecipe(ctx, file, nil, overrides)
	if err != nil {
		return reportError(stderr, err)
	}
	if _, err := in.RunMain(ctx, r); err != nil {
		return reportError(stderr, err)
	}
	return exitOK
}

// reportError prints one clear message and picks the exit code: 2 for a
// bad override (a usage error), 1 for everything the recipe did.
func reportError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "tkx: %s\n", host.FormatError(err))
	var oe *host.OverrideError
	if errors.As(err, &oe) {
		return exitUsage
	}
	return exitFailure
}

func printFields(w io.Writer, file string, c *host.Config) {
	fields := c.Fields()
	if len(fields) == 0 {
		fmt.Fprintf(w, "%s declares no config fields.\n", file)
		return
	}
	fmt.Fprintf(w, "Config fields of %s (override with key=value):\n\n", file)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tDEFAULT\tDOC")
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Key, f.Type, f.Default, f.Doc)
	}
	tw.Flush()
}
