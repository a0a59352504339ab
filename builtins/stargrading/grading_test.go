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

func TestDocs(t *testing.T) {
	for _, f := range stargrading.Module.Funcs {
		if f.Doc == "" || f.Impl == nil {
			t.Errorf("%s: missing doc or impl", f.Name)
		}
	}
	if h := stargrading.Module.Help(); len(h) < 200 {
		t.Errorf("help too short: %q", h)
	}
}
