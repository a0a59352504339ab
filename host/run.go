package host

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"
)

// Recipe is a loaded script: its globals and its declared configuration.
type Recipe struct {
	Filename string
	Globals  starlark.StringDict
	Config   *Config // a clone of the script's CONFIG (empty if none)
}

// ConfigGlobal is the global a recipe assigns its config(...) to.
const ConfigGlobal = "CONFIG"

// MainFunc is the entry point a recipe defines: def main(cfg).
const MainFunc = "main"

// LoadRecipe executes the script's top level and returns its config with
// the overrides ("key=value", nested "a.b=value") applied.
func (in *Interpreter) LoadRecipe(ctx context.Context, filename string, src any, overrides []string) (*Recipe, error) {
	globals, err := in.ExecFile(ctx, filename, src)
	if err != nil {
		return nil, err
	}
	r := &Recipe{Filename: filename, Globals: globals, Config: NewConfig()}
	if v, ok := globals[ConfigGlobal]; ok {
		c, ok := v.(*Config)
		if !ok {
			return nil, fmt.Errorf("%s: global %s must be a config(...), got %s", filename, ConfigGlobal, v.Type())
		}
		r.Config = c.Clone()
	}
	for _, o := range overrides {
		if err := r.Config.Apply(o); err != nil {
			return nil, err
		}
	}
	r.Config.Freeze()
	return r, nil
}

// RunMain calls main(cfg) (or main() when it takes no parameter) on a new
// thread. A script without main has already done its work at load time.
func (in *Interpreter) RunMain(ctx context.Context, r *Recipe) (starlark.Value, error) {
	v, ok := r.Globals[MainFunc]
	if !ok {
		return starlark.None, nil
	}
	fn, ok := v.(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("%s: main must be a function, got %s", r.Filename, v.Type())
	}
	thread, release := in.NewThread(ctx, r.Filename+":main")
	defer release()
	var args starlark.Tuple
	if fn.NumParams() > 0 {
		args = starlark.Tuple{r.Config}
	}
	return starlark.Call(thread, fn, args, nil)
}
