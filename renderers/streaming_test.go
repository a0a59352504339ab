package renderers

import (
	"strings"
	"testing"
)

func TestParseResponseStreaming(t *testing.T) {
	tok := newSpecialByteTok()
	for _, name := range []string{"qwen3", "qwen3_5", "deepseekv3_thinking", "kimi_k25", "nemotron3"} {
		r, _ := Get(name, tok)
		if !SupportsStreaming(r) {
			t.Fatalf("%s should stream", name)
		}
		msgs := []Message{{Role: "user", Content: "hi"}, {Role: "assistant", Parts: []Part{{Type: PartThinking, Thinking: "think 🚀 hard"}, {Type: PartText, Text: "answer ✓"}}}}
		p, _ := r.BuildGenerationPrompt(msgs[:1], "", "")
		ex, _, err := r.BuildSupervisedExample(msgs, LastAssistantMessage)
		if err != nil {
			t.Fatal(err)
		}
		pids, _ := p.Ints()
		ids, _ := ex.Ints()
		resp := ids[len(pids):]
		var think, text strings.Builder
		var kinds []DeltaKind
		final, term, err := ParseResponseStreaming(r, resp, func(d Delta) {
			kinds = append(kinds, d.Kind)
			switch d.Kind {
			case DeltaThinking:
				think.WriteString(d.Text)
			case DeltaText:
				text.WriteString(d.Text)
			}
		})
		if err != nil || term != StopSequence {
			t.Fatalf("%s: %v %v", name, term, err)
		}
		if kinds[0] != DeltaHeader || len(kinds) < 4 {
			t.Errorf("%s: deltas %v", name, kinds)
		}
		// deltas carry the raw framing; the final message is parse_response's
		if !strings.Contains(think.String(), "think 🚀 hard") || !strings.Contains(text.String(), "answer ✓") || strings.Contains(text.String(), "<think>") {
			t.Errorf("%s: thinking %q text %q", name, think.String(), text.String())
		}
		whole, _, _ := r.ParseResponse(resp)
		if canonMessage(final) != canonMessage(whole) {
			t.Errorf("%s: streamed final %s != parse_response %s", name, canonMessage(final), canonMessage(whole))
		}
		// truncated: still parsed into blocks, but malformed
		m, term, _ := ParseResponseStreaming(r, resp[:len(resp)-1], func(Delta) {})
		if term != Malformed || m.Thinking() == "" {
			t.Errorf("%s: truncated: %v %+v", name, term, m)
		}
	}
	r, _ := Get("role_colon", tok)
	if _, _, err := ParseResponseStreaming(r, nil, func(Delta) {}); err == nil {
		t.Error("role_colon streams?")
	}
}
