// Package host is the Starlark runtime of tkx: it runs recipe scripts with
// a fixed dialect, resolves load() over the embedded stdlib and the recipe's
// folder, gives every goroutine its own thread carrying a context.Context,
// and reports errors with Starlark backtraces.
//
// An Interpreter holds no process-wide state: two interpreters in one
// process never see each other's modules, caches or options.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/tkx-dev/tkx/stdlib"
)

// Dialect is the Starlark dialect recipes are written in:
//   - set() is available (sets of seen prompts, tags…);
//   - top-level if/for are allowed so a script can sweep hyper-parameters;
//   - while loops are allowed because training loops read naturally with
//     them ("while not done"); a step budget and context cancellation bound
//     every thread instead;
//   - recursion stays off and globals cannot be reassigned, as in Bazel.
func Dialect() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, TopLevelControl: true, While: true}
}

// StdlibPrefix marks load() paths served from the embedded standard library.
const StdlibPrefix = "@stdlib/"

// Options configures an Interpreter. The zero value is usable.
type Options struct {
	// Modules become predeclared globals (np, tinker, renderers…).
	Modules []*Module
	// Globals are extra predeclared values.
	Globals starlark.StringDict
	// Stdlib serves load("@stdlib/…"); defaults to the embedded stdlib.
	Stdlib fs.FS
	// ReadFile reads scripts from disk; tests replace it with a memory loader.
	ReadFile func(name string) ([]byte, error)
	// FileOptions is the dialect; defaults to Dialect().
	FileOptions *syntax.FileOptions
	// MaxSteps bounds the Starlark computation steps of each thread (0: none).
	MaxSteps uint64
	// Print receives print() output with the caller's position.
	// Defaults to writing "file:line: msg" to Stderr.
	Print func(pos syntax.Position, msg string)
	// Stderr is where the default Print writes; defaults to os.Stderr.
	Stderr io.Writer
}

// Interpreter runs scripts. It is safe for concurrent use.
type Interpreter struct {
	opts        Options
	predeclared starlark.StringDict
	modules     map[string]*Module

	mu    sync.Mutex
	cache map[string]*loadEntry

	stop atomic.Bool
}

type loadEntry struct {
	ready   chan struct{}
	globals starlark.StringDict
	err     error
}

