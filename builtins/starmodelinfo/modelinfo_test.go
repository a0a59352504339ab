package starmodelinfo_test

import (
	"testing"

	"github.com/tkx-dev/tkx/builtins/starmodelinfo"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	startest.RunDir(t, "../../testdata/model_info", startest.Options{Modules: []*host.Module{starmodelinfo.Module}})
}
