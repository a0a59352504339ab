// Package starmllog is the `ml_log` Starlark module over package mllog:
// a run's log directory (config.json, metrics.jsonl, checkpoints.jsonl,
// logs.log, loss.png), progress display, and checkpoint records for resume.
package starmllog

import (
	"fmt"
	"path/filepath"
	"sort"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/mllog"
)

// Module is the ml_log module.
var Module = &host.Module{
	Name: "ml_log",
	Doc: `Run logging in the cookbook's layout: LOG_DIR/config.json, metrics.jsonl
(one {"step": N, ...} line per step, fsynced), checkpoints.jsonl (append-only
records, safe against SIGKILL), logs.log (log lines and print output) and
loss.png. A progress bar with ETA and the latest loss is drawn on a terminal;
plain lines otherwise. close() prints a summary table and draws the curves.

ml_logger (from setup): log_metrics(metrics, step) appends {"step": step,
...metrics} and syncs it; log_checkpoint(record) appends a record (the
cookbook's keys: name, batch = the next step to run, epoch, state_path,
sampler_path); last_checkpoint(required_key="state_path") -> dict or None;
log(msg) writes a line to the console and logs.log; close(). Attributes:
log_dir, resumed. Write a checkpoint record only after the metrics of the
steps before its batch are logged: a resumed run starts at batch.`,
	Funcs: []host.Func{
		{Name: "setup", Impl: setup, Doc: `setup(log_path=None, config=None, behavior_if_log_dir_exists="ask", name=None, total_steps=0, must_match=None, plot_metrics=None, quiet=False, capture_print=True) -> ml_logger

Opens the run's log directory. log_path None means $TKX_HOME/runs/NAME
(TKX_HOME defaults to the user cache dir + /tkx; NAME defaults to
run-DATE-TIME). When the directory already holds a run:
behavior_if_log_dir_exists="resume" keeps it (the logger's resumed is True;
read last_checkpoint() to continue), "delete" removes it (only if it looks
like a log directory), "raise" fails, "ask" prompts on a terminal and fails
without one. On resume, config keys in must_match (default: recipe,
recipe_name, model_name, renderer_name, lora_rank) must equal the old
config.json's. config (a dict or config) is written to config.json.
total_steps gives the progress bar its ETA. capture_print copies this
thread's print() output into logs.log until close().`},
		{Name: "read_metrics", Impl: readMetrics, Doc: `read_metrics(log_dir) -> list

The steps of LOG_DIR/metrics.jsonl as dicts {"step": N, metric: value, ...},
lines of the same step merged (later wins), in step order.`},
		{Name: "last_checkpoint", Impl: lastCheckpoint, Doc: `last_checkpoint(log_dir, required_key="state_path") -> dict or None

The last record of LOG_DIR/checkpoints.jsonl that has required_key
("" accepts any). An incomplete last line (a killed run) is ignored.`},
		{Name: "plot", Impl: plotFn, Doc: `plot(log_dir, metrics=None, out=None) -> string

Draws metrics (default: train_mean_nll and test/nll) against the step into
a PNG, out defaulting to LOG_DIR/loss.png; returns the PNG's path.`},
	},
}

func dictArg(fn *starlark.Builtin, what string, v starlark.Value) (map[string]any, error) {
	g, err := host.FromStarlark(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", fn.Name(), what, err)
	}
	m, ok := host.PlainMaps(g).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a dict, got %s", fn.Name(), what, v.Type())
	}
	return m, nil
}

func optString(fn *starlark.Builtin, what string, v starlark.Value) (string, error) {
	if v == nil || v == starlark.None {
		return "", nil
	}
	s, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("%s: for parameter %s: got %s, want string or None", fn.Name(), what, v.Type())
	}
	return s, nil
}

