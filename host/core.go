package host

import (
	"go.starlark.net/starlark"
)

// coreModule documents the host's own globals (config, field,
// parallel_map, should_stop). They are predeclared directly, not under a
// module name, but `tkx doc core` shows them like any module.
func coreModule() *Module {
	return &Module{
		Name: "core",
		Doc:  "Globals every tkx script has besides the builtin modules: recipe configuration, parallel map and graceful stop.",
		Funcs: []Func{
			{Name: "config", Impl: configBuiltin, Doc: `config(**fields) -> config

Declares a recipe configuration. Each keyword is a field whose value is a
field(...), a nested config(...), or a plain default value. Assign the result
to the global CONFIG; ` + "`tkx run recipe.star key=value`" + ` overrides fields
(nested ones as a.b=value) with type checking against the default, and
main(cfg) receives the resolved, frozen config. Fields are read as
attributes (cfg.lr) or by key (cfg["lr"]); dict(cfg) copies them.`},
			{Name: "field", Impl: fieldBuiltin, Doc: `field(default, doc="", type=None, choices=None) -> field

One configuration field with its default value and a one-line doc.
type ("int", "float", "bool", "string", "list", "dict") is needed only when
the default is None; choices restricts the allowed values.`},
			{Name: "parallel_map", Impl: parallelMap, Doc: `parallel_map(fn, items, workers=0) -> list

Calls fn(item) for every item on up to workers goroutines (0: the number of
CPUs, at most len(items)), each with its own Starlark thread. Items are
frozen first. Results come back in input order. The first failure cancels
the remaining calls and is reported with the failing call's backtrace and
item index.`},
			{Name: "should_stop", Impl: shouldStop, Doc: `should_stop() -> bool

True once the user pressed Ctrl-C (the first time): training loops check it
to flush logs, save a checkpoint and return. A second Ctrl-C aborts.`},
		},
	}
}

func shouldStop(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	in := InterpreterOf(thread)
	return starlark.Bool(in != nil && in.StopRequested()), nil
}