// New returns an interpreter with the given options.
func New(opts Options) *Interpreter {
	if opts.Stdlib == nil {
		opts.Stdlib = stdlib.FS
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.FileOptions == nil {
		opts.FileOptions = Dialect()
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	in := &Interpreter{opts: opts, cache: map[string]*loadEntry{}, modules: map[string]*Module{}}
	if in.opts.Print == nil {
		w := opts.Stderr
		in.opts.Print = func(pos syntax.Position, msg string) {
			fmt.Fprintf(w, "%s:%d: %s\n", pos.Filename(), pos.Line, msg)
		}
	}
	in.predeclared = starlark.StringDict{
		"json":   json.Module,
		"math":   math.Module,
		"time":   time.Module,
		"struct": starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
	for _, m := range []*Module{coreModule()} {
		for _, f := range m.Funcs {
			in.predeclared[f.Name] = starlark.NewBuiltin(f.Name, f.Impl)
		}
		in.modules[m.Name] = m
	}
	for _, m := range opts.Modules {
		in.predeclared[m.Name] = m.Value()
		in.modules[m.Name] = m
	}
	for k, v := range opts.Globals {
		in.predeclared[k] = v
	}
	return in
}

// Predeclared returns the names every script sees without load().
func (in *Interpreter) Predeclared() starlark.StringDict { return in.predeclared }

// Modules returns the documented modules (builtin ones and "core"), by name.
func (in *Interpreter) Modules() map[string]*Module { return in.modules }

// RequestStop asks the running recipe to stop at its next safe point:
// should_stop() starts returning True so loops can flush logs and save a
// checkpoint. A second request should cancel the context instead.
func (in *Interpreter) RequestStop() { in.stop.Store(true) }

// StopRequested reports whether RequestStop was called.
func (in *Interpreter) StopRequested() bool { return in.stop.Load() }

// Thread-local keys, namespaced so builtins of other packages cannot clash.
const (
	localContext = "tkx.context"
	localInterp  = "tkx.interpreter"
	localLoading = "tkx.loading" // []string: chain of modules being loaded
)

// NewThread returns a thread bound to ctx: cancelling ctx cancels the
// thread. Call release when the thread is done to stop watching ctx.
// Use one thread per goroutine.
func (in *Interpreter) NewThread(ctx context.Context, name string) (thread *starlark.Thread, release func()) {
	thread = &starlark.Thread{
		Name: name,
		Print: func(t *starlark.Thread, msg string) {
			var pos syntax.Position
			if t.CallStackDepth() > 1 {
				pos = t.CallFrame(1).Pos
			}
			in.opts.Print(pos, msg)
		},
		Load: in.load,
	}
	thread.SetLocal(localContext, ctx)
	thread.SetLocal(localInterp, in)
	if in.opts.MaxSteps > 0 {
		thread.SetMaxExecutionSteps(in.opts.MaxSteps)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			thread.Cancel(context.Cause(ctx).Error())
		case <-done:
		}
	}()
	var once sync.Once
	return thread, func() { once.Do(func() { close(done) }) }
}

// Context returns the context of a thread made by NewThread, or
// context.Background() for a foreign thread.
func Context(thread *starlark.Thread) context.Context {
	if ctx, ok := thread.Local(localContext).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

// SetContext replaces the context of a thread (the REPL gives every
// evaluation its own, so Ctrl-C cancels one evaluation, not the session).
func SetContext(thread *starlark.Thread, ctx context.Context) { thread.SetLocal(localContext, ctx) }

// InterpreterOf returns the interpreter that made thread, or nil.
func InterpreterOf(thread *starlark.Thread) *Interpreter {
	in, _ := thread.Local(localInterp).(*Interpreter)
	return in
}

// ExecFile runs a script as the main module and returns its globals.
// src may be nil (read from filename), a string or []byte.
func (in *Interpreter) ExecFile(ctx context.Context, filename string, src any) (starlark.StringDict, error) {
	thread, release := in.NewThread(ctx, filename)
	defer release()
	if src == nil {
		data, err := in.opts.ReadFile(filename)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", filename, unwrapPathError(err))
		}
		src = data
	}
	key := in.canonical(filename)
	thread.SetLocal(localLoading, []string{key})
	globals, err := starlark.ExecFileOptions(in.opts.FileOptions, thread, filename, src, in.predeclared)
	if err != nil {
		return globals, err
	}
	return globals, nil
}

// Check parses and resolves a script without running it, reporting syntax
// errors, undefined names and bad load() targets.
func (in *Interpreter) Check(filename string, src any) error {
	if src == nil {
		data, err := in.opts.ReadFile(filename)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", filename, unwrapPathError(err))
		}
		src = data
	}
	f, prog, err := starlark.SourceProgramOptions(in.opts.FileOptions, filename, src, in.predeclared.Has)
	if err != nil {
		return err
	}
	_ = prog
	var errs []error
	for _, stmt := range f.Stmts {
		load, ok := stmt.(*syntax.LoadStmt)
		if !ok {
			continue
		}
		name := load.ModuleName()
		target, err := in.resolve(filename, name)
		if err == nil {
			if strings.HasPrefix(target, StdlibPrefix) {
				_, err = fs.Stat(in.opts.Stdlib, strings.TrimPrefix(target, StdlibPrefix))
			} else {
				_, err = in.opts.ReadFile(target)
			}
			if err != nil {
				err = unwrapPathError(err)
			}
		}
		if err != nil {
			start, _ := load.Span()
			errs = append(errs, fmt.Errorf("%s: cannot load %s: %v", start, name, err))
		}
	}
	return errors.Join(errs...)
}

// load implements load(): one cache per interpreter, cycle detection
// along the chain of modules being loaded, and concurrent loads of the same
// module from several goroutines waiting on one execution.
func (in *Interpreter) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	from := thread.CallFrame(0).Pos.Filename()
	target, err := in.resolve(from, module)
	if err != nil {
		return nil, err
	}
	key := in.canonical(target)
	chain, _ := thread.Local(localLoading).([]string)
	for i, k := range chain {
		if k == key {
			cycle := append(append([]string{}, chain[i:]...), key)
			return nil, fmt.Errorf("load cycle: %s", strings.Join(cycle, " -> "))
		}
	}

	in.mu.Lock()
	e, ok := in.cache[key]
	if !ok {
		e = &loadEntry{ready: make(chan struct{})}
		in.cache[key] = e
	}
	in.mu.Unlock()
	if ok {
		select {
		case <-e.ready:
			return e.globals, e.err
		case <-Context(thread).Done():
			return nil, context.Cause(Context(thread))
		}
	}

	defer close(e.ready)
	var src []byte
	if strings.HasPrefix(target, StdlibPrefix) {
		src, err = fs.ReadFile(in.opts.Stdlib, strings.TrimPrefix(target, StdlibPrefix))
	} else {
		src, err = in.opts.ReadFile(target)
	}
	if err != nil {
		e.err = unwrapPathError(err)
		if errors.Is(err, fs.ErrNotExist) {
			e.err = fmt.Errorf("no such file: %s", target)
		}
		// A missing file is not cached so that creating it and retrying in
		// the REPL works.
		in.mu.Lock()
		delete(in.cache, key)
		in.mu.Unlock()
		return nil, e.err
	}
	lt, release := in.NewThread(Context(thread), target)
	defer release()
	lt.SetLocal(localLoading, append(append([]string{}, chain...), key))
	e.globals, e.err = starlark.ExecFileOptions(in.opts.FileOptions, lt, target, src, in.predeclared)
	if e.err != nil {
		var evalErr *starlark.EvalError
		if errors.As(e.err, &evalErr) {
			e.err = &LoadError{Module: target, Err: evalErr}
		}
	}
	return e.globals, e.err
}

