package stardatasets_test

import (
	"testing"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/stardatasets"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	// Relative paths keep the snapshot independent of the checkout's place.
	sl, data := "../../testdata/sl", "../../testdata/datasets"
	startest.RunDir(t, "../../testdata/datasets", startest.Options{
		Modules: []*host.Module{stardatasets.Module},
		Globals: starlark.StringDict{"SL_DIR": starlark.String(sl), "DATA_DIR": starlark.String(data)},
	})
}
