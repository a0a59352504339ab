package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for s := 0; s < 20; s++ {
		l := `{"step":` + itoa(s) + `,"train_mean_nll":` + itoa(40-s) + `,"lr":0.0001`
		if s%5 == 0 {
			l += `,"test/nll":` + itoa(45-s)
		}
		lines = append(lines, l+"}")
	}
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(strings.Join(lines, "\n")+"\n{\"step\":20,\"train_mea"), 0o644)

	code, stdout, stderr := run(t, "plot", dir)
	if code != exitOK || strings.TrimSpace(stdout) != filepath.Join(dir, "loss.png") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	f, err := os.Open(filepath.Join(dir, "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(t.TempDir(), "lr.png")
	if code, _, stderr := run(t, "plot", "--metric", "lr,train_mean_nll", dir, "-o", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "plot", dir, "--metric=reward"); code != exitFailure || !strings.Contains(stderr, `no metric "reward" in the log (it has: lr, test/nll, train_mean_nll)`) {
		t.Errorf("unknown metric: %d %s", code, stderr)
	}
	// Two runs in one PNG.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "metrics.jsonl"), []byte("{\"step\":0,\"train_mean_nll\":3}\n{\"step\":1,\"train_mean_nll\":2}\n"), 0o644)
	cmp := filepath.Join(t.TempDir(), "cmp.png")
	if code, stdout, stderr := run(t, "plot", dir, other, "-o", cmp); code != exitOK || strings.TrimSpace(stdout) != cmp {
		t.Fatalf("compare: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plot", dir, other); code != exitUsage || !strings.Contains(stderr, "need -o") {
		t.Errorf("compare without -o: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plot", dir, other, "-o", cmp, "--metric", "test/nll"); code != exitFailure || !strings.Contains(stderr, filepath.Base(other)+`: no metric "test/nll"`) {
		t.Errorf("compare missing metric: %d %s", code, stderr)
	}
	if code, _, _ := run(t, "plot"); code != exitUsage {
		t.Error("no LOG_DIR accepted")
	}
	if code, _, stderr := run(t, "plot", dir, "--bogus"); code != exitUsage || !strings.Contains(stderr, "unknown option --bogus") {
		t.Errorf("bad option: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plot", filepath.Join(dir, "nope")); code != exitFailure || !strings.Contains(stderr, "nope") {
		t.Errorf("missing dir: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plot", t.TempDir()); code != exitFailure || !strings.Contains(stderr, "no metrics") {
		t.Errorf("empty dir: %d %s", code, stderr)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