// LoadError is a failure while executing a loaded module; it keeps the
// module's own backtrace, which the loading thread's stack would hide.
type LoadError struct {
	Module string
	Err    *starlark.EvalError
}

func (e *LoadError) Error() string { return e.Err.Backtrace() }
func (e *LoadError) Unwrap() error { return e.Err }

// resolve maps a load() argument to a file name. "@stdlib/x.star" is served
// from the embedded library; other paths are relative to the loading file's
// folder (inside the stdlib, relative to the stdlib).
func (in *Interpreter) resolve(from, module string) (string, error) {
	if !strings.HasSuffix(module, ".star") {
		return "", fmt.Errorf("load(%q): module names end in .star", module)
	}
	if strings.HasPrefix(module, StdlibPrefix) {
		p := path.Clean(strings.TrimPrefix(module, StdlibPrefix))
		if p == ".." || strings.HasPrefix(p, "../") {
			return "", fmt.Errorf("load(%q): path escapes the stdlib", module)
		}
		return StdlibPrefix + p, nil
	}
	if strings.HasPrefix(module, "@") {
		return "", fmt.Errorf("load(%q): unknown repository (only %s is known)", module, StdlibPrefix)
	}
	if strings.HasPrefix(from, StdlibPrefix) {
		dir := path.Dir(strings.TrimPrefix(from, StdlibPrefix))
		p := path.Clean(path.Join(dir, module))
		if p == ".." || strings.HasPrefix(p, "../") {
			return "", fmt.Errorf("load(%q): path escapes the stdlib", module)
		}
		return StdlibPrefix + p, nil
	}
	if filepath.IsAbs(module) {
		return filepath.Clean(module), nil
	}
	return filepath.Join(filepath.Dir(from), module), nil
}

func (in *Interpreter) canonical(name string) string {
	if strings.HasPrefix(name, StdlibPrefix) {
		return name
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sortedKeys returns the keys of a StringDict in order.
func sortedKeys(d starlark.StringDict) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
