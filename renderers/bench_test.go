package renderers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/tokenizer"
)

// benchConversation is a ~4 KB multi-turn chat with prose, code, numbers
// and some non-ASCII, rendered as one supervised example.
func benchConversation() []Message {
	prose := "The quick brown fox jumps over the lazy dog while 3 engineers debate whether 1,024 tokens per second is fast enough; naïve café owners disagree. "
	code := "func add(a, b int) int {\n\treturn a + b // 足し算\n}\n\nfor i := 0; i < 10; i++ {\n\tfmt.Println(add(i, 42))\n}\n"
	msgs := []Message{{Role: "system", Content: "You are a careful assistant who answers with code when useful."}}
	for turn := 0; turn < 4; turn++ {
		msgs = append(msgs,
			Message{Role: "user", Content: fmt.Sprintf("Question %d: %s Can you show me?", turn, strings.Repeat(prose, 2))},
			Message{Role: "assistant", Content: "Sure. " + strings.Repeat(prose, 2) + "\n\n```go\n" + code + "```\n" + strings.Repeat("Done ✓ ", 5)})
	}
	return msgs
}

func benchTokenizer(b *testing.B, pkg string) tokenizer.Tokenizer {
	if pkg == "local" {
		return tokenizer.NewLocalByte()
	}
	p := filepath.Join(repoRoot(), "testdata", ".cache", "tokenizers", pkg, "tokenizer.json")
	tk, err := tokenizer.Load(p)
	if err != nil {
		b.Skipf("%s tokenizer not installed (scripts/test-setup.sh): %v", pkg, err)
	}
	return tk
}

// BenchmarkSupervisedExample renders and tokenizes one supervised example
// (report: tokens/s, run with -cpu 1). The rendered text is written to
// testdata/.cache/render_bench_<renderer>.txt for the Rust comparison
// (renderers/testdata/bench_render_rust.js).
func BenchmarkSupervisedExample(b *testing.B) {
	msgs := benchConversation()
	for _, c := range []struct{ renderer, tok string }{
		{"role_colon", "local"},
		{"qwen3", "qwen3"},
		{"qwen3_instruct", "qwen3"},
		{"llama3", "llama3_1"},
		{"deepseekv3", "deepseek_v3"},
		{"gpt_oss_no_sysprompt", "gptoss"},
	} {
		b.Run(c.renderer, func(b *testing.B) {
			tk := benchTokenizer(b, c.tok)
			r, err := Get(c.renderer, tk)
			if err != nil {
				b.Fatal(err)
			}
			mi, _, err := r.BuildSupervisedExample(msgs, AllAssistantMessages)
			if err != nil {
				b.Fatal(err)
			}
			n := mi.Len()
			if dir := filepath.Join(repoRoot(), "testdata", ".cache"); c.tok != "local" {
				_ = os.WriteFile(filepath.Join(dir, "render_bench_"+c.renderer+".txt"), []byte(mi.Text()), 0o644)
			}
			b.SetBytes(int64(len(mi.Text())))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := r.BuildSupervisedExample(msgs, AllAssistantMessages); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(n), "tokens/example")
		})
	}
}

// BenchmarkEncodeRenderedText is the tokenizer alone on the same text, in
// one call (what apply_chat_template(tokenize=True) does).
func BenchmarkEncodeRenderedText(b *testing.B) {
	msgs := benchConversation()
	for _, c := range []struct{ renderer, tok string }{{"qwen3", "qwen3"}, {"llama3", "llama3_1"}} {
		b.Run(c.renderer, func(b *testing.B) {
			tk := benchTokenizer(b, c.tok)
			r, _ := Get(c.renderer, tk)
			mi, _, _ := r.BuildSupervisedExample(msgs, AllAssistantMessages)
			text := mi.Text()
			n := len(tk.Encode(text, false))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tk.Encode(text, false)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
