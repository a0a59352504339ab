package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/repl"
)

func init() {
	register(&command{
		name:    "repl",
		summary: "interactive Starlark shell with every builtin module",
		usage: `Usage: tkx repl [RECIPE.star [key=value ...]]

Starts an interactive shell. Every builtin module (np, tinker, renderers…)
is predeclared. With a recipe, its globals are loaded first and its resolved
config is bound to cfg, so main(cfg) or any helper can be called by hand.

help() lists modules, help(x) shows docs, Tab completes names and
attributes, history is kept in the user cache dir (tkx/repl_history).
Ctrl-C cancels the current input or evaluation; Ctrl-D or exit() leaves.`,
		run: replCmd,
	})
}

func replCmd(args []string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	in := builtins.NewInterpreter(host.Options{Stderr: stderr})
	s := repl.New(ctx, in, stdout)
	defer s.Close()
	if len(args) > 0 {
		if strings.HasPrefix(args[0], "-") {
			fmt.Fprintln(stderr, commands["repl"].usage)
			return exitUsage
		}
		if err := s.LoadScript(ctx, args[0], args[1:]); err != nil {
			return reportError(stderr, err)
		}
		fmt.Fprintf(stdout, "loaded %s; its config is bound to cfg\n", args[0])
	}

	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetMultiLineMode(true)
	line.SetTabCompletionStyle(liner.TabPrints)
	line.SetWordCompleter(func(l string, pos int) (string, []string, string) {
		head, comps := s.Complete(l[:pos])
		return head, comps, l[pos:]
	})
	histPath := historyPath()
	if f, err := os.Open(histPath); err == nil {
		line.ReadHistory(f)
		f.Close()
	}
	defer func() {
		if histPath == "" {
			return
		}
		_ = os.MkdirAll(filepath.Dir(histPath), 0o755)
		if f, err := os.Create(histPath); err == nil {
			line.WriteHistory(f)
			f.Close()
		}
	}()

	// Ctrl-C during an evaluation cancels it (liner handles it at the prompt).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			s.Interrupt()
		}
	}()

	fmt.Fprintln(stdout, "tkx "+version+" REPL; help() for help, exit() or Ctrl-D to leave")
	readline := func(prompt string) (string, error) {
		text, err := line.Prompt(prompt)
		if err == nil && strings.TrimSpace(text) != "" {
			line.AppendHistory(text)
		}
		return text, err
	}
	for !s.Exited() {
		err := s.ReadEvalPrint(readline)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			fmt.Fprintln(stdout)
			return exitOK
		case errors.Is(err, liner.ErrPromptAborted):
			fmt.Fprintln(stdout, "KeyboardInterrupt")
		default:
			fmt.Fprintln(stderr, err)
		}
	}
	return exitOK
}

func historyPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tkx", "repl_history")
}
