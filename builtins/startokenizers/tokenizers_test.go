package startokenizers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/startokenizers"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
	"github.com/tkx-dev/tkx/tokenizer"
)

func TestGolden(t *testing.T) {
	// An offline HF cache holding acme/tiny in the hub layout.
	cache := t.TempDir()
	commit := "0123456789abcdef0123456789abcdef01234567"
	snap := filepath.Join(cache, "models--acme--tiny", "snapshots", commit)
	os.MkdirAll(snap, 0o755)
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/tokenizers/tiny", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(snap, f), data, 0o644)
	}
	os.MkdirAll(filepath.Join(cache, "models--acme--tiny", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--acme--tiny", "refs", "main"), []byte(commit), 0o644)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	startest.RunDir(t, "../../testdata/tokenizers", startest.Options{Modules: []*host.Module{startokenizers.Module}})
}

// Starlark literals cannot hold invalid UTF-8, but strings from files can.
func TestEncodeInvalidUTF8(t *testing.T) {
	tok := startokenizers.New(tokenizer.NewLocalByte())
	enc, _ := tok.Attr("encode")
	_, err := starlark.Call(&starlark.Thread{}, enc, starlark.Tuple{starlark.String("ok\n\xffx")}, nil)
	if err == nil || !strings.Contains(err.Error(), "encode: text: invalid UTF-8 at byte 3 (line 2, column 1)") {
		t.Fatalf("err = %v", err)
	}
}
