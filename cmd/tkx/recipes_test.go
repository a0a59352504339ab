package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every shipped recipe and stdlib file parses and resolves.
func TestRecipesCheck(t *testing.T) {
	files, err := filepath.Glob("../../recipes/*.star")
	if err != nil {
		t.Fatal(err)
	}
	std, _ := filepath.Glob("../../stdlib/*.star")
	files = append(files, std...)
	if len(files) < 5 || len(std) == 0 {
		t.Fatalf("found only %v", files)
	}
	if code, _, stderr := run(t, append([]string{"check"}, files...)...); code != exitOK {
		t.Fatalf("tkx check: exit %d\n%s", code, stderr)
	}
}

// recipes/sl_loop.star trains the tiny local model: one line per step, and
// the loss goes down.
func TestSLLoopRecipe(t *testing.T) {
	out, err := tkxCommand(t, t.TempDir(), "run", "../../recipes/sl_loop.star", "model_name=tkx/local-tiny",
		"batch_size=2", "max_steps=3", "max_length=64", "lora_rank=4").CombinedOutput()
	if err != nil {
		t.Fatalf("sl_loop: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`step (\d+)  lr \S+  train_mean_nll (\S+)`).FindAllStringSubmatch(string(out), -1)
	if len(m) != 3 {
		t.Fatalf("want 3 step lines, got %d:\n%s", len(m), out)
	}
	var nll []float64
	for i, s := range m {
		v, err := strconv.ParseFloat(s[2], 64)
		if s[1] != strconv.Itoa(i) || err != nil || v < 3 || v > 8 {
			t.Fatalf("step line %q: want step %d and an untrained NLL near ln(288)\n%s", s[0], i, out)
		}
		nll = append(nll, v)
	}
	if nll[2] >= nll[0] {
		t.Errorf("train_mean_nll did not go down: %v\n%s", nll, out)
	}
}

// recipes/chat_sl.star on a JSONL file: test NLL at the eval steps and at
// the end, a resumable checkpoint, and the final sampler checkpoint.
func TestChatSLRecipe(t *testing.T) {
	home := t.TempDir()
	logDir := filepath.Join(home, "run")
	out, err := tkxCommand(t, home, "run", "../../recipes/chat_sl.star", "dataset=../../testdata/sl/train.jsonl",
		"model_name=tkx/local-tiny", "batch_size=4", "max_steps=3", "max_length=64", "lora_rank=4", "test_size=8",
		"eval_every=2", "save_every=2", "log_path="+logDir, "behavior_if_log_dir_exists=raise").CombinedOutput()
	if err != nil {
		t.Fatalf("chat_sl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "done: tinker://") {
		t.Errorf("no final checkpoint path in the output:\n%s", out)
	}
	metrics := readMetrics(t, logDir)
	for step := 0; step < 3; step++ {
		if nll := metrics[step]["train_mean_nll"]; nll < 3 || nll > 8 {
			t.Errorf("step %d: train_mean_nll %v, want an untrained NLL near ln(288)", step, nll)
		}
	}
	for _, step := range []int{0, 2, 3} {
		if _, ok := metrics[step]["test/nll"]; !ok {
			t.Errorf("step %d: no test/nll (eval_every=2 and at the end): %v", step, metrics[step])
		}
	}
	if _, ok := metrics[1]["test/nll"]; ok {
		t.Errorf("step 1 has test/nll with eval_every=2: %v", metrics[1])
	}
	ck, err := os.ReadFile(filepath.Join(logDir, "checkpoints.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"000002"`, `"name":"final"`, `"sampler_path":"tinker://`} {
		if !strings.Contains(string(ck), want) {
			t.Errorf("checkpoints.jsonl lacks %s:\n%s", want, ck)
		}
	}
}
