package starrl_test

import (
	"bufio"
	"io"
	"log/slog"
	"os"
	"testing"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host/startest"
)

// TestMain points the process-wide local engine at a scratch $TKX_HOME.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tkx-starrl-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("TKX_HOME", dir)
	startinker.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestGolden(t *testing.T) {
	// A large step budget: failures.star's never-finishing env must be
	// stopped by its rollout time limit, not by the budget.
	startest.RunDir(t, "../../testdata/rl", startest.Options{Modules: builtins.All(), MaxSteps: 5_000_000_000})
}

func firstLine(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	return starlark.String(sc.Text()), sc.Err()
}

// TestLocalLoop runs stdlib/rl.star on the local backend (tkx/local-tiny):
// sync, async (never trains on groups staler than max_steps_off_policy),
// stream_minibatch, ppo and resume.
func TestLocalLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the local backend")
	}
	startest.RunFile(t, "../../testdata/rl/loop/local_loop.star", startest.Options{
		Modules: builtins.All(),
		Globals: starlark.StringDict{
			"RUN_DIR":    starlark.String(t.TempDir()),
			"first_line": starlark.NewBuiltin("first_line", firstLine),
		},
		MaxSteps: 100_000_000,
	})
}
