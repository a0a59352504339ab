package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tkx-dev/tkx/mllog"
)

func init() {
	register(&command{
		name:    "plot",
		summary: "draw a run's loss curves from LOG_DIR/metrics.jsonl into a PNG",
		usage: `Usage: tkx plot LOG_DIR [LOG_DIR...] [--metric NAME[,NAME...]] [-o OUT.png]

Reads LOG_DIR/metrics.jsonl (lines of the same step are merged; a resumed
run's repeated steps keep the latest values) and draws the metrics against
the step. Without --metric: train_mean_nll and test/nll when logged, else
every metric whose name contains "nll" or "loss". --metric may be repeated.
The PNG goes to LOG_DIR/loss.png unless -o is given; its path is printed.
Several LOG_DIRs are drawn into one PNG to compare runs (series named
"DIR: metric"); -o is then required.
Options may come before or after LOG_DIR.
Exit status: 0 on success, 1 when the log cannot be read or plotted,
2 for usage errors.`,
		run: runPlot,
	})
}

func runPlot(args []string, stdout, stderr io.Writer) int {
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "tkx plot: %s\n\n%s\n", msg, commands["plot"].usage)
		return exitUsage
	}
	var dirs []string
	var out string
	var metrics []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "-h", "--help", "-help":
			fmt.Fprintln(stdout, commands["plot"].usage)
			return exitOK
		case "--metric", "-metric", "-m", "--metrics":
			if !hasVal {
				if i+1 >= len(args) {
					return usage(name + " needs a value")
				}
				i++
				val = args[i]
			}
			for _, m := range strings.Split(val, ",") {
				if m = strings.TrimSpace(m); m != "" {
					metrics = append(metrics, m)
				}
			}
		case "-o", "--out", "--output":
			if !hasVal {
				if i+1 >= len(args) {
					return usage(name + " needs a value")
				}
				i++
				val = args[i]
			}
			out = val
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return usage(fmt.Sprintf("unknown option %s", a))
			}
			dirs = append(dirs, a)
		}
	}
	if len(dirs) == 0 {
		return usage("missing LOG_DIR")
	}
	if len(dirs) > 1 && out == "" {
		return usage("several LOG_DIRs need -o OUT.png")
	}
	for i, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil {
			fmt.Fprintf(stderr, "tkx plot: %v\n", err)
			return exitFailure
		}
		if !st.IsDir() {
			if filepath.Base(dir) != mllog.MetricsFile {
				fmt.Fprintf(stderr, "tkx plot: %s is not a log directory\n", dir)
				return exitFailure
			}
			dirs[i] = filepath.Dir(dir)
		}
	}
	if out == "" {
		out = filepath.Join(dirs[0], mllog.PlotFile)
	}
	if err := mllog.PlotRuns(dirs, metrics, out); err != nil {
		fmt.Fprintf(stderr, "tkx plot: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, out)
	return exitOK
}
