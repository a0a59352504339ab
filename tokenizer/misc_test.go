package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tkx-dev/tkx/tokenizer/tokenizertest"
)

// onlyDecode hides TokenBytes so DecodeStream takes its generic path.
type onlyDecode struct{ Tokenizer }

func TestDecodeStream(t *testing.T) {
	texts, _ := corpusOnce()
	check := func(t *testing.T, tk Tokenizer, decodeAll func([]int) string) {
		for _, wrap := range []bool{false, true} {
			var st *DecodeStream
			if wrap {
				st = NewDecodeStream(onlyDecode{tk})
			} else {
				st = NewDecodeStream(tk)
			}
			for i, text := range texts {
				ids := tk.Encode(text, false)
				var b strings.Builder
				for _, id := range ids {
					chunk := st.Step(id)
					if strings.HasSuffix(chunk, "\uFFFD") && !strings.Contains(text, "\uFFFD") {
						t.Fatalf("text %d: chunk %q ends in U+FFFD", i, chunk)
					}
					b.WriteString(chunk)
				}
				b.WriteString(st.Flush())
				if want := decodeAll(ids); b.String() != want {
					t.Fatalf("generic=%v text %d: stream %q, decode %q", wrap, i, b.String(), want)
				}
			}
		}
	}
	t.Run("local_byte", func(t *testing.T) {
		tk := NewLocalByte()
		check(t, tk, tk.Decode)
	})
	t.Run("qwen3", func(t *testing.T) {
		tk := cachedTokenizer(t, "qwen3", true)
		check(t, tk, tk.DecodeRaw)
	})
	// A truncated character at the end is released by Flush as U+FFFD.
	tk := NewLocalByte()
	st := NewDecodeStream(tk)
	if got := st.Step(0xE4) + st.Step(0xB8); got != "" {
		t.Fatalf("partial character released: %q", got)
	}
	if got := st.Flush(); got != "\uFFFD" {
		t.Fatalf("Flush = %q", got)
	}
}

// TestTransformersConfig checks what tokenizer_config.json changes, the
// way transformers' AutoTokenizer applies it.
func TestTransformersConfig(t *testing.T) {
	ds := cachedTokenizer(t, "deepseek_v3", false)
	if ds.BOS() != 0 || ds.EOS() != 1 {
		t.Errorf("deepseek BOS/EOS = %d/%d, want 0/1", ds.BOS(), ds.EOS())
	}
	// LlamaTokenizerFast with add_bos_token: BOS is added (not by the Rust
	// tokenizer.json alone), and not doubled.
	plain := ds.Encode("Hello", false)
	if got := ds.Encode("Hello", true); !reflect.DeepEqual(got, append([]int{0}, plain...)) {
		t.Errorf("deepseek add_special_tokens: %v (plain %v)", got, plain)
	}
	if got := ds.Encode("<｜begin▁of▁sentence｜>Hello", true); !reflect.DeepEqual(got, append([]int{0}, plain...)) {
		t.Errorf("deepseek doubled BOS: %v", got)
	}

	ll := cachedTokenizer(t, "llama3_1", false)
	if ll.BOS() != 128000 || ll.EOS() != 128009 {
		t.Errorf("llama BOS/EOS = %d/%d", ll.BOS(), ll.EOS())
	}
	// clean_up_tokenization_spaces: true in Llama 3's config.
	ids := ll.Encode("Hello , world . It 's", false)
	if got := ll.Decode(ids); got != "Hello, world. It's" {
		t.Errorf("llama Decode with clean-up = %q", got)
	}
	if got := ll.DecodeRaw(ids); got != "Hello , world . It 's" {
		t.Errorf("llama DecodeRaw = %q", got)
	}
	qw := cachedTokenizer(t, "qwen3", false)
	if qw.BOS() != -1 || qw.EOS() != 151645 {
		t.Errorf("qwen BOS/EOS = %d/%d", qw.BOS(), qw.EOS())
	}
	if got := qw.Encode("hi", true); !reflect.DeepEqual(got, qw.Encode("hi", false)) {
		t.Errorf("qwen adds special tokens: %v", got)
	}
	id, ok := qw.TokenToID("<think>")
	if !ok || id != 151667 || qw.IsSpecial(id) {
		t.Errorf("<think> = %d %v special=%v", id, ok, qw.IsSpecial(id))
	}
	if tok, ok := qw.IDToToken(151645); !ok || tok != "<|im_end|>" {
		t.Errorf("IDToToken(151645) = %q", tok)
	}
	if id, ok := qw.TokenToID("Ġthe"); !ok || id != 279 {
		t.Errorf("TokenToID(Ġthe) = %d %v", id, ok)
	}
	if qw.VocabSize() != 151669 {
		t.Errorf("qwen vocab size %d", qw.VocabSize())
	}
	gp := cachedTokenizer(t, "gptoss", false)
	if gp.EOS() != 200002 || gp.BOS() != 199998 {
		t.Errorf("gpt-oss BOS/EOS = %d/%d", gp.BOS(), gp.EOS())
	}
}

