package repl_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/builtins/starnp"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/repl"
)

func newSession(t *testing.T) (*repl.Session, *strings.Builder) {
	var out strings.Builder
	in := host.New(host.Options{Modules: []*host.Module{starnp.Module}, Stderr: &out})
	s := repl.New(context.Background(), in, &out)
	t.Cleanup(s.Close)
	return s, &out
}

// feed drives ReadEvalPrint with lines, as the line editor would.
func feed(t *testing.T, s *repl.Session, lines ...string) {
	t.Helper()
	i := 0
	readline := func(prompt string) (string, error) {
		if i >= len(lines) {
			return "", io.EOF
		}
		i++
		return lines[i-1], nil
	}
	for {
		if err := s.ReadEvalPrint(readline); err != nil {
			if err == io.EOF {
				return
			}
			t.Fatal(err)
		}
	}
}

func TestMultiLineAndExpressions(t *testing.T) {
	s, out := newSession(t)
	feed(t, s, "x = np.mean([1, 2, 3])", "x", "def f(a):", "    return a * 2", "", "f(21)", "_ + 1")
	if got := out.String(); got != "2.0\n42\n43\n" {
		t.Fatalf("output %q", got)
	}
}

func TestErrorsDoNotEndSession(t *testing.T) {
	s, out := newSession(t)
	feed(t, s, "1 +", "", "undefined_name", "np.mean([])", "y = 2", "y")
	got := out.String()
	for _, want := range []string{"undefined: undefined_name", "np.mean: empty list", "\n2\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestHelp(t *testing.T) {
	s, out := newSession(t)
	feed(t, s, "help(np.std)", "help(np)", "help()", "def g():", "    \"\"\"Docstring of g.\"\"\"", "    pass", "", "help(g)", "help(parallel_map)")
	got := out.String()
	for _, want := range []string{"np.std(x, ddof=0) -> float", "module np", "Builtin modules: core, np", "Docstring of g.", "parallel_map(fn, items, workers=0)"} {
		if !strings.Contains(got, want) {
			t.Errorf("help output lacks %q:\n%s", want, got)
		}
	}
}

func TestComplete(t *testing.T) {
	s, _ := newSession(t)
	feed(t, s, "my_value = struct(alpha = 1, beta = 2)")
	for _, tc := range []struct {
		line, head string
		want       []string
	}{
		{"np.me", "", []string{"np.mean"}},
		{"x = np.arg", "x = ", []string{"np.argmax", "np.argmin", "np.argsort"}},
		{"my_v", "", []string{"my_value"}},
		{"print(my_value.al", "print(", []string{"my_value.alpha"}},
		{"parallel_", "", []string{"parallel_map"}},
		{"nosuch.x", "", nil},
	} {
		head, got := s.Complete(tc.line)
		if head != tc.head || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Complete(%q) = %q, %v; want %q, %v", tc.line, head, got, tc.head, tc.want)
		}
	}
}

func TestLoadScriptBindsConfig(t *testing.T) {
	s, out := newSession(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "r.star")
	os.WriteFile(f, []byte("CONFIG = config(n = field(2, 'n'))\ndef main(cfg):\n    return cfg.n * 10\n"), 0o644)
	if err := s.LoadScript(context.Background(), f, []string{"n=4"}); err != nil {
		t.Fatal(err)
	}
	feed(t, s, "main(cfg)")
	if out.String() != "40\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestExit(t *testing.T) {
	s, _ := newSession(t)
	feed(t, s, "exit()")
	if !s.Exited() {
		t.Fatal("exit() did not end the session")
	}
}

func TestInterruptCancelsOneEvaluation(t *testing.T) {
	s, out := newSession(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		feed(t, s, "def spin():", "    while True:", "        pass", "", "spin()")
	}()
	// Interrupt until the evaluation has stopped (it may not have started yet).
	for stopped := false; !stopped; {
		s.Interrupt()
		select {
		case <-done:
			stopped = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("output %q", out.String())
	}
	// The session still works.
	out.Reset()
	feed(t, s, "1 + 1")
	if out.String() != "2\n" {
		t.Fatalf("after interrupt: %q", out.String())
	}
}
