package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/tkx-dev/tkx/host"
)

// memInterp returns an interpreter over an in-memory file system.
func memInterp(files map[string]string, opts host.Options) *host.Interpreter {
	opts.ReadFile = func(name string) ([]byte, error) {
		if s, ok := files[filepath.ToSlash(name)]; ok {
			return []byte(s), nil
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	if opts.Print == nil {
		opts.Print = func(syntax.Position, string) {}
	}
	return host.New(opts)
}

func TestOverrides(t *testing.T) {
	in := memInterp(map[string]string{"r.star": `
CONFIG = config(
    steps = field(10, "steps"),
    lr = field(1e-4, "lr"),
    name = field("a", "name"),
    on = field(False, "flag"),
    sizes = field([1, 2], "sizes"),
    opt = config(beta = field(0.9, "beta")),
    anything = None,
)
`}, host.Options{})
	ctx := context.Background()
	r, err := in.LoadRecipe(ctx, "r.star", nil, []string{"steps=3", "lr=2", "name=x=y", "on=true", "sizes=4,5,6", "opt.beta=0.5", "anything=[1]"})
	if err != nil {
		t.Fatal(host.FormatError(err))
	}
	got := r.Config.String()
	want := `config(steps=3, lr=2.0, name="x=y", on=True, sizes=[4, 5, 6], opt=config(beta=0.5), anything=[1])`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	// The script's own CONFIG is untouched: overrides go to a clone.
	if v := r.Globals["CONFIG"].(*host.Config).Value("steps"); v.String() != "10" {
		t.Fatalf("CONFIG mutated: %s", v)
	}
	if err := r.Config.Apply("steps=4"); err == nil {
		t.Fatal("resolved config must be frozen... Apply succeeded")
	}

	for _, tc := range []struct{ override, want string }{
		{"stpes=3", `r.star:2:16: unknown config key "stpes" (did you mean "steps"?)`},
		{"steps=3.5", `config key steps=3.5: want int, got "3.5"`},
		{"on=maybe", `want bool`},
		{"sizes=1,x", `element 1: want int, got "x"`},
		{"opt.bta=1", `unknown config key "opt.bta" (did you mean "opt.beta"?)`},
		{"opt=1", `is a nested config`},
		{"steps.x=1", `not a nested config`},
		{"noequals", `want key=value`},
	} {
		_, err := in.LoadRecipe(ctx, "r.star", nil, []string{tc.override})
		var oe *host.OverrideError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want OverrideError containing %q", tc.override, err, tc.want)
		}
	}
}

func TestConfigApplyOnFrozenFails(t *testing.T) {
	// Frozen configs reject changes through Apply only via the host: check
	// that a frozen value inside cannot be mutated from Starlark.
	in := memInterp(map[string]string{"r.star": `
CONFIG = config(tags = ["a"])
def main(cfg):
    cfg.tags.append("b")
`}, host.Options{})
	r, err := in.LoadRecipe(context.Background(), "r.star", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.RunMain(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("got %v, want a frozen-list error", err)
	}
}

func TestNoConfigStillRuns(t *testing.T) {
	var printed []string
	in := memInterp(map[string]string{"r.star": "def main(cfg):\n    print(len(cfg))\n"}, host.Options{
		Print: func(pos syntax.Position, msg string) {
			printed = append(printed, fmt.Sprintf("%s:%d %s", pos.Filename(), pos.Line, msg))
		},
	})
	r, err := in.LoadRecipe(context.Background(), "r.star", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.RunMain(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(printed) != 1 || printed[0] != "r.star:2 0" {
		t.Fatalf("print went to %v", printed)
	}
	if _, err := in.LoadRecipe(context.Background(), "r.star", nil, []string{"x=1"}); err == nil || !strings.Contains(err.Error(), "declares no config") {
		t.Fatalf("override of a config-less recipe: %v", err)
	}
}

func TestLoadCacheRunsModuleOnce(t *testing.T) {
	var mu sync.Mutex
	count := 0
	in := memInterp(map[string]string{
		"lib.star": "print('loading')\nX = 1\n",
		"a.star":   "load('lib.star', 'X')\nA = X\n",
		"b.star":   "load('lib.star', 'X')\nB = X\n",
	}, host.Options{Print: func(syntax.Position, string) { mu.Lock(); count++; mu.Unlock() }})
	var wg sync.WaitGroup
	for _, f := range []string{"a.star", "b.star", "a.star", "b.star"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := in.ExecFile(context.Background(), f, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if count != 1 {
		t.Fatalf("lib.star ran %d times, want 1", count)
	}
}

func TestStdlibFromMemoryFS(t *testing.T) {
	in := memInterp(map[string]string{"r.star": "load('@stdlib/x.star', 'Y')\nZ = Y + 1\n"},
		host.Options{Stdlib: fstest.MapFS{"x.star": {Data: []byte("load('y.star', 'W')\nY = W\n")}, "y.star": {Data: []byte("W = 41\n")}}})
	g, err := in.ExecFile(context.Background(), "r.star", nil)
	if err != nil {
		t.Fatal(host.FormatError(err))
	}
	if g["Z"].String() != "42" {
		t.Fatalf("Z = %s", g["Z"])
	}
}

func TestLoadErrorKeepsModuleBacktrace(t *testing.T) {
	in := memInterp(map[string]string{
		"bad.star": "def f():\n    fail('inside')\nf()\n",
		"r.star":   "load('bad.star', 'f')\n",
	}, host.Options{})
	_, err := in.ExecFile(context.Background(), "r.star", nil)
	msg := host.FormatError(err)
	for _, want := range []string{"r.star:1:1", "bad.star:3:2", "bad.star:2:9", "inside"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestCancellationStopsThread(t *testing.T) {
	in := memInterp(map[string]string{"r.star": "def main(cfg):\n    while True:\n        pass\n"}, host.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := in.LoadRecipe(ctx, "r.star", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := in.RunMain(ctx, r); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cancel") {
			t.Fatalf("got %v, want a cancellation", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("thread did not stop after cancel")
	}
}

func TestShouldStop(t *testing.T) {
	var it *host.Interpreter
	it = memInterp(map[string]string{"r.star": `
def main(cfg):
    n = 0
    for i in range(1000000):
        if should_stop():
            return n
        n += 1
        if n == 5:
            request_stop()
    return -1
`}, host.Options{Globals: starlark.StringDict{"request_stop": starlark.NewBuiltin("request_stop", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		it.RequestStop()
		return starlark.None, nil
	})}})
	r, err := it.LoadRecipe(context.Background(), "r.star", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := it.RunMain(context.Background(), r)
	if err != nil || v.String() != "5" {
		t.Fatalf("got %v, %v; want 5", v, err)
	}
}

// goErr is a typed Go error a builtin returns; errors.As must find it
// through the Starlark EvalError.
type goErr struct{ code int }

func (e *goErr) Error() string { return fmt.Sprintf("go error %d", e.code) }

func TestGoErrorCauseKept(t *testing.T) {
	in := memInterp(map[string]string{"r.star": "def main(cfg):\n    boom()\n"}, host.Options{Globals: starlark.StringDict{
		"boom": starlark.NewBuiltin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, &goErr{7}
		}),
	}})
	r, _ := in.LoadRecipe(context.Background(), "r.star", nil, nil)
	_, err := in.RunMain(context.Background(), r)
	var ge *goErr
	if !errors.As(err, &ge) || ge.code != 7 {
		t.Fatalf("errors.As lost the cause: %v", err)
	}
	if msg := host.FormatError(err); !strings.Contains(msg, "r.star:2:9: in main") {
		t.Fatalf("no backtrace position:\n%s", msg)
	}
}

func TestParallelCallManyItems(t *testing.T) {
	in := memInterp(map[string]string{"r.star": "def f(x):\n    return {'x': x, 'sq': x * x}\n"}, host.Options{})
	g, err := in.ExecFile(context.Background(), "r.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]starlark.Value, 1000)
	for i := range items {
		items[i] = starlark.MakeInt(i)
	}
	out, err := host.ParallelCall(context.Background(), in, g["f"].(starlark.Callable), items, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		sq, _, _ := v.(*starlark.Dict).Get(starlark.String("sq"))
		if sq.String() != fmt.Sprint(i*i) {
			t.Fatalf("result %d out of order: %s", i, v)
		}
	}
}

func TestCheckReportsWithoutRunning(t *testing.T) {
	ran := false
	in := memInterp(map[string]string{
		"ok.star":  "print('side effect')\n",
		"bad.star": "x = 1\ny = 2\nz = = 3\n",
		"und.star": "def f():\n    return nope\n",
		"ld.star":  "load('missing.star', 'x')\n",
	}, host.Options{Print: func(syntax.Position, string) { ran = true }})
	if err := in.Check("ok.star", nil); err != nil || ran {
		t.Fatalf("check ok.star: %v (ran=%v)", err, ran)
	}
	for file, want := range map[string]string{"bad.star": "bad.star:3:5", "und.star": "und.star:2:12: undefined: nope", "ld.star": "ld.star:1:1: cannot load missing.star"} {
		err := in.Check(file, nil)
		if err == nil || !strings.Contains(host.FormatError(err), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
}
