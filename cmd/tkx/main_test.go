package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelloRecipe(t *testing.T) {
	code, _, stderr := run(t, "run", "../../recipes/hello.star", "steps=3", "name=x")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"hello.star:", "hello, x: 3 steps", "step 2: sum of squares below 30 = 8555", "discounted returns: [0.25, 0.5, 1.0]"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "step 3") {
		t.Errorf("steps=3 not honoured:\n%s", stderr)
	}
}

func TestRunBadOverrides(t *testing.T) {
	code, _, stderr := run(t, "run", "../../recipes/hello.star", "stpes=3")
	if code != exitUsage || !strings.Contains(stderr, `hello.star:`) || !strings.Contains(stderr, `did you mean "steps"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = run(t, "run", "../../recipes/hello.star", "steps=three")
	if code != exitUsage || !strings.Contains(stderr, `want int`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, _ = run(t, "run", "../../recipes/hello.star", "positional")
	if code != exitUsage {
		t.Fatalf("exit %d for a non key=value argument", code)
	}
}

func TestRunHelpListsFields(t *testing.T) {
	code, stdout, stderr := run(t, "run", "../../recipes/hello.star", "--help")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"steps", "int", "5", "how many greeting steps", "name", "string", `"world"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSyntaxErrorRunAndCheck(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.star")
	os.WriteFile(f, []byte("x = 1\ny = 2\nz = = 3\n"), 0o644)
	for _, sub := range []string{"run", "check"} {
		code, _, stderr := run(t, sub, f)
		if code != exitFailure || !strings.Contains(stderr, "bad.star:3:5") {
			t.Errorf("%s: exit %d: %s", sub, code, stderr)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%s printed a Go stack:\n%s", sub, stderr)
		}
	}
}

func TestCheckDoesNotRun(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ok.star")
	os.WriteFile(f, []byte("fail('ran')\n"), 0o644)
	if code, _, stderr := run(t, "check", f); code != exitOK {
		t.Fatalf("check ran the script: %d %s", code, stderr)
	}
}

func TestRecipeFailureExitsOne(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f.star")
	os.WriteFile(f, []byte("def main(cfg):\n    fail('nope')\n"), 0o644)
	code, _, stderr := run(t, "run", f)
	if code != exitFailure || !strings.Contains(stderr, "f.star:2:9: in main") || !strings.Contains(stderr, "nope") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestDoc(t *testing.T) {
	code, stdout, _ := run(t, "doc", "np")
	if code != exitOK {
		t.Fatal(code)
	}
	// Every np function appears with its signature.
	for _, want := range []string{"np.mean(x) -> float", "np.discounted_future_sum(rewards, gamma) -> list", "np.shuffle(items, seed=0) -> list", "np.argsort(x, reverse=False)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tkx doc np lacks %q", want)
		}
	}
	if code, _, stderr := run(t, "doc", "nq"); code != exitUsage || !strings.Contains(stderr, `did you mean "np"`) {
		t.Fatalf("doc nq: %d %s", code, stderr)
	}
	if code, stdout, _ := run(t, "doc", "core.parallel_map"); code != exitOK || !strings.Contains(stdout, "parallel_map(fn, items, workers=0)") {
		t.Fatalf("doc core.parallel_map: %d %s", code, stdout)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := run(t, "rn")
	if code != exitUsage || !strings.Contains(stderr, `did you mean "run"`) {
		t.Fatalf("%d %s", code, stderr)
	}
	if code, stdout, _ := run(t, "version"); code != exitOK || !strings.HasPrefix(stdout, "tkx ") {
		t.Fatalf("version: %d %q", code, stdout)
	}
}
