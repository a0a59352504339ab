package starrenderers_test

import (
	"testing"

	"github.com/tkx-dev/tkx/builtins/starmodelinfo"
	"github.com/tkx-dev/tkx/builtins/starrenderers"
	"github.com/tkx-dev/tkx/builtins/startokenizers"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	startest.RunDir(t, "../../renderers/testdata/star", startest.Options{Modules: []*host.Module{
		startokenizers.Module, starrenderers.Module, starmodelinfo.Module,
	}})
}
