package host

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// BuiltinFunc is the signature of every Go function exposed to Starlark.
type BuiltinFunc = func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Module describes one predeclared Starlark module (np, tinker, renderers…).
// Every builtin module of tkx is declared this way so that `tkx doc`, the
// REPL's help() and tab completion are generated from the same docstrings
// the code carries.
type Module struct {
	Name string // global name in scripts, e.g. "np"
	Doc  string // one paragraph about the module
	// Funcs are the module's functions. Doc starts with the Starlark
	// signature on its own line, e.g. "mean(x)\n\nArithmetic mean of x."
	Funcs []Func
	// Consts are non-function members (constants, sub-modules).
	Consts []Const
}

// Func is one module function.
type Func struct {
	Name string
	Doc  string
	Impl BuiltinFunc
}

// Const is one non-function module member.
type Const struct {
	Name  string
	Doc   string
	Value starlark.Value
}

// Value builds the Starlark value of the module. Builtins are named
// "module.func" so that errors read `np.mean: for parameter x: ...`.
func (m *Module) Value() *starlarkstruct.Module {
	members := make(starlark.StringDict, len(m.Funcs)+len(m.Consts))
	for _, f := range m.Funcs {
		members[f.Name] = starlark.NewBuiltin(m.Name+"."+f.Name, f.Impl)
	}
	for _, c := range m.Consts {
		members[c.Name] = c.Value
	}
	return &starlarkstruct.Module{Name: m.Name, Members: members}
}

// Lookup returns the doc of a member, and whether it exists.
func (m *Module) Lookup(name string) (string, bool) {
	for _, f := range m.Funcs {
		if f.Name == name {
			return f.Doc, true
		}
	}
	for _, c := range m.Consts {
		if c.Name == name {
			return c.Doc, true
		}
	}
	return "", false
}

// Help renders the module's documentation: every member with its signature
// and doc, in name order.
func (m *Module) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n", m.Name)
	if m.Doc != "" {
		fmt.Fprintf(&b, "    %s\n", indent(m.Doc, "    "))
	}
	type entry struct{ name, doc string }
	var entries []entry
	for _, f := range m.Funcs {
		entries = append(entries, entry{f.Name, f.Doc})
	}
	for _, c := range m.Consts {
		entries = append(entries, entry{c.Name, c.Doc})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for _, e := range entries {
		sig, rest, _ := strings.Cut(e.doc, "\n")
		if !strings.Contains(sig, "(") {
			sig, rest = e.name, e.doc
		}
		fmt.Fprintf(&b, "\n%s.%s\n", m.Name, strings.TrimSpace(sig))
		if rest = strings.TrimSpace(rest); rest != "" {
			fmt.Fprintf(&b, "    %s\n", indent(rest, "    "))
		}
	}
	return b.String()
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}
