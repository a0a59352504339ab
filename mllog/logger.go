// Package mllog records a training run in a log directory the way the
// cookbook's ml_log does, so the same tools read both:
//
//	LOG_DIR/config.json        the run's config (written atomically)
//	LOG_DIR/metrics.jsonl      one {"step": N, ...metrics} object per line,
//	                           flushed and fsynced every step
//	LOG_DIR/checkpoints.jsonl  append-only checkpoint records
//	                           ({"name", "batch", "state_path", ...})
//	LOG_DIR/logs.log           log lines and captured print() output
//	LOG_DIR/loss.png           loss curves, written by Close and `tkx plot`
//
// Every JSONL record is one write of one whole line followed by fsync, so a
// run killed with SIGKILL at any moment loses nothing already written and
// leaves at most an incomplete last line, which readers ignore and a
// resumed run cuts off before appending.
//
// On a terminal the Logger draws a progress bar with the ETA and latest
// loss; otherwise it prints one plain line per step. Close prints a summary
// table and draws the loss curves.
package mllog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// DefaultMustMatch are the config keys a resumed run must share with the
// run that made the log directory (keys missing on either side are not
// compared).
var DefaultMustMatch = []string{"recipe", "recipe_name", "model_name", "renderer_name", "lora_rank"}

// Options configures Setup.
type Options struct {
	// LogPath is the log directory; "" means DefaultLogPath(Name).
	LogPath string
	// Name names the run for the default path and the summary.
	Name string
	// Config is written to config.json (anything encoding/json accepts; a
	// map or struct). On resume it is checked against the old config.json.
	Config any
	// Behavior applies when LogPath already holds a run; "" means Ask.
	Behavior Behavior
	// MustMatch lists config keys that must be equal on resume; nil means
	// DefaultMustMatch, an empty non-nil slice checks nothing.
	MustMatch []string
	// TotalSteps, when known, gives the progress bar its percentage and ETA.
	TotalSteps int
	// ProgressKeys are the metrics shown in progress lines, first ones
	// first, when present; nil means train_mean_nll, test/nll, loss, lr,
	// learning_rate.
	ProgressKeys []string
	// PlotMetrics are drawn into loss.png by Close; nil means the default
	// choice of Plot. NoPlot turns the PNG off.
	PlotMetrics []string
	NoPlot      bool
	// Console receives progress, warnings and the summary; nil means
	// os.Stderr. Quiet turns console output off (files are still written).
	Console io.Writer
	Quiet   bool
	// Stdin answers the Ask prompt; nil means os.Stdin.
	Stdin io.Reader
	// Interactive overrides terminal detection (for the progress bar and
	// the Ask prompt); nil means: is Console (resp. Stdin) a terminal.
	Interactive *bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Logger writes one run's log directory. Its methods are safe for
// concurrent use.
type Logger struct {
	mu      sync.Mutex
	dir     string
	opts    Options
	resumed bool
	metrics *appendFile
	ckpts   *appendFile
	logs    *os.File
	console io.Writer
	tty     bool
	now     func() time.Time

	start     time.Time // Setup
	tFirst    time.Time // first LogMetrics of this process
	firstStep int
	haveFirst bool
	lastStep  int
	latest    map[string]float64
	barDrawn  bool
	closed    bool
	warnings  []string
}

// Setup prepares the log directory (see PrepareDir and Behavior), checks a
// resumed directory was made by a compatible run, writes config.json and
// opens the other files.
func Setup(opts Options) (*Logger, error) {
	dir := opts.LogPath
	if dir == "" {
		var err error
		if dir, err = DefaultLogPath(opts.Name); err != nil {
			return nil, err
		}
	}
	if opts.Console == nil {
		opts.Console = os.Stderr
	}
	if opts.Quiet {
		opts.Console = io.Discard
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Behavior == "" {
		opts.Behavior = Ask
	}
	if _, err := ParseBehavior(string(opts.Behavior)); err != nil {
		return nil, err
	}
	tty := isTerminal(opts.Console)
	askable := isTerminal(opts.Stdin) && tty
	if opts.Interactive != nil {
		tty, askable = *opts.Interactive, *opts.Interactive
	}
	// Encode the config first: a bad config must not touch the directory.
	var cfgJSON []byte
	var cfgMap map[string]any
	if opts.Config != nil {
		var err error
		cfgJSON, err = json.MarshalIndent(sanitize(opts.Config), "", "  ")
		if err != nil {
			return nil, fmt.Errorf("config is not JSON-encodable: %w", err)
		}
		cfgMap, _ = decodeObject(cfgJSON)
	}
	resumed, err := PrepareDir(dir, opts.Behavior, opts.Stdin, opts.Console, askable)
	if err != nil {
		return nil, err
	}
	if resumed && cfgMap != nil {
		if err := checkCompatible(dir, cfgMap, opts.MustMatch); err != nil {
			return nil, err
		}
	}
	l := &Logger{dir: dir, opts: opts, resumed: resumed, console: opts.Console, tty: tty, now: opts.Now, latest: map[string]float64{}}
	if cfgJSON != nil {
		if err := writeFileAtomic(filepath.Join(dir, ConfigFile), append(cfgJSON, '\n')); err != nil {
			return nil, fmt.Errorf("writing config.json: %w", err)
		}
	}
	var w1, w2 string
	if l.metrics, w1, err = openAppend(filepath.Join(dir, MetricsFile)); err != nil {
		return nil, err
	}
	if l.ckpts, w2, err = openAppend(filepath.Join(dir, CheckpointsFile)); err != nil {
		l.metrics.Close()
		return nil, err
	}
	if l.logs, err = os.OpenFile(filepath.Join(dir, LogsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		l.metrics.Close()
		l.ckpts.Close()
		return nil, err
	}
	l.start = l.now()
	if resumed {
		l.logLine(fmt.Sprintf("resuming in %s", dir))
	} else {
		l.logLine(fmt.Sprintf("logging to %s", dir))
	}
	for _, w := range []string{w1, w2} {
		if w != "" {
			l.warn(w)
		}
	}
	return l, nil
}

func checkCompatible(dir string, cfg map[string]any, keys []string) error {
	old, err := ReadConfig(dir)
	if err != nil || old == nil {
		return err
	}
	if keys == nil {
		keys = DefaultMustMatch
	}
	for _, k := range keys {
		a, inOld := old[k]
		b, inNew := cfg[k]
		if !inOld || !inNew {
			continue
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			return fmt.Errorf("cannot resume in %s: it was made by a run with %s=%s but this run has %s=%s; use another log_path or behavior_if_log_dir_exists=delete", dir, k, ja, k, jb)
		}
	}
	return nil
}

// Dir is the log directory.
func (l *Logger) Dir() string { return l.dir }

// Resumed reports whether Setup kept an existing run.
func (l *Logger) Resumed() bool { return l.resumed }

// Warnings returns the warnings seen so far (incomplete lines dropped …).
func (l *Logger) Warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warnings...)
}

// sanitize replaces NaN and ±Inf (which JSON cannot carry) with null.
func sanitize(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = sanitize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sanitize(e)
		}
		return out
	}
	return v
}

