package tokenizer

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/hfhub"
	"github.com/tkx-dev/tkx/hfhub/hubtest"
)

const tinyTokenizerJSON = `{
  "added_tokens":[{"id":5,"content":"<|end|>","special":true,"normalized":false}],
  "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
  "decoder":{"type":"ByteLevel"},
  "model":{"type":"BPE","vocab":{"h":0,"i":1,"hi":2,"Ġ":3,"Ġhi":4},"merges":["h i","Ġ hi"]}}`

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestForModel resolves model names against a fake Hub on loopback.
func TestForModel(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, "models", filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	write("acme/tiny-chat/tokenizer.json", tinyTokenizerJSON)
	write("acme/tiny-chat/tokenizer_config.json", `{"eos_token":"<|end|>"}`)
	write("acme/no-config/tokenizer.json", tinyTokenizerJSON)
	write("acme/sentencepiece/tokenizer.model", "x")
	var tk strings.Builder
	for i := 0; i < 256; i++ {
		fmt.Fprintf(&tk, "%s %d\n", base64.StdEncoding.EncodeToString([]byte{byte(i)}), i)
	}
	write("moonshotai/Kimi-K2.5/tiktoken.model", tk.String())
	write("moonshotai/Kimi-K2.5/tokenizer_config.json", `{"bos_token":"[BOS]","eos_token":"[EOS]","added_tokens_decoder":{"256":{"content":"[BOS]"},"257":{"content":"[EOS]"}}}`)
	// The ungated Llama 3 tokenizer repo (here with the tiny files).
	write(Llama3TokenizerRepo+"/tokenizer.json", tinyTokenizerJSON)
	write(Llama3TokenizerRepo+"/tokenizer_config.json", `{"eos_token":"<|end|>"}`)
	srv := hubtest.New(root)
	defer srv.Close()
	srv.LFSThreshold = 1 << 20
	c := &hfhub.Client{Endpoint: srv.URL, CacheDir: filepath.Join(t.TempDir(), "hub"), HTTP: srv.Client()}
	ctx := context.Background()

	got, err := ForModelWith(ctx, c, "acme/tiny-chat:peft:123")
	if err != nil {
		t.Fatal(err)
	}
	if ids := got.Encode("hi hi<|end|>", false); !reflect.DeepEqual(ids, []int{2, 4, 5}) {
		t.Fatalf("tiny ids %v", ids)
	}
	if got.EOS() != 5 || got.Name() != "acme/tiny-chat" {
		t.Fatalf("EOS %d name %q", got.EOS(), got.Name())
	}
	if _, err := os.Stat(filepath.Join(c.CacheDir, "models--acme--tiny-chat", "snapshots", hubtest.Commit("acme/tiny-chat"), "tokenizer.json")); err != nil {
		t.Fatalf("not in the HF cache layout: %v", err)
	}
	// tokenizer_config.json is optional.
	if _, err := ForModelWith(ctx, c, "acme/no-config"); err != nil {
		t.Fatal(err)
	}
	// Kimi: tiktoken.model at the pinned revision.
	kimi, err := ForModelWith(ctx, c, "moonshotai/Kimi-K2.5")
	if err != nil {
		t.Fatal(err)
	}
	if kimi.BOS() != 256 || kimi.EOS() != 257 || kimi.VocabSize() != 256+258 {
		t.Fatalf("kimi BOS %d EOS %d vocab %d", kimi.BOS(), kimi.EOS(), kimi.VocabSize())
	}
	pinned := false
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/resolve/"+kimiRevisions["moonshotai/Kimi-K2.5"]+"/") {
			pinned = true
		}
	}
	if !pinned {
		t.Fatal("Kimi revision not pinned")
	}
	if lb, err := ForModelWith(ctx, c, "tkx/local-base"); err != nil || lb.VocabSize() != 288 {
		t.Fatalf("local-base: %v", err)
	}
	// Unknown names suggest the closest known ones.
	_, err = ForModelWith(ctx, c, "Qwen/Qwen3-9B")
	if err == nil || !strings.Contains(err.Error(), "unknown model") || !strings.Contains(err.Error(), "closest known: Qwen/Qwen3-8B") {
		t.Fatalf("unknown model error: %v", err)
	}
	if _, err := ForModelWith(ctx, c, "acme/sentencepiece"); err == nil || !strings.Contains(err.Error(), `has no tokenizer.json`) {
		t.Fatalf("repo without tokenizer.json: %v", err)
	}
	if _, err := ForModelWith(ctx, c, "tkx/local-huge"); err == nil || !strings.Contains(err.Error(), "tkx/local-base") {
		t.Fatalf("tkx/local-huge: %v", err)
	}
	if _, err := ForModelWith(ctx, c, "not a name"); err == nil || !strings.Contains(err.Error(), "unknown model") {
		t.Fatalf("bad name: %v", err)
	}
	// Every meta-llama/Llama-3* model uses the ungated tokenizer repo; the
	// gated meta-llama repos are never asked for.
	for _, m := range []string{"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.2-1B:peft"} {
		ll, err := ForModelWith(ctx, c, m)
		if err != nil {
			t.Fatal(err)
		}
		if ll.EOS() != 5 {
			t.Fatalf("%s: EOS %d", m, ll.EOS())
		}
	}
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "meta-llama/") {
			t.Fatalf("gated meta-llama repo requested: %s", r.Path)
		}
	}
	if got := TokenizerRepo("meta-llama/Llama-3.3-70B-Instruct"); got.ID != Llama3TokenizerRepo {
		t.Fatalf("TokenizerRepo = %+v", got)
	}
}

func TestClosest(t *testing.T) {
	if got := Closest("qwen3-8b", KnownModels, 2); len(got) == 0 || got[0] != "Qwen/Qwen3-8B" {
		t.Fatalf("Closest = %v", got)
	}
	if got := Closest("zzzzzzzzzzzzzzzzzzzz", KnownModels, 2); len(got) != 0 {
		t.Fatalf("Closest(far) = %v", got)
	}
}
