package host

import (
	"errors"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// FormatError renders an error for a person: Starlark runtime errors with
// their backtrace (file:line:col of every frame), syntax and resolve errors
// as file:line:col: msg lines, anything else as its message.
func FormatError(err error) string {
	if err == nil {
		return ""
	}
	var loadErr *LoadError
	var evalErr *starlark.EvalError
	var syntaxErr syntax.Error
	var resolveErrs resolve.ErrorList
	switch {
	case errors.As(err, &evalErr):
		bt := evalErr.Backtrace()
		// A failure inside a loaded module is wrapped in the loader's
		// EvalError; show the module's own backtrace too.
		if errors.As(evalErr.Unwrap(), &loadErr) && !strings.Contains(bt, loadErr.Err.Backtrace()) {
			bt += "\n" + loadErr.Err.Backtrace()
		}
		return bt
	case errors.As(err, &loadErr):
		return loadErr.Err.Backtrace()
	case errors.As(err, &syntaxErr):
		return syntaxErr.Error()
	case errors.As(err, &resolveErrs):
		lines := make([]string, len(resolveErrs))
		for i, e := range resolveErrs {
			lines[i] = e.Error()
		}
		return strings.Join(lines, "\n")
	}
	return err.Error()
}
