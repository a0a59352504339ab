package renderers

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tkx-dev/tkx/tokenizer"
	"github.com/tkx-dev/tkx/tokenizer/tokenizertest"
)

// specialByteTok is a test tokenizer: every special string of every family
// is one token (ids 1000+), everything else is bytes. It lets the string
// level of every renderer (and parse round trips) run without real
// tokenizer files.
type specialByteTok struct {
	specials []string // longest first
	ids      map[string]int
	bos, eos int
}

var allSpecials = []string{
	"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
	"<tool_response>", "</tool_response>", "<|vision_start|>", "<|vision_end|>",
	"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
	"<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>",
	"<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>",
	"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_end|>",
	"<|tool_call_argument_begin|>", "<|media_begin|>", "<|media_content|>", "<|media_end|>",
	dsTok("begin▁of▁sentence"), dsTok("end▁of▁sentence"), dsTok("User"), dsTok("Assistant"),
	dsTok("tool▁calls▁begin"), dsTok("tool▁calls▁end"), dsTok("tool▁call▁begin"), dsTok("tool▁call▁end"),
	dsTok("tool▁sep"), dsTok("tool▁output▁begin"), dsTok("tool▁output▁end"),
}

func newSpecialByteTok() *specialByteTok {
	t := &specialByteTok{ids: map[string]int{}, bos: -1, eos: -1}
	for i, s := range allSpecials {
		t.ids[s] = 1000 + i
	}
	t.specials = append([]string(nil), allSpecials...)
	sort.Slice(t.specials, func(i, j int) bool { return len(t.specials[i]) > len(t.specials[j]) })
	t.eos = t.ids["<|endoftext|>"]
	return t
}

func (t *specialByteTok) Encode(text string, _ bool) []int {
	var out []int
	for i := 0; i < len(text); {
		matched := false
		if text[i] == '<' {
			for _, s := range t.specials {
				if strings.HasPrefix(text[i:], s) {
					out = append(out, t.ids[s])
					i += len(s)
					matched = true
					break
				}
			}
		}
		if !matched {
			out = append(out, int(text[i]))
			i++
		}
	}
	return out
}

func (t *specialByteTok) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		} else if id >= 1000 && id-1000 < len(allSpecials) {
			b = append(b, allSpecials[id-1000]...)
		}
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}
func (t *specialByteTok) TokenToID(s string) (int, bool) { id, ok := t.ids[s]; return id, ok }
func (t *specialByteTok) IDToToken(id int) (string, bool) {
	if id >= 1000 && id-1000 < len(allSpecials) {
		return allSpecials[id-1000], true
	}
	return "", false
}
func (t *specialByteTok) VocabSize() int { return 1000 + len(allSpecials) }
func (t *specialByteTok) BOS() int       { return t.bos }
func (t *specialByteTok) EOS() int       { return t.eos }
func (t *specialByteTok) Name() string   { return "test/special-bytes" }

var _ tokenizer.Tokenizer = (*specialByteTok)(nil)

// realTokenizerFor returns the HF tokenizer installed by
// scripts/test-setup.sh for a renderer family, or nil when the family has
// none or it is not installed (a failure under tokenizertest.RequireEnv).
var (
	realMu    sync.Mutex
	realCache = map[string]tokenizer.Tokenizer{}
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

func realTokenizerFor(t testing.TB, renderer string) (tokenizer.Tokenizer, string) {
	var pkg string
	switch {
	case renderer == "role_colon":
		return tokenizer.NewLocalByte(), "local-byte"
	case strings.HasPrefix(renderer, "qwen3"):
		pkg = "qwen3"
	case renderer == "llama3":
		pkg = "llama3_1"
	case strings.HasPrefix(renderer, "deepseek"):
		pkg = "deepseek_v3"
	case strings.HasPrefix(renderer, "gpt_oss"):
		pkg = "gptoss"
	default:
		return nil, ""
	}
	realMu.Lock()
	defer realMu.Unlock()
	if tk, ok := realCache[pkg]; ok {
		return tk, pkg
	}
	var tk tokenizer.Tokenizer
	if path, ok := tokenizertest.Find(t, pkg, "tokenizer.json"); ok {
		h, err := tokenizer.Load(path)
		if err != nil {
			t.Fatalf("loading %s: %v", path, err)
		}
		tk = h
	}
	realCache[pkg] = tk
	return tk, pkg
}

func newLocalByteForTest() tokenizer.Tokenizer { return tokenizer.NewLocalByte() }
