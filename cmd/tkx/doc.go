package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/host"
)

func init() {
	register(&command{
		name:    "doc",
		summary: "show help for builtin modules and functions",
		usage: `Usage: tkx doc [MODULE | MODULE.FUNC]

Without arguments lists the builtin modules. With a module name prints every
member with its signature and doc; with MODULE.FUNC prints one member.
"core" documents the globals config, field, parallel_map and should_stop.`,
		run: docCmd,
	})
}

func docCmd(args []string, stdout, stderr io.Writer) int {
	in := builtins.NewInterpreter(host.Options{Stderr: stderr})
	mods := in.Modules()
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		fmt.Fprintln(stdout, "Builtin modules (tkx doc MODULE for details):")
		for _, n := range names {
			first, _, _ := strings.Cut(mods[n].Doc, "\n")
			fmt.Fprintf(stdout, "  %-12s %s\n", n, first)
		}
		return exitOK
	}
	code := exitOK
	for _, a := range args {
		modName, member, _ := strings.Cut(a, ".")
		m, ok := mods[modName]
		if !ok {
			fmt.Fprintf(stderr, "tkx doc: no module %q%s\n", modName, host.DidYouMean(modName, names))
			code = exitUsage
			continue
		}
		if member == "" {
			fmt.Fprint(stdout, m.Help())
			continue
		}
		doc, ok := m.Lookup(member)
		if !ok {
			var members []string
			for _, f := range m.Funcs {
				members = append(members, f.Name)
			}
			fmt.Fprintf(stderr, "tkx doc: module %s has no member %q%s\n", modName, member, host.DidYouMean(member, members))
			code = exitUsage
			continue
		}
		fmt.Fprintf(stdout, "%s.%s\n", modName, strings.TrimRight(doc, "\n"))
	}
	return code
}