func optStrings(fn *starlark.Builtin, what string, v starlark.Value) ([]string, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	if s, ok := starlark.AsString(v); ok {
		return []string{s}, nil
	}
	out, err := host.AsStrings(v, fn.Name()+": "+what)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func setup(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var logPath, config, name, mustMatch, plotMetrics starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	behavior := "ask"
	totalSteps := 0
	quiet, capture := false, true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs,
		"log_path?", &logPath, "config?", &config, "behavior_if_log_dir_exists?", &behavior,
		"name?", &name, "total_steps?", &totalSteps, "must_match?", &mustMatch,
		"plot_metrics?", &plotMetrics, "quiet?", &quiet, "capture_print?", &capture); err != nil {
		return nil, err
	}
	b, err := mllog.ParseBehavior(behavior)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	opts := mllog.Options{Behavior: b, TotalSteps: totalSteps, Quiet: quiet}
	if opts.LogPath, err = optString(fn, "log_path", logPath); err != nil {
		return nil, err
	}
	if opts.Name, err = optString(fn, "name", name); err != nil {
		return nil, err
	}
	if opts.MustMatch, err = optStrings(fn, "must_match", mustMatch); err != nil {
		return nil, err
	}
	if opts.PlotMetrics, err = optStrings(fn, "plot_metrics", plotMetrics); err != nil {
		return nil, err
	}
	if config != starlark.None {
		g, err := host.FromStarlark(config)
		if err != nil {
			return nil, fmt.Errorf("%s: config: %v", fn.Name(), err)
		}
		opts.Config = g
	}
	l, err := mllog.Setup(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	lg := &Logger{l: l}
	if capture && thread.Print != nil {
		orig := thread.Print
		lg.thread, lg.origPrint = thread, orig
		thread.Print = func(th *starlark.Thread, msg string) {
			l.AroundConsole(func() { orig(th, msg) })
			l.Record(msg)
		}
	}
	return lg, nil
}

// Logger is the Starlark value of an *mllog.Logger.
type Logger struct {
	l         *mllog.Logger
	thread    *starlark.Thread
	origPrint func(*starlark.Thread, string)
}

var _ starlark.HasAttrs = (*Logger)(nil)

// AsLogger returns the Go logger of an ml_logger value (for Go helpers
// such as the supervised loop).
func AsLogger(v starlark.Value) (*mllog.Logger, bool) {
	lg, ok := v.(*Logger)
	if !ok {
		return nil, false
	}
	return lg.l, true
}

func (lg *Logger) String() string        { return fmt.Sprintf("<ml_logger %s>", lg.l.Dir()) }
func (lg *Logger) Type() string          { return "ml_logger" }
func (lg *Logger) Freeze()               {}
func (lg *Logger) Truth() starlark.Bool  { return true }
func (lg *Logger) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: ml_logger") }

type method = func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

var loggerMethods = map[string]method{
	"log_metrics":     logMetrics,
	"log_checkpoint":  logCheckpoint,
	"last_checkpoint": loggerLastCheckpoint,
	"log":             logMsg,
	"close":           closeFn,
}

func (lg *Logger) AttrNames() []string {
	names := []string{"log_dir", "resumed"}
	for k := range loggerMethods {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (lg *Logger) Attr(name string) (starlark.Value, error) {
	switch name {
	case "log_dir":
		return starlark.String(lg.l.Dir()), nil
	case "resumed":
		return starlark.Bool(lg.l.Resumed()), nil
	}
	if m, ok := loggerMethods[name]; ok {
		return starlark.NewBuiltin("ml_logger."+name, m).BindReceiver(lg), nil
	}
	return nil, nil
}

func recv(fn *starlark.Builtin) *Logger { return fn.Receiver().(*Logger) }

func logMetrics(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var metrics starlark.Value
	var step int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "metrics", &metrics, "step", &step); err != nil {
		return nil, err
	}
	m, err := dictArg(fn, "metrics", metrics)
	if err != nil {
		return nil, err
	}
	if err := recv(fn).l.LogMetrics(m, step); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.None, nil
}

func logCheckpoint(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rec starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "record", &rec); err != nil {
		return nil, err
	}
	m, err := dictArg(fn, "record", rec)
	if err != nil {
		return nil, err
	}
	if err := recv(fn).l.LogCheckpoint(m); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.None, nil
}

func loggerLastCheckpoint(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	key := "state_path"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "required_key?", &key); err != nil {
		return nil, err
	}
	rec, ok, err := recv(fn).l.LastCheckpoint(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if !ok {
		return starlark.None, nil
	}
	return host.ToStarlark(rec)
}

func logMsg(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "msg", &msg); err != nil {
		return nil, err
	}
	recv(fn).l.Print(msg)
	return starlark.None, nil
}

func closeFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	lg := recv(fn)
	if lg.thread != nil {
		// Stop copying print() output into logs.log.
		lg.thread.Print = lg.origPrint
		lg.thread = nil
	}
	if err := lg.l.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.None, nil
}

func readMetrics(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "log_dir", &dir); err != nil {
		return nil, err
	}
	steps, _, err := mllog.ReadMetrics(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	out := make([]starlark.Value, len(steps))
	for i, s := range steps {
		d := starlark.NewDict(len(s.Metrics) + 1)
		d.SetKey(starlark.String("step"), starlark.MakeInt(s.Step))
		keys := make([]string, 0, len(s.Metrics))
		for k := range s.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d.SetKey(starlark.String(k), starlark.Float(s.Metrics[k]))
		}
		out[i] = d
	}
	return starlark.NewList(out), nil
}

func lastCheckpoint(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	key := "state_path"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "log_dir", &dir, "required_key?", &key); err != nil {
		return nil, err
	}
	rec, ok, _, err := mllog.LastCheckpoint(dir, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if !ok {
		return starlark.None, nil
	}
	return host.ToStarlark(rec)
}

func plotFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	var metrics, out starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "log_dir", &dir, "metrics?", &metrics, "out?", &out); err != nil {
		return nil, err
	}
	names, err := optStrings(fn, "metrics", metrics)
	if err != nil {
		return nil, err
	}
	o, err := optString(fn, "out", out)
	if err != nil {
		return nil, err
	}
	if o == "" {
		o = filepath.Join(dir, mllog.PlotFile)
	}
	if err := mllog.Plot(dir, names, o); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.String(o), nil
}
