// Package repl is tkx's interactive Starlark shell: multi-line input,
// help(x), tab completion of globals, module members and attributes. The
// line editor (liner) is plugged in by cmd/tkx; the session logic here is
// driven by a readline function so tests can feed it lines.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/tkx-dev/tkx/host"
)

// Session holds the REPL's globals and thread.
type Session struct {
	in      *host.Interpreter
	thread  *starlark.Thread
	release func()
	globals starlark.StringDict
	out     io.Writer
	exited  bool
	ctx     context.Context

	mu         sync.Mutex
	cancelEval context.CancelFunc
}

// New returns a session whose results and errors go to out.
func New(ctx context.Context, in *host.Interpreter, out io.Writer) *Session {
	s := &Session{in: in, globals: starlark.StringDict{}, out: out, ctx: ctx}
	s.thread, s.release = in.NewThread(ctx, "repl")
	s.globals["help"] = starlark.NewBuiltin("help", s.help)
	s.globals["exit"] = starlark.NewBuiltin("exit", s.exit)
	s.globals["quit"] = s.globals["exit"]
	return s
}

// Close releases the session's thread.
func (s *Session) Close() { s.release() }

// Globals returns the session's globals (not the predeclared ones).
func (s *Session) Globals() starlark.StringDict { return s.globals }

// LoadScript runs a script and copies its globals into the session; its
// CONFIG (with overrides) is bound to cfg so main(cfg) can be called by hand.
func (s *Session) LoadScript(ctx context.Context, filename string, overrides []string) error {
	r, err := s.in.LoadRecipe(ctx, filename, nil, overrides)
	if err != nil {
		return err
	}
	for k, v := range r.Globals {
		s.globals[k] = v
	}
	s.globals["cfg"] = r.Config
	return nil
}

// Exited reports whether exit() was called.
func (s *Session) Exited() bool { return s.exited }

// ErrIncomplete is returned by Eval for input that needs more lines.
var ErrIncomplete = errors.New("incomplete input")

// ReadEvalPrint reads one statement (asking readline for continuation
// lines as needed), evaluates it and prints the value of an expression.
// It returns io.EOF when readline does. Starlark errors are printed, not
// returned, so the loop goes on.
func (s *Session) ReadEvalPrint(readline func(prompt string) (string, error)) error {
	prompt := ">>> "
	eof := false
	read := func() ([]byte, error) {
		line, err := readline(prompt)
		prompt = "... "
		if err != nil {
			if errors.Is(err, io.EOF) {
				eof = true
			}
			return nil, err
		}
		return []byte(line + "\n"), nil
	}
	f, err := host.Dialect().ParseCompoundStmt("<stdin>", read)
	if err != nil {
		if eof {
			return io.EOF
		}
		var se syntax.Error
		if errors.As(err, &se) {
			fmt.Fprintln(s.out, se.Error())
			return nil
		}
		return err
	}
	s.execFile(f)
	return nil
}

// Eval evaluates a complete chunk of source (one or more statements).
func (s *Session) Eval(src string) error {
	lines := strings.SplitAfter(src, "\n")
	i := 0
	read := func() ([]byte, error) {
		if i >= len(lines) {
			return nil, nil
		}
		i++
		return []byte(lines[i-1]), nil
	}
	for i < len(lines) {
		f, err := host.Dialect().ParseCompoundStmt("<stdin>", read)
		if err != nil {
			return err
		}
		if len(f.Stmts) == 0 {
			continue
		}
		if err := s.execFile(f); err != nil {
			return err
		}
	}
	return nil
}

// Interrupt cancels the evaluation in progress (Ctrl-C); the session goes on.
func (s *Session) Interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelEval != nil {
		s.cancelEval()
		s.thread.Cancel("interrupted")
	}
}

func (s *Session) execFile(f *syntax.File) error {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	s.cancelEval = cancel
	s.mu.Unlock()
	host.SetContext(s.thread, ctx)
	defer func() {
		s.mu.Lock()
		s.cancelEval = nil
		s.mu.Unlock()
		cancel()
		s.thread.Uncancel()
		host.SetContext(s.thread, s.ctx)
	}()
	if len(f.Stmts) == 1 {
		if expr, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			v, err := starlark.EvalExprOptions(host.Dialect(), s.thread, expr.X, s.env())
			if err != nil {
				fmt.Fprintln(s.out, host.FormatError(err))
				return err
			}
			if v != starlark.None {
				fmt.Fprintln(s.out, v.String())
			}
			s.globals["_"] = v
			return nil
		}
	}
	env := s.env()
	if err := starlark.ExecREPLChunk(f, s.thread, env); err != nil {
		fmt.Fprintln(s.out, host.FormatError(err))
		return err
	}
	for k, v := range env {
		if _, pre := s.in.Predeclared()[k]; pre && env[k] == s.in.Predeclared()[k] {
			continue
		}
		s.globals[k] = v
	}
	return nil
}