// LogMetrics appends {"step": step, ...metrics} to metrics.jsonl, syncs
// it, and updates the progress display. NaN and ±Inf are written as null.
func (l *Logger) LogMetrics(metrics map[string]any, step int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("ml_log: log_metrics after close")
	}
	rec := make(map[string]any, len(metrics)+1)
	for k, v := range metrics {
		if k == "step" {
			continue
		}
		rec[k] = sanitize(v)
		if f, ok := asFloat(v); ok {
			l.latest[k] = f
		} else if f, ok := v.(float32); ok {
			l.latest[k] = float64(f)
		}
	}
	if err := l.metrics.Append(stepFirst{step, rec}); err != nil {
		return fmt.Errorf("writing metrics: %w", err)
	}
	if !l.haveFirst {
		l.haveFirst, l.firstStep, l.tFirst = true, step, l.now()
	}
	l.lastStep = step
	l.progress(step)
	return nil
}

// LogCheckpoint appends a checkpoint record to checkpoints.jsonl and syncs
// it. Records are free-form objects; the cookbook's keys are name, batch
// (the next step to run), epoch, state_path and sampler_path.
func (l *Logger) LogCheckpoint(record map[string]any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("ml_log: log_checkpoint after close")
	}
	if err := l.ckpts.Append(sanitize(record)); err != nil {
		return fmt.Errorf("writing checkpoint record: %w", err)
	}
	name, _ := record["name"].(string)
	l.logLine(fmt.Sprintf("checkpoint %s saved", strings.TrimSpace(name+" "+fmt.Sprint(record["state_path"]))))
	return nil
}

