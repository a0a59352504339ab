package stargrading_test

import (
	"testing"

	"github.com/tkx-dev/tkx/builtins/stargrading"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	startest.RunDir(t, "../../testdata/grading", startest.Options{Modules: []*host.Module{stargrading.Module}})
}

// Every function's doc and implementation: builtins.TestModuleDocs.
func TestDocs(t *testing.T) {
	if h := stargrading.Module.Help(); len(h) < 200 {
		t.Errorf("help too short: %q", h)
	}
}
