// Command tkx runs tinker-cookbook recipes written in Starlark.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/tkx-dev/tkx/host"
)

// Exit codes: 0 success, 1 recipe failure, 2 usage error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one `tkx` subcommand. Each lives in its own file and
// registers itself from init().
type command struct {
	name    string
	summary string // one line for `tkx help`
	usage   string // full usage text for `tkx help NAME` and -h
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("tkx: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprintln(stdout, c.usage)
				return exitOK
			}
		}
		printHelp(stdout)
		return exitOK
	case "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "tkx: unknown command %q%s\n", name, host.DidYouMean(name, commandNames()))
		printHelp(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "tkx: post-training recipes as Starlark scripts\n\nUsage: tkx COMMAND [ARGS]\n\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `tkx help COMMAND` for a command's options.")
}
