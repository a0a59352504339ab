package starmllog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/starmllog"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
	"github.com/tkx-dev/tkx/mllog"
)

func TestGolden(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	startest.RunFile(t, "../../testdata/ml_log/ml_log.star", startest.Options{
		Modules: []*host.Module{starmllog.Module},
		Globals: starlark.StringDict{"RUN_DIR": starlark.String(run)},
	})
	logs, err := os.ReadFile(filepath.Join(run, mllog.LogsFile))
	if err != nil || !strings.Contains(string(logs), "this line is captured into logs.log") {
		t.Errorf("print not captured: %v\n%s", err, logs)
	}
	if strings.Contains(string(logs), "steps: [") {
		t.Error("print captured after close")
	}
	for _, f := range []string{mllog.ConfigFile, mllog.MetricsFile, mllog.CheckpointsFile, mllog.PlotFile, "curve.png"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	cfg, _ := mllog.ReadConfig(run)
	if cfg["recipe"] != "sl_basic" || cfg["learning_rate"] != 1e-4 {
		t.Errorf("config.json: %v", cfg)
	}
}