// env is the globals a chunk sees: predeclared values overlaid by the
// session's own.
func (s *Session) env() starlark.StringDict {
	env := starlark.StringDict{}
	for k, v := range s.in.Predeclared() {
		env[k] = v
	}
	for k, v := range s.globals {
		env[k] = v
	}
	return env
}

func (s *Session) exit(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s.exited = true
	return starlark.None, nil
}

// help(x) prints the documentation of a module, builtin or value.
func (s *Session) help(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x?", &x); err != nil {
		return nil, err
	}
	fmt.Fprintln(s.out, s.Help(x))
	return starlark.None, nil
}

// Help returns the documentation of a value.
func (s *Session) Help(x starlark.Value) string {
	mods := s.in.Modules()
	switch v := x.(type) {
	case starlark.NoneType:
		names := make([]string, 0, len(mods))
		for n := range mods {
			names = append(names, n)
		}
		sort.Strings(names)
		return "tkx REPL. Builtin modules: " + strings.Join(names, ", ") +
			"\nhelp(np) or help(np.mean) shows docs; Tab completes; exit() or Ctrl-D leaves."
	case *starlark.Builtin:
		name := v.Name()
		if mod, member, ok := strings.Cut(name, "."); ok {
			if m := mods[mod]; m != nil {
				if doc, ok := m.Lookup(member); ok {
					return mod + "." + doc
				}
			}
		}
		if doc, ok := mods["core"].Lookup(name); ok {
			return doc
		}
		return fmt.Sprintf("builtin %s (no documentation)", name)
	case *starlark.Function:
		doc := v.Doc()
		if doc == "" {
			doc = "(no docstring)"
		}
		return fmt.Sprintf("def %s at %s\n    %s", v.Name(), v.Position(), strings.ReplaceAll(doc, "\n", "\n    "))
	}
	if hasAttrs, ok := x.(starlark.HasAttrs); ok {
		for _, m := range mods {
			if mv, ok := s.in.Predeclared()[m.Name]; ok && mv == x {
				return m.Help()
			}
		}
		return fmt.Sprintf("%s value; attributes: %s", x.Type(), strings.Join(hasAttrs.AttrNames(), ", "))
	}
	return fmt.Sprintf("%s value: %s", x.Type(), x.String())
}

// Complete returns the completions of the identifier or dotted name that
// ends at the end of line: globals, predeclared names and keywords, or the
// attributes of the value before the last dot.
func (s *Session) Complete(line string) (head string, completions []string) {
	start := len(line)
	for start > 0 {
		c := line[start-1]
		if c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			start--
			continue
		}
		break
	}
	head, word := line[:start], line[start:]
	var candidates []string
	prefix := word
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		base, err := s.lookupPath(word[:dot])
		if err != nil {
			return head, nil
		}
		if ha, ok := base.(starlark.HasAttrs); ok {
			for _, a := range ha.AttrNames() {
				candidates = append(candidates, word[:dot+1]+a)
			}
		}
	} else {
		for k := range s.env() {
			candidates = append(candidates, k)
		}
		for k := range starlark.Universe {
			candidates = append(candidates, k)
		}
		candidates = append(candidates, "def", "for", "if", "else", "elif", "return", "load", "while", "break", "continue", "pass", "lambda", "not", "and", "or", "in")
	}
	seen := map[string]bool{}
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) && !seen[c] {
			seen[c] = true
			completions = append(completions, c)
		}
	}
	sort.Strings(completions)
	return head, completions
}

// lookupPath resolves a.b.c by attribute access only (never calls code).
func (s *Session) lookupPath(path string) (starlark.Value, error) {
	parts := strings.Split(path, ".")
	v, ok := s.env()[parts[0]]
	if !ok {
		v, ok = starlark.Universe[parts[0]]
	}
	if !ok {
		return nil, fmt.Errorf("undefined: %s", parts[0])
	}
	for _, p := range parts[1:] {
		ha, ok := v.(starlark.HasAttrs)
		if !ok {
			return nil, fmt.Errorf("%s has no attributes", v.Type())
		}
		next, err := ha.Attr(p)
		if err != nil || next == nil {
			return nil, fmt.Errorf("no attribute %s", p)
		}
		v = next
	}
	return v, nil
}
