package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// TestTiktokenLlama3 converts Llama 3's tokenizer.json (whose vocabulary
// came from tiktoken: ranks are ids) into tiktoken's file format and checks
// the tiktoken loader and its rank-based BPE against the Rust gold ids.
func TestTiktokenLlama3(t *testing.T) {
	hf := cachedTokenizer(t, "llama3_1", true)
	var b strings.Builder
	for id := 0; id < 128000; id++ {
		tb, _ := hf.TokenBytes(id)
		fmt.Fprintf(&b, "%s %d\n", base64.StdEncoding.EncodeToString(tb), id)
	}
	specials := map[string]int{}
	for _, s := range hf.SpecialTokens() {
		id, _ := hf.TokenToID(s)
		specials[s] = id
	}
	tk, err := ParseTiktoken("llama3.tiktoken", []byte(b.String()), TiktokenOptions{
		Pattern: llama3Pattern, Specials: specials, BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"})
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := corpusOnce()
	data, _ := os.ReadFile("testdata/gold_llama3_1.json")
	var g goldFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i, c := range g.Cases {
		got := tk.Encode(texts[i], false)
		if reflect.DeepEqual(got, c.IDs) || len(got)+len(c.IDs) == 0 {
			ok++
		} else {
			t.Errorf("case %d %q:\n got  %v\n want %v", i, trunc(texts[i]), got, c.IDs)
		}
	}
	for i, d := range g.Decode {
		if got := tk.Decode(d.IDs); got != d.Text {
			t.Errorf("decode %d: got %q want %q", i, got, d.Text)
		}
	}
	t.Logf("tiktoken format (llama3_1 vocabulary): %d/%d texts equal to HF Rust tokenizers", ok, len(g.Cases))
	if tk.BOS() != 128000 || tk.EOS() != 128009 {
		t.Errorf("BOS/EOS = %d/%d", tk.BOS(), tk.EOS())
	}
}

// TestKimiFormat checks the Kimi K2 layout (tiktoken.model +
// tokenizer_config.json) on a small synthetic vocabulary: no Kimi file is
// available offline.
func TestKimiFormat(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	rank := 0
	add := func(s string) {
		fmt.Fprintf(&b, "%s %d\n", base64.StdEncoding.EncodeToString([]byte(s)), rank)
		rank++
	}
	for i := 0; i < 256; i++ {
		add(string([]byte{byte(i)}))
	}
	for _, s := range []string{"he", "ll", "hell", "hello", " w", "or", " wor", " world", "漢字", "\xe6\xbc", "AB"} {
		add(s)
	}
	base := rank
	os.WriteFile(filepath.Join(dir, "tiktoken.model"), []byte(b.String()), 0o644)
	cfg := fmt.Sprintf(`{"bos_token":"[BOS]","eos_token":"[EOS]","added_tokens_decoder":{
		"%d":{"content":"[BOS]"},"%d":{"content":"[EOS]"},"%d":{"content":"<|im_end|>"}}}`, base, base+1, base+2)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644)
	tk, err := LoadKimi(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != base+258 || tk.BOS() != base || tk.EOS() != base+1 {
		t.Fatalf("vocab %d BOS %d EOS %d", tk.VocabSize(), tk.BOS(), tk.EOS())
	}
	if id, ok := tk.TokenToID(fmt.Sprintf("<|reserved_token_%d|>", base+100)); !ok || id != base+100 {
		t.Fatalf("reserved token id %d %v", id, ok)
	}
	ids := tk.Encode("hello world漢字ABc<|im_end|>", false)
	var toks []string
	for _, id := range ids {
		bs, _ := tk.TokenBytes(id)
		toks = append(toks, string(bs))
	}
	// Han runs are their own words; "ABc" is one word (A2 alternative).
	want := []string{"hello", " world", "漢字", "AB", "c", "<|im_end|>"}
	if !reflect.DeepEqual(toks, want) {
		t.Fatalf("tokens %q, want %q", toks, want)
	}
	if got := tk.Decode(ids); got != "hello world漢字ABc<|im_end|>" {
		t.Fatalf("decode %q", got)
	}
	if _, err := ParseTiktoken("bad", []byte("aGVsbG8=\n"), TiktokenOptions{Pattern: "x"}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad line error = %v", err)
	}
}
