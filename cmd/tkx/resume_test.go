package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets tests run this test binary as the tkx command itself
// (TKX_TEST_MAIN=1), so a real process can be killed with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("TKX_TEST_MAIN") == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func tkxCommand(t *testing.T, home string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "TKX_TEST_MAIN=1", "TKX_HOME="+home, "TINKER_API_KEY=", "TINKER_BASE_URL=")
	return cmd
}

func readMetrics(t *testing.T, dir string) map[int]map[string]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // a torn last line of a killed run
		}
		step := int(m["step"])
		if out[step] == nil {
			out[step] = map[string]float64{}
		}
		for k, v := range m {
			out[step][k] = v
		}
	}
	return out
}

// A run killed with SIGKILL after a checkpoint and started again with
// behavior_if_log_dir_exists=resume continues from that checkpoint and ends
// with exactly the numbers of an uninterrupted run.
func TestKilledRunResumesBitwise(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three training processes")
	}
	home := t.TempDir()
	args := func(logDir, behavior string) []string {
		return []string{"run", "../../recipes/sl_basic.star", "model_name=tkx/local-tiny", "batch_size=4", "max_steps=12",
			"save_every=3", "eval_every=0", "max_length=128", "lora_rank=4", "num_epochs=1", "log_path=" + logDir, "behavior_if_log_dir_exists=" + behavior}
	}
	full := filepath.Join(home, "full")
	if out, err := tkxCommand(t, home, args(full, "raise")...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	killed := filepath.Join(home, "killed")
	cmd := tkxCommand(t, home, args(killed, "raise")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it as soon as a checkpoint is recorded.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(killed, "checkpoints.jsonl"))
		if strings.Contains(string(b), `"state_path"`) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	before := readMetrics(t, killed)
	if _, done := before[12]; done {
		t.Skip("the run finished before it could be killed")
	}

	out, err := tkxCommand(t, home, args(killed, "resume")...).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resuming from") {
		t.Fatalf("the second run did not resume:\n%s", out)
	}
	want, got := readMetrics(t, full), readMetrics(t, killed)
	for step := 0; step < 12; step++ {
		w, g := want[step]["train_mean_nll"], got[step]["train_mean_nll"]
		if g == 0 {
			t.Fatalf("step %d missing after resume", step)
		}
		if w != g {
			t.Errorf("step %d: train_mean_nll %v after resume, %v uninterrupted", step, g, w)
		}
	}
	// The final test NLL is computed on the final weights.
	if w, g := want[12]["test/nll"], got[12]["test/nll"]; w == 0 || w != g {
		t.Errorf("final test/nll %v after resume, %v uninterrupted", g, w)
	}
	var ckpt struct {
		StatePath string `json:"state_path"`
	}
	b, _ := os.ReadFile(filepath.Join(killed, "checkpoints.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ckpt); err != nil || !strings.HasSuffix(ckpt.StatePath, "/final") {
		t.Fatalf("last checkpoint record %q (%v)", lines[len(lines)-1], err)
	}
}
