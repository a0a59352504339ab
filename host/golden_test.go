package host_test

import (
	"testing"

	"github.com/tkx-dev/tkx/builtins/starnp"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGoldenHost(t *testing.T) {
	startest.RunDir(t, "../testdata/host", startest.Options{Modules: []*host.Module{starnp.Module}})
}