func TestMalformedTokenizerJSON(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{`, "invalid JSON"},
		{`{"added_tokens":[]}`, `missing field "model"`},
		{`{"model":{"type":"WordPiece","vocab":{}}}`, `model.type: "WordPiece" is not supported`},
		{`{"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}`, `model.merges[0]: token "b" is not in model.vocab`},
		{`{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`, `model.merges[0]: merged token "ab"`},
		{`{"model":{"type":"BPE","vocab":{"a":0},"merges":["a  b c"]}}`, `model.merges[0]: "a  b c" is not two tokens`},
		{`{"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}}`, `model.vocab["a"]: invalid JSON at byte 36 (line 1): want an integer`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(?<"},"behavior":"Isolated"}}`, `pre_tokenizer.pattern.Regex`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"String":" "},"behavior":"Sideways"}]}}`, `pre_tokenizer.pretokenizers[0].behavior: unknown "Sideways"`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"normalizer":{"type":"Precompiled"}}`, `normalizer.type: normalizer "Precompiled" is not supported`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"decoder":{"kind":"x"}}`, `decoder: missing "type"`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"added_tokens":[{"content":"x"}]}`, `added_tokens[0]: missing "id"`},
		{`{"model":{"type":"BPE","vocab":{},"merges":[]},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}}],"special_tokens":{}}}`, `post_processor.single[0]: special token "<s>" is not in post_processor.special_tokens`},
	}
	for _, c := range cases {
		_, err := ParseHF("bad.json", []byte(c.json), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s\n error %v\n want it to contain %q and the file name", c.json, err, c.want)
		}
	}
	_, err := ParseHF("t.json", []byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`), []byte(`{"eos_token":"</s>"}`))
	if err == nil || !strings.Contains(err.Error(), `eos_token: "</s>" is not in the vocabulary`) {
		t.Errorf("config error = %v", err)
	}
}

// TestSmallBPE exercises the BPE model on a hand-made vocabulary: merge
// order, byte fallback, unk, added-token flags and the decoders.
func TestSmallBPE(t *testing.T) {
	js := `{
	  "added_tokens":[
	    {"id":10,"content":"<s>","special":true,"normalized":false},
	    {"id":11,"content":"[M]","special":true,"lstrip":true,"rstrip":true,"normalized":false},
	    {"id":12,"content":"ab","special":false,"single_word":true,"normalized":true}],
	  "normalizer":{"type":"Sequence","normalizers":[{"type":"Lowercase"},{"type":"Replace","pattern":{"String":"!"},"content":"?"}]},
	  "pre_tokenizer":{"type":"WhitespaceSplit"},
	  "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
	     "special_tokens":{"<s>":{"id":"<s>","ids":[10],"tokens":["<s>"]}}},
	  "decoder":{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Fuse"}]},
	  "model":{"type":"BPE","unk_token":"?","byte_fallback":true,"fuse_unk":true,
	    "vocab":{"a":0,"b":1,"c":2,"bc":3,"abc":4,"<0xC3>":5,"<0xA9>":6,"?":7,"ab":8},
	    "merges":[["b","c"],["a","bc"],["a","b"]]}}`
	tk, err := ParseHF("small", []byte(js), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text string
		want []int
	}{
		{"abc", []int{4}},            // b c first (rank 0), then a bc
		{"ABC", []int{4}},            // lowercased
		{"é", []int{5, 6}},           // byte fallback
		{"x", []int{7}},              // unknown
		{"xx", []int{7}},             // fuse_unk
		{"<s>abc", []int{10, 4}},     // added special token
		{"a [M] b", []int{0, 11, 1}}, // lstrip/rstrip eat the spaces
		{"ab cab", []int{12, 2, 8}},  // single_word: only the standalone "ab"
	}
	for _, c := range cases {
		if got := tk.Encode(c.text, false); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	if got := tk.Encode("abc", true); !reflect.DeepEqual(got, []int{10, 4}) {
		t.Errorf("with BOS: %v", got)
	}
	if got := tk.Decode([]int{4, 5, 6}); got != "abcé" {
		t.Errorf("Decode = %q", got)
	}
	// An invalid byte run: one U+FFFD per byte, as HF's ByteFallback.
	if got := tk.Decode([]int{4, 5, 6, 5}); got != "abc\uFFFD\uFFFD\uFFFD" {
		t.Errorf("Decode = %q", got)
	}
	if tk.BOS() != 10 {
		t.Errorf("BOS from template = %d", tk.BOS())
	}
}

func TestValidateTextAndLoad(t *testing.T) {
	if err := ValidateText("ok é"); err != nil {
		t.Fatal(err)
	}
	err := ValidateText("ab\ncd\xffe")
	if err == nil || !strings.Contains(err.Error(), "byte 5 (line 2, column 3)") {
		t.Fatalf("ValidateText = %v", err)
	}
	// Encode of invalid UTF-8 keeps the bytes (byte-level BPE).
	lb := NewLocalByte()
	if got := lb.Encode("a\xff", false); !reflect.DeepEqual(got, []int{'a', 0xFF}) {
		t.Fatalf("%v", got)
	}
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "neither tokenizer.json nor tiktoken.model") {
		t.Fatalf("Load(empty dir) = %v", err)
	}
	if p, ok := tokenizertest.Find(t, "qwen3", "tokenizer.json"); ok {
		tk, err := Load(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		if tk.EOS() != 151645 || !utf8.ValidString(tk.Decode(tk.Encode("héllo", false))) {
			t.Fatal("Load(dir) qwen3")
		}
	}
}

// TestConcurrentEncode shares one tokenizer (and its BPE cache) between
// goroutines, as parallel_map in recipes does; run with -race.
func TestConcurrentEncode(t *testing.T) {
	tk, err := LoadHF("../testdata/tokenizers/tiny/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	want := tk.Encode("hi hi hih hi<|end|>", false)
	done := make(chan []int)
	for g := 0; g < 8; g++ {
		go func() {
			var last []int
			for i := 0; i < 200; i++ {
				last = tk.Encode("hi hi hih hi<|end|>", false)
			}
			done <- last
		}()
	}
	for g := 0; g < 8; g++ {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Fatalf("goroutine result %v, want %v", got, want)
		}
	}
}

// TestRoundTripBytes: any bytes (invalid UTF-8 included) encode without
// panicking and decode back (U+FFFD for the invalid parts) on tokenizers
// without a normalizer.
func TestRoundTripBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", " ", "\n", "é", "中", "😀", "\xff", "\xe4\xb8", "\x80", "<|im_end|>", "'s", "1234", "\t", "\r\n"}
	var inputs []string
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for n := rng.IntN(20); n >= 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		inputs = append(inputs, b.String())
	}
	for _, name := range goldNames {
		tk := cachedTokenizer(t, name, true)
		for _, s := range inputs {
			ids := tk.Encode(s, false)
			if name == "qwen3" {
				continue // NFC may change valid text; no panic is the check
			}
			if got := tk.DecodeRaw(ids); got != lossyUTF8([]byte(s)) {
				t.Fatalf("%s: %q round-trips to %q", name, s, got)
			}
		}
	}
}

// TestLongWords: the heap-based merge for long words agrees with the
// quadratic scan, and a 200 KB word does not take quadratic time.
func TestLongWords(t *testing.T) {
	tk := cachedTokenizer(t, "qwen3", true)
	rng := rand.New(rand.NewPCG(5, 6))
	letters := []string{"a", "b", "e", "r", "t", "in", "on", "é", "中"}
	for i := 0; i < 200; i++ {
		var b strings.Builder
		for n := 65 + rng.IntN(200); n > 0; n-- {
			b.WriteString(letters[rng.IntN(len(letters))])
		}
		w := b.String()
		var syms []int32
		for k := 0; k < len(w); k++ {
			syms = append(syms, tk.model.byteID[w[k]])
		}
		long := tk.model.mergeLong(append([]int32(nil), syms...))
		// The quadratic path, forced by calling it on the same symbols.
		short := quadraticMerge(tk.model, syms)
		if !reflect.DeepEqual(long, short) {
			t.Fatalf("word %q: heap %v, scan %v", w, long, short)
		}
	}
	big := strings.Repeat("ab", 100000)
	if ids := tk.Encode(big, false); tk.DecodeRaw(ids) != big {
		t.Fatal("200 KB word does not round-trip")
	}
}

func quadraticMerge(m *bpe, syms []int32) []int32 {
	syms = append([]int32(nil), syms...)
	for len(syms) > 1 {
		best, bestRank, bestID := -1, int32(0), int32(0)
		for i := 0; i+1 < len(syms); i++ {
			if r, id, ok := m.pairMerge(syms[i], syms[i+1]); ok && (best < 0 || r < bestRank) {
				best, bestRank, bestID = i, r, id
			}
		}
		if best < 0 {
			break
		}
		syms[best] = bestID
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}
