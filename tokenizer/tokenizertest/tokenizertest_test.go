package tokenizertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recTB records Fatalf and Skipf instead of stopping the test.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                   {}
func (r *recTB) Fatalf(f string, a ...any) { r.fatal = fmt.Sprintf(f, a...) }
func (r *recTB) Skipf(f string, a ...any)  { r.skip = fmt.Sprintf(f, a...) }

func TestDirIsUnderTheModuleRoot(t *testing.T) {
	d := Dir()
	if !strings.HasSuffix(d, filepath.Join("testdata", ".cache", "tokenizers")) {
		t.Fatalf("Dir() = %s", d)
	}
	if _, err := os.Stat(filepath.Join(d, "..", "..", "..", "go.mod")); err != nil {
		t.Fatalf("Dir() = %s is not testdata/.cache/tokenizers of the module: %v", d, err)
	}
}

func TestMissingFileSkipsOrFails(t *testing.T) {
	t.Setenv(RequireEnv, "")
	r := &recTB{TB: t}
	if p, ok := Find(r, "no-such-tokenizer", "tokenizer.json"); ok || r.fatal != "" || !strings.HasSuffix(p, filepath.Join("no-such-tokenizer", "tokenizer.json")) {
		t.Fatalf("Find without %s: %q %v fatal %q", RequireEnv, p, ok, r.fatal)
	}
	Require(r, "no-such-tokenizer", "tokenizer.json")
	if r.fatal != "" || !strings.Contains(r.skip, "scripts/test-setup.sh") {
		t.Fatalf("Require without %s: skip %q fatal %q", RequireEnv, r.skip, r.fatal)
	}

	t.Setenv(RequireEnv, "1")
	r = &recTB{TB: t}
	if _, ok := Find(r, "no-such-tokenizer", "tokenizer.json"); ok || !strings.Contains(r.fatal, RequireEnv) || !strings.Contains(r.fatal, "no-such-tokenizer") {
		t.Fatalf("Find with %s: ok %v fatal %q", RequireEnv, ok, r.fatal)
	}
}
