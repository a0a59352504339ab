package mllog

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func boolp(b bool) *bool { return &b }

// clock is a manual clock: it moves only when tick is called.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }
func (c *clock) tick()          { c.t = c.t.Add(2 * time.Second) }

var testClock = &clock{t: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}

func fakeClock() func() time.Time { return testClock.now }

func setup(t *testing.T, dir string, b Behavior, cfg any, console *bytes.Buffer) *Logger {
	t.Helper()
	l, err := Setup(Options{LogPath: dir, Behavior: b, Config: cfg, Console: console, Interactive: boolp(false), TotalSteps: 10, Now: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogDirFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var console bytes.Buffer
	l := setup(t, dir, Raise, map[string]any{"recipe": "sl_basic", "lr": 1e-4}, &console)
	for step := 0; step < 10; step++ {
		m := map[string]any{"train_mean_nll": 3.0 - 0.2*float64(step), "lr": 1e-4, "progress": float64(step) / 10}
		if step%5 == 4 {
			m["test/nll"] = 3.1 - 0.2*float64(step)
		}
		testClock.tick()
		if err := l.LogMetrics(m, step); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.LogMetrics(map[string]any{"bad": math.NaN()}, 9); err != nil {
		t.Fatal(err)
	}
	if err := l.LogCheckpoint(map[string]any{"name": "000005", "batch": 5, "state_path": "tinker://r/weights/000005"}); err != nil {
		t.Fatal(err)
	}
	l.Print("hello from print")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.LogMetrics(map[string]any{}, 1) == nil {
		t.Error("log after close accepted")
	}
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointsFile, LogsFile, PlotFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 11 || !strings.HasPrefix(lines[0], `{"step":0,"lr":0.0001,`) || !strings.Contains(lines[0], `"train_mean_nll":3`) {
		t.Fatalf("metrics.jsonl:\n%s", raw)
	}
	if !strings.Contains(lines[10], `"bad":null`) {
		t.Errorf("NaN not written as null: %s", lines[10])
	}
	steps, _, err := ReadMetrics(dir)
	if err != nil || len(steps) != 10 || steps[9].Metrics["test/nll"] != 3.1-1.8 {
		t.Fatalf("ReadMetrics: %v %+v", err, steps)
	}
	cfg, err := ReadConfig(dir)
	if err != nil || cfg["recipe"] != "sl_basic" {
		t.Errorf("config %v %v", cfg, err)
	}
	logs, _ := os.ReadFile(filepath.Join(dir, LogsFile))
	for _, want := range []string{"hello from print", "checkpoint 000005", "run summary", "| train_mean_nll |"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("logs.log lacks %q:\n%s", want, logs)
		}
	}
	out := console.String()
	for _, want := range []string{"step 0/10  10%", "step 3/10  40% eta 0:12 elapsed 0:08", "train_mean_nll=2.4000", "test/nll=2.3000", "hello from print", "| metric", "| train_mean_nll | 3.0000 | 1.2000 | 1.2000 | 3.0000 |    10 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Error("carriage returns on a non-terminal console")
	}
	f, err := os.Open(filepath.Join(dir, PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 500 {
		t.Fatalf("loss.png: %v", err)
	}
}

func TestTerminalProgressBar(t *testing.T) {
	var console bytes.Buffer
	l, err := Setup(Options{LogPath: t.TempDir(), Behavior: Resume, Console: &console, Interactive: boolp(true), TotalSteps: 4, Now: fakeClock(), NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	testClock.tick()
	l.LogMetrics(map[string]any{"train_mean_nll": 2.0}, 0)
	testClock.tick()
	l.LogMetrics(map[string]any{"train_mean_nll": 1.5}, 1)
	l.Print("between")
	l.Close()
	out := console.String()
	if !strings.Contains(out, "\r\x1b[K[############............] step 1/4  50% eta 0:04") || !strings.Contains(out, "\r\x1b[Kbetween\n") {
		t.Errorf("bar output %q", out)
	}
}

func writeCheckpoints(t *testing.T, dir string, n int) {
	t.Helper()
	l := setup(t, dir, Resume, nil, &bytes.Buffer{})
	for i := 0; i < n; i++ {
		if err := l.LogCheckpoint(map[string]any{"name": fmt.Sprintf("%06d", i), "batch": i, "state_path": fmt.Sprintf("tinker://r/weights/%06d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
}

func TestTruncatedCheckpoints(t *testing.T) {
	dir := t.TempDir()
	writeCheckpoints(t, dir, 3)
	path := filepath.Join(dir, CheckpointsFile)
	// What SIGKILL in the middle of a write leaves: half a record.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"name":"000003","batch":3,"state_pa`)
	f.Close()
	rec, ok, warnings, err := LastCheckpoint(dir, "state_path")
	if err != nil || !ok || rec["name"] != "000002" || rec["batch"] != int64(2) {
		t.Fatalf("last checkpoint %v %v %v", rec, ok, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "incomplete last line") {
		t.Errorf("warnings %v", warnings)
	}
	// Resuming cuts the partial line off and appends after the good ones.
	var console bytes.Buffer
	l := setup(t, dir, Resume, nil, &console)
	if !l.Resumed() || !strings.Contains(console.String(), "dropped an incomplete last line") {
		t.Errorf("resume: %v %q", l.Resumed(), console.String())
	}
	l.LogCheckpoint(map[string]any{"name": "000004", "batch": 4})
	rec, ok, err = l.LastCheckpoint("state_path")
	if err != nil || !ok || rec["name"] != "000002" {
		t.Errorf("required key: %v", rec)
	}
	rec, _, _ = l.LastCheckpoint("")
	if rec["name"] != "000004" {
		t.Errorf("any key: %v", rec)
	}
	l.Close()
	recs, warnings, _ := ReadCheckpoints(dir)
	if len(recs) != 4 || len(warnings) != 0 {
		t.Errorf("after resume: %d records, warnings %v", len(recs), warnings)
	}
	// A corrupt line in the middle is skipped with its line number.
	os.WriteFile(path, []byte("{\"name\":\"a\",\"state_path\":\"x\"}\ngarbage\n{\"name\":\"b\"}\n"), 0o644)
	rec, ok, warnings, _ = LastCheckpoint(dir, "state_path")
	if !ok || rec["name"] != "a" || len(warnings) != 1 || !strings.Contains(warnings[0], CheckpointsFile+":2:") {
		t.Errorf("corrupt middle: %v %v", rec, warnings)
	}
	if _, ok, _, _ := LastCheckpoint(t.TempDir(), "state_path"); ok {
		t.Error("checkpoint in an empty dir")
	}
}

// TestSIGKILLWriter kills a process that is appending metrics and
// checkpoints as fast as it can, then checks every complete line decodes
// and a resumed logger continues cleanly.
func TestSIGKILLWriter(t *testing.T) {
	if os.Getenv("MLLOG_KILL_CHILD") != "" {
		l, err := Setup(Options{LogPath: os.Getenv("MLLOG_KILL_CHILD"), Behavior: Resume, Quiet: true, NoPlot: true})
		if err != nil {
			os.Exit(3)
		}
		for i := 0; ; i++ {
			l.LogMetrics(map[string]any{"train_mean_nll": 1.0 / float64(i+1), "pad": strings.Repeat("x", i%5000)}, i)
			l.LogCheckpoint(map[string]any{"name": fmt.Sprint(i), "batch": i, "state_path": strings.Repeat("p", i%7000)})
		}
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLWriter$")
		cmd.Env = append(os.Environ(), "MLLOG_KILL_CHILD="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until it has written something, then kill it mid-stream.
		for i := 0; i < 500; i++ {
			if st, err := os.Stat(filepath.Join(dir, CheckpointsFile)); err == nil && st.Size() > int64(20000*(round+1)) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		recs, warnings, err := ReadCheckpoints(dir)
		if err != nil || len(recs) == 0 {
			t.Fatalf("round %d: %v, %d records", round, err, len(recs))
		}
		for _, w := range warnings {
			if !strings.Contains(w, "incomplete last line") {
				t.Fatalf("round %d: corrupt line: %s", round, w)
			}
		}
		if _, w, err := ReadMetrics(dir); err != nil || len(w) > 1 {
			t.Fatalf("metrics: %v %v", err, w)
		}
	}
	l := setup(t, dir, Resume, nil, &bytes.Buffer{})
	l.LogCheckpoint(map[string]any{"name": "final", "state_path": "s"})
	l.Close()
	rec, ok, warnings, _ := LastCheckpoint(dir, "state_path")
	if !ok || rec["name"] != "final" || len(warnings) != 0 {
		t.Errorf("after kills: %v %v", rec, warnings)
	}
}

func TestBehaviors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	l := setup(t, dir, Raise, map[string]any{"recipe": "sl_basic", "renderer_name": "role_colon"}, &bytes.Buffer{})
	l.LogMetrics(map[string]any{"x": 1}, 0)
	l.Close()
	if _, err := Setup(Options{LogPath: dir, Behavior: Raise, Quiet: true}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("raise: %v", err)
	}
	if _, err := Setup(Options{LogPath: dir, Behavior: Ask, Quiet: true, Interactive: boolp(false)}); err == nil || !strings.Contains(err.Error(), "no terminal to ask") {
		t.Errorf("ask without terminal: %v", err)
	}
	_, err := Setup(Options{LogPath: dir, Behavior: Resume, Quiet: true, Config: map[string]any{"recipe": "sl_basic", "renderer_name": "qwen3"}})
	if err == nil || !strings.Contains(err.Error(), `renderer_name="role_colon" but this run has renderer_name="qwen3"`) {
		t.Errorf("incompatible resume: %v", err)
	}
	_, err = Setup(Options{LogPath: dir, Behavior: Resume, Quiet: true, Config: map[string]any{"recipe": "rl_basic"}})
	if err == nil || !strings.Contains(err.Error(), "recipe=") {
		t.Errorf("other recipe: %v", err)
	}
	var out bytes.Buffer
	l, err = Setup(Options{LogPath: dir, Behavior: Ask, Stdin: strings.NewReader("what\nresume\n"), Console: &out, Interactive: boolp(true), NoPlot: true, Config: map[string]any{"recipe": "sl_basic", "lr": 2}})
	if err != nil || !l.Resumed() || !strings.Contains(out.String(), "[delete, resume, exit]") || !strings.Contains(out.String(), "Please answer") {
		t.Fatalf("ask resume: %v %q", err, out.String())
	}
	l.Close()
	if _, err := Setup(Options{LogPath: dir, Behavior: Ask, Stdin: strings.NewReader("exit\n"), Quiet: true, Interactive: boolp(true)}); !errors.Is(err, ErrExit) {
		t.Errorf("ask exit: %v", err)
	}
	l, err = Setup(Options{LogPath: dir, Behavior: Delete, Quiet: true})
	if err != nil || l.Resumed() {
		t.Fatal(err)
	}
	l.Close()
	if steps, _, _ := ReadMetrics(dir); len(steps) != 0 {
		t.Error("delete kept old metrics")
	}
	// Delete refuses folders that are not log directories.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "thesis.tex"), []byte("x"), 0o644)
	if _, err := Setup(Options{LogPath: other, Behavior: Delete, Quiet: true}); err == nil || !strings.Contains(err.Error(), "refusing to delete") {
		t.Errorf("delete unrelated: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "thesis.tex")); err != nil {
		t.Error("unrelated file deleted")
	}
	// Unwritable: a log path under a regular file.
	if _, err := Setup(Options{LogPath: filepath.Join(other, "thesis.tex", "run"), Behavior: Raise, Quiet: true}); err == nil || !strings.Contains(err.Error(), "thesis.tex") {
		t.Errorf("unwritable: %v", err)
	}
	if _, err := ParseBehavior("overwrite"); err == nil {
		t.Error("bad behavior accepted")
	}
	if _, err := Setup(Options{LogPath: t.TempDir(), Behavior: Raise, Quiet: true, Config: map[string]any{"f": func() {}}}); err == nil {
		t.Error("unencodable config accepted")
	}
}

func TestDefaultLogPath(t *testing.T) {
	t.Setenv("TKX_HOME", "/x/tkx")
	p, err := DefaultLogPath("sl_basic-1")
	if err != nil || p != "/x/tkx/runs/sl_basic-1" {
		t.Errorf("%q %v", p, err)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	l := setup(t, dir, Resume, nil, &bytes.Buffer{})
	l.LogMetrics(map[string]any{"reward": 1.0}, 0)
	l.LogMetrics(map[string]any{"reward": 2.0}, 1)
	l.Close() // no loss metric: Close draws nothing and does not fail
	if _, err := os.Stat(filepath.Join(dir, PlotFile)); err == nil {
		t.Error("plot drawn without a loss metric")
	}
	out := filepath.Join(dir, "r.png")
	if err := Plot(dir, nil, out); err == nil || !strings.Contains(err.Error(), "the log has: reward") {
		t.Errorf("default metrics: %v", err)
	}
	if err := Plot(dir, []string{"test/nll"}, out); err == nil || !strings.Contains(err.Error(), `no metric "test/nll"`) {
		t.Errorf("missing metric: %v", err)
	}
	if err := Plot(dir, []string{"reward"}, out); err != nil {
		t.Fatal(err)
	}
	if err := Plot(t.TempDir(), nil, out); err == nil || !strings.Contains(err.Error(), "no metrics") {
		t.Errorf("empty: %v", err)
	}
}