// LastCheckpoint is LastCheckpoint(l.Dir(), requiredKey).
func (l *Logger) LastCheckpoint(requiredKey string) (map[string]any, bool, error) {
	rec, ok, warnings, err := LastCheckpoint(l.dir, requiredKey)
	for _, w := range warnings {
		l.warn(w)
	}
	return rec, ok, err
}

// Print writes a message to logs.log and the console (for captured
// print() output and log lines).
func (l *Logger) Print(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearBar()
	fmt.Fprintln(l.console, msg)
	l.logLine(msg)
	l.redraw()
}

// Record writes a message to logs.log only (when the console already has
// it, e.g. print() output the host printed itself).
func (l *Logger) Record(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logLine(msg)
}

// AroundConsole runs f (which writes to the console itself) with the
// progress bar cleared, then redraws it.
func (l *Logger) AroundConsole(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearBar()
	f()
	l.redraw()
}

func (l *Logger) warn(msg string) {
	l.warnings = append(l.warnings, msg)
	l.clearBar()
	fmt.Fprintln(l.console, "warning: "+msg)
	l.logLine("warning: " + msg)
	l.redraw()
}

func (l *Logger) logLine(msg string) {
	if l.logs == nil {
		return
	}
	ts := l.now().Format("2006-01-02 15:04:05")
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(l.logs, "%s %s\n", ts, line)
	}
}

// ---- progress ----

func (l *Logger) progressKeys() []string {
	if l.opts.ProgressKeys != nil {
		return l.opts.ProgressKeys
	}
	return []string{"train_mean_nll", "test/nll", "loss", "lr", "learning_rate"}
}

// ProgressLine renders the progress text for step (without bar).
func (l *Logger) progressText(step int) string {
	var b strings.Builder
	total := l.opts.TotalSteps
	if total > 0 {
		done := min(step+1, total)
		fmt.Fprintf(&b, "step %d/%d %3.0f%%", step, total, 100*float64(done)/float64(total))
		if eta, ok := l.eta(step); ok {
			fmt.Fprintf(&b, " eta %s", fmtDuration(eta))
		}
	} else {
		fmt.Fprintf(&b, "step %d", step)
	}
	fmt.Fprintf(&b, " elapsed %s", fmtDuration(l.now().Sub(l.start)))
	for _, k := range l.progressKeys() {
		if v, ok := l.latest[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, fmtValue(v))
		}
	}
	return b.String()
}

// eta extrapolates from the steps done since the first step logged by this
// process (a resumed run does not count the old steps).
func (l *Logger) eta(step int) (time.Duration, bool) {
	done := step - l.firstStep
	if !l.haveFirst || done <= 0 || l.opts.TotalSteps <= 0 {
		return 0, false
	}
	per := l.now().Sub(l.tFirst) / time.Duration(done)
	left := l.opts.TotalSteps - 1 - step
	if left < 0 {
		left = 0
	}
	return per * time.Duration(left), true
}

func (l *Logger) progress(step int) {
	if l.opts.Quiet {
		return
	}
	text := l.progressText(step)
	if !l.tty {
		fmt.Fprintln(l.console, text)
		return
	}
	bar := ""
	if total := l.opts.TotalSteps; total > 0 {
		const width = 24
		filled := min(width, width*(step+1)/total)
		bar = "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] "
	}
	line := bar + text
	if w := terminalWidth(l.console); w > 0 && len(line) >= w {
		line = line[:w-1] // a wrapped line would break the \r redraw
	}
	fmt.Fprintf(l.console, "\r\x1b[K%s", line)
	l.barDrawn = true
}

