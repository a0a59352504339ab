package renderers

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/tokenizer/tokenizertest"
)

// jinjaFor builds the generic template renderer for a fixture's template.
func jinjaFor(t *testing.T, fx fixture) *Jinja {
	var cfg JinjaConfig
	switch fx.Source[0] {
	case "npm":
		p, ok := tokenizertest.Find(t, fx.Source[1], "tokenizer_config.json")
		if !ok {
			return nil
		}
		c, err := LoadJinjaConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg = c
	case "file":
		data, err := os.ReadFile(filepath.Join("testdata", "templates", fx.Source[1]))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ChatTemplate = string(data)
	}
	if b, ok := fx.SpecialTokens["bos_token"]; ok {
		cfg.BOSToken = b
	}
	cfg.Extra = fx.Kwargs
	cfg.Date, _ = time.Parse("2006-01-02", fx.Date)
	tok, _ := realTokenizerFor(t, fx.Renderer)
	if tok == nil {
		tok = newSpecialByteTok()
	}
	j, err := NewJinja("jinja:"+fx.Source[1], tok, cfg)
	if err != nil {
		if fx.Source[1] == "gpt_oss.jinja" {
			// gonja v2.9.1 cannot parse `(a if c else b) + "..."` (line 298).
			t.Logf("%s: gonja cannot compile this template: %.200s", fx.Source[1], err)
			return nil
		}
		t.Fatalf("%s: %v", fx.Source[1], err)
	}
	return j
}

// TestJinjaAgainstPython: gonja with our tojson renders every fixture's real
// template byte for byte like Python's jinja2 did.
func TestJinjaAgainstPython(t *testing.T) {
	counts := map[string][2]int{}
	for _, fx := range loadFixtures(t) {
		if len(fx.Source) != 2 {
			continue
		}
		j := jinjaFor(t, fx)
		if j == nil {
			continue
		}
		var msgs []Message
		for _, raw := range fx.Messages {
			m, err := MessageFromJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		if len(fx.Tools) > 0 {
			var tools []ToolSpec
			for _, raw := range fx.Tools {
				ts, _ := ParseToolSpec(string(raw))
				tools = append(tools, ts)
			}
			pre, _ := j.ConversationPrefixWithTools(tools, "")
			msgs = append(pre, msgs...)
		}
		key := fx.Source[1]
		c := counts[key]
		c[1]++
		got, err := j.RenderText(msgs, fx.Mode == "generation")
		if err != nil {
			t.Errorf("%s/%s/%s: %v", key, fx.Mode, fx.Case, err)
			counts[key] = c
			continue
		}
		if fx.Mode == "supervised" {
			got = strings.TrimSuffix(got, "\n")
		}
		if got != fx.Expected {
			t.Errorf("%s %s/%s: gonja differs from jinja2\n got: %q\nwant: %q", key, fx.Mode, fx.Case, got, fx.Expected)
		} else {
			c[0]++
		}
		counts[key] = c
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("jinja cross-check %-28s %d/%d equal to Python jinja2", k, counts[k][0], counts[k][1])
	}
}

// The Jinja renderer as a renderer: prompts equal the hand-written
// renderer's where the cookbook matches the template, and supervised
// weights cover exactly the last assistant turn.
func TestJinjaRendererCrossCheck(t *testing.T) {
	ends := map[string]string{"qwen3": "<|im_end|>", "llama3": "<|eot_id|>", "deepseekv3": dsTok("end▁of▁sentence"), "kimi_k2": "<|im_end|>"}
	n := map[string]int{}
	for _, fx := range loadFixtures(t) {
		end, ok := ends[fx.Renderer]
		if !ok || fx.Divergent != "" || len(fx.Source) != 2 || len(fx.Tools) > 0 {
			continue
		}
		j := jinjaFor(t, fx)
		if j == nil {
			continue
		}
		j.cfg.EOSToken = end
		tok := j.Tokenizer()
		r, _ := Get(fx.Renderer, tok)
		msgs := fixtureMessages(t, fx, r)
		if fx.Mode == "generation" {
			a, err := j.BuildGenerationPrompt(msgs, "assistant", "")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := r.BuildGenerationPrompt(msgs, "assistant", "")
			ai, _ := a.Ints()
			bi, _ := b.Ints()
			if tok.Decode(ai) != tok.Decode(bi) || (fx.Renderer != "deepseekv3" && !slices.Equal(ai, bi)) {
				t.Errorf("%s/%s: jinja and %s prompts differ\n%q\n%q", fx.Renderer, fx.Case, fx.Renderer, a.Text(), b.Text())
			}
			n[fx.Renderer]++
			continue
		}
		mi, w, err := j.BuildSupervisedExample(msgs, LastAssistantMessage)
		if err != nil {
			t.Fatalf("%s/%s: %v", fx.Renderer, fx.Case, err)
		}
		ids, _ := mi.Ints()
		var trained []int
		for i, id := range ids {
			if w[i] > 0 {
				trained = append(trained, id)
			}
		}
		txt := tok.Decode(trained)
		last, _ := MessageFromJSON(fx.Messages[len(fx.Messages)-1])
		if !strings.HasSuffix(txt, end) || strings.Count(txt, end) != 1 || !strings.Contains(txt, tok.Decode(tok.Encode(strings.TrimSpace(last.Text()), false))) {
			t.Errorf("%s/%s: trained span %q", fx.Renderer, fx.Case, txt)
		}
		n[fx.Renderer]++
	}
	t.Logf("jinja renderer cross-checked against the hand-written renderers: %v", n)
}
