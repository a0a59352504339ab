// Package startest runs golden Starlark tests: every *.star file of a
// folder runs with an `assert` module; its print output is compared with a
// snapshot (FILE.out, rewritten with `go test -update`), and a file whose
// first lines contain `# expect-error: REGEXP` must fail with an error
// matching REGEXP (the full message including file:line:col).
package startest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/tkx-dev/tkx/host"
)

var update = flag.Bool("update", false, "rewrite .out snapshots of golden Starlark tests")

// Options for RunDir.
type Options struct {
	// Modules are predeclared besides assert (e.g. builtins.All()).
	Modules []*host.Module
	// Globals are extra predeclared values.
	Globals starlark.StringDict
	// MaxSteps bounds each thread (default 10 million, so a runaway test fails).
	MaxSteps uint64
}

// RunDir runs every *.star file in dir as a subtest.
func RunDir(t *testing.T, dir string, opts Options) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .star files in %s", dir)
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".star"), func(t *testing.T) { RunFile(t, f, opts) })
	}
}

var expectErr = regexp.MustCompile(`(?m)^# expect-error: (.*)$`)

// RunFile runs one golden file.
func RunFile(t *testing.T, file string, opts Options) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var mu sync.Mutex
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 10_000_000
	}
	in := host.New(host.Options{
		Modules:  append([]*host.Module{AssertModule}, opts.Modules...),
		Globals:  opts.Globals,
		MaxSteps: opts.MaxSteps,
		Print: func(pos syntax.Position, msg string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(&out, "%s:%d: %s\n", filepath.Base(pos.Filename()), pos.Line, msg)
		},
	})
	ctx := context.Background()
	r, err := in.LoadRecipe(ctx, file, src, nil)
	if err == nil {
		_, err = in.RunMain(ctx, r)
	}
	if m := expectErr.FindSubmatch(src); m != nil {
		want := regexp.MustCompile(string(m[1]))
		if err == nil {
			t.Fatalf("%s: want an error matching %q, got success", file, m[1])
		}
		if msg := host.FormatError(err); !want.MatchString(msg) {
			t.Fatalf("%s: error does not match %q:\n%s", file, m[1], msg)
		}
	} else if err != nil {
		t.Fatalf("%s:\n%s", file, host.FormatError(err))
	}
	snapshot := strings.TrimSuffix(file, ".star") + ".out"
	if *update {
		if out.Len() > 0 {
			if err := os.WriteFile(snapshot, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(snapshot)
		}
		return
	}
	want, err := os.ReadFile(snapshot)
	if os.IsNotExist(err) {
		if out.Len() > 0 {
			t.Fatalf("%s printed output but has no snapshot %s (run go test -update):\n%s", file, snapshot, out.String())
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != out.String() {
		t.Fatalf("%s: output differs from %s (go test -update rewrites it)\n--- want\n%s--- got\n%s", file, snapshot, want, out.String())
	}
}

// AssertModule is the `assert` module of golden tests.
var AssertModule = &host.Module{
	Name: "assert",
	Doc:  "Assertions for golden Starlark tests; a failed assertion fails the script with its position.",
	Funcs: []host.Func{
		{Name: "eq", Impl: assertEq, Doc: "eq(got, want, msg=\"\")\n\nFails unless got == want."},
		{Name: "ne", Impl: assertNe, Doc: "ne(got, unwanted, msg=\"\")\n\nFails if got == unwanted."},
		{Name: "true", Impl: assertTrue, Doc: "true(cond, msg=\"\")\n\nFails unless cond is truthy."},
		{Name: "lt", Impl: assertLt, Doc: "lt(a, b, msg=\"\")\n\nFails unless a < b."},
		{Name: "near", Impl: assertNear, Doc: "near(got, want, tol=1e-9, msg=\"\")\n\nFails unless |got-want| <= tol (numbers or equal-length lists)."},
		{Name: "contains", Impl: assertContains, Doc: "contains(container, x, msg=\"\")\n\nFails unless x in container."},
		{Name: "fails", Impl: assertFails, Doc: "fails(fn, pattern) -> string\n\nCalls fn(); fails unless it fails with an error matching the regexp pattern. Returns the error message."},
	},
}

func unpack2(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, n1, n2 string) (a, b starlark.Value, msg string, err error) {
	err = starlark.UnpackArgs(fn.Name(), args, kwargs, n1, &a, n2, &b, "msg?", &msg)
	return
}

func failf(msg, format string, args ...any) error {
	s := fmt.Sprintf(format, args...)
	if msg != "" {
		s = msg + ": " + s
	}
	return fmt.Errorf("%s", s)
}

func assertEq(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	got, want, msg, err := unpack2(fn, args, kwargs, "got", "want")
	if err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, want)
	if err != nil {
		return nil, err
	}
	if !eq {
		return nil, failf(msg, "got %s, want %s", got, want)
	}
	return starlark.None, nil
}

func assertNe(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	got, other, msg, err := unpack2(fn, args, kwargs, "got", "unwanted")
	if err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, other)
	if err != nil {
		return nil, err
	}
	if eq {
		return nil, failf(msg, "got %s, want anything else", got)
	}
	return starlark.None, nil
}

func assertTrue(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	var msg string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "cond", &cond, "msg?", &msg); err != nil {
		return nil, err
	}
	if !cond.Truth() {
		return nil, failf(msg, "got %s, want a true value", cond)
	}
	return starlark.None, nil
}

func assertLt(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, b, msg, err := unpack2(fn, args, kwargs, "a", "b")
	if err != nil {
		return nil, err
	}
	lt, err := starlark.Compare(syntax.LT, a, b)
	if err != nil {
		return nil, err
	}
	if !lt {
		return nil, failf(msg, "got %s, want less than %s", a, b)
	}
	return starlark.None, nil
}

func assertNear(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, want starlark.Value
	tol := 1e-9
	var msg string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "got", &got, "want", &want, "tol?", &tol, "msg?", &msg); err != nil {
		return nil, err
	}
	g, gerr := host.AsFloats(starlark.Tuple{got}, "got")
	w, werr := host.AsFloats(starlark.Tuple{want}, "want")
	if gerr != nil || werr != nil {
		if g, gerr = host.AsFloats(got, "got"); gerr != nil {
			return nil, gerr
		}
		if w, werr = host.AsFloats(want, "want"); werr != nil {
			return nil, werr
		}
	}
	if len(g) != len(w) {
		return nil, failf(msg, "got %d values, want %d", len(g), len(w))
	}
	for i := range g {
		if d := g[i] - w[i]; d > tol || -d > tol || d != d {
			return nil, failf(msg, "got %s, want %s within %g (element %d)", got, want, tol, i)
		}
	}
	return starlark.None, nil
}

func assertContains(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c, x, msg, err := unpack2(fn, args, kwargs, "container", "x")
	if err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, x, c)
	if err != nil {
		return nil, err
	}
	if !in.Truth() {
		return nil, failf(msg, "%s not in %s", x, c)
	}
	return starlark.None, nil
}

func assertFails(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	var pattern string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f, "pattern", &pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: bad pattern: %v", fn.Name(), err)
	}
	_, callErr := starlark.Call(thread, f, nil, nil)
	if callErr == nil {
		return nil, fmt.Errorf("%s: call succeeded, want an error matching %q", fn.Name(), pattern)
	}
	msg := callErr.Error()
	if ee, ok := callErr.(*starlark.EvalError); ok {
		msg = ee.Msg
	}
	if !re.MatchString(msg) {
		return nil, fmt.Errorf("%s: error %q does not match %q", fn.Name(), msg, pattern)
	}
	return starlark.String(msg), nil
}
