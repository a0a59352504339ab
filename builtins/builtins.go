// Package builtins assembles the Starlark modules every tkx script sees as
// predeclared globals. Each module lives in its own package (starnp,
// startinker, …) over the Go package that does the work.
package builtins

import (
	"github.com/tkx-dev/tkx/builtins/stardatasets"
	"github.com/tkx-dev/tkx/builtins/stargrading"
	"github.com/tkx-dev/tkx/builtins/starmllog"
	"github.com/tkx-dev/tkx/builtins/starmodelinfo"
	"github.com/tkx-dev/tkx/builtins/starnp"
	"github.com/tkx-dev/tkx/builtins/starrenderers"
	"github.com/tkx-dev/tkx/builtins/starrl"
	"github.com/tkx-dev/tkx/builtins/starsupervised"
	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/builtins/startokenizers"
	"github.com/tkx-dev/tkx/host"
)

// All returns the builtin modules in the order `tkx doc` lists them.
func All() []*host.Module {
	return []*host.Module{
		starnp.Module,
		startinker.Module,
		startokenizers.Module,
		starrenderers.Module,
		starmodelinfo.Module,
		stardatasets.Module,
		starsupervised.Module,
		stargrading.Module,
		starmllog.Module,
		starrl.Module,
	}
}

// NewInterpreter returns an interpreter with every builtin module.
func NewInterpreter(opts host.Options) *host.Interpreter {
	opts.Modules = append(All(), opts.Modules...)
	return host.New(opts)
}
