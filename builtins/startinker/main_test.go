package startinker

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain points the process-wide local engine at a scratch $TKX_HOME
// (backend.SharedEngine is created once per process).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tkx-startinker-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("TKX_HOME", dir)
	Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
