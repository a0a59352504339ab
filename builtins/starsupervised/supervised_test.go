package starsupervised_test

import (
	"testing"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	t.Setenv("TINKER_API_KEY", "")
	t.Setenv("TINKER_BASE_URL", "")
	t.Setenv("TKX_HOME", t.TempDir())
	startest.RunDir(t, "../../testdata/supervised", startest.Options{Modules: builtins.All()})
}