func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// stepFirst encodes {"step": N, ...metrics} with "step" first (the other
// keys sorted), like the cookbook's lines.
type stepFirst struct {
	step int
	m    map[string]any
}

func (s stepFirst) MarshalJSON() ([]byte, error) {
	rest, err := json.Marshal(s.m)
	if err != nil {
		return nil, err
	}
	out := []byte(fmt.Sprintf(`{"step":%d`, s.step))
	if len(rest) > 2 {
		out = append(out, ',')
	}
	return append(out, rest[1:]...), nil
}

func (l *Logger) clearBar() {
	if l.tty && l.barDrawn {
		fmt.Fprint(l.console, "\r\x1b[K")
	}
}

func (l *Logger) redraw() {
	if l.tty && l.barDrawn {
		l.barDrawn = false
		l.progress(l.lastStep)
	}
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func fmtValue(v float64) string {
	if v != 0 && (math.Abs(v) < 1e-3 || math.Abs(v) >= 1e5) {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// ---- close ----

// Close ends the run: prints the summary table, draws loss.png (unless
// NoPlot or nothing to draw) and closes the files. It is idempotent.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.tty && l.barDrawn {
		fmt.Fprintln(l.console)
		l.barDrawn = false
	}
	var errs []error
	steps, _, err := ReadMetrics(l.dir)
	if err != nil {
		errs = append(errs, err)
	}
	if len(steps) > 0 {
		table := SummaryTable(steps, l.now().Sub(l.start))
		if !l.opts.Quiet {
			fmt.Fprint(l.console, table)
		}
		l.logLine("summary:\n" + table)
		if !l.opts.NoPlot {
			out := filepath.Join(l.dir, PlotFile)
			if err := plotSteps(steps, l.opts.PlotMetrics, filepath.Base(l.dir), out); err != nil {
				if !errors.Is(err, errNothingToPlot) {
					errs = append(errs, err)
				}
			} else if !l.opts.Quiet {
				fmt.Fprintf(l.console, "loss curve: %s\n", out)
			}
		}
	}
	l.logLine("closed")
	for _, c := range []io.Closer{l.metrics, l.ckpts, l.logs} {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	l.logs = nil
	return errors.Join(errs...)
}

// SummaryTable renders, for every metric, its first, last, min and max
// value and how many steps logged it, plus the step range and time.
func SummaryTable(steps []Step, elapsed time.Duration) string {
	type agg struct {
		first, last, lo, hi float64
		n                   int
	}
	aggs := map[string]*agg{}
	for _, s := range steps {
		for k, v := range s.Metrics {
			a := aggs[k]
			if a == nil {
				a = &agg{first: v, lo: v, hi: v}
				aggs[k] = a
			}
			a.last = v
			a.lo = math.Min(a.lo, v)
			a.hi = math.Max(a.hi, v)
			a.n++
		}
	}
	keys := make([]string, 0, len(aggs))
	for k := range aggs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := [][]string{{"metric", "first", "last", "min", "max", "steps"}}
	for _, k := range keys {
		a := aggs[k]
		rows = append(rows, []string{k, fmtValue(a.first), fmtValue(a.last), fmtValue(a.lo), fmtValue(a.hi), fmt.Sprint(a.n)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "run summary: steps %d..%d", steps[0].Step, steps[len(steps)-1].Step)
	if elapsed > 0 {
		fmt.Fprintf(&b, ", %s this session", fmtDuration(elapsed))
	}
	b.WriteString("\n")
	b.WriteString(renderTable(rows))
	return b.String()
}

func renderTable(rows [][]string) string {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	sep := func() {
		b.WriteString("+")
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2) + "+")
		}
		b.WriteString("\n")
	}
	sep()
	for ri, r := range rows {
		b.WriteString("|")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(" " + c + pad + " |")
			} else {
				b.WriteString(" " + pad + c + " |")
			}
		}
		b.WriteString("\n")
		if ri == 0 {
			sep()
		}
	}
	sep()
	return b.String()
}
