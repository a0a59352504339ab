package renderers

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
)

// Random conversations and random token streams never panic any renderer:
// they render, or fail with an error naming the message.
func TestNoPanics(t *testing.T) {
	tok := newSpecialByteTok()
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"", "a", " ", "\n", "<think>", "</think>", "<tool_call>", "</tool_call>", "<|im_end|>", "{", "}", "\"x\": 1",
		"<|start|>", "<|message|>", "<|call|>", "<|return|>", dsTok("tool▁calls▁begin"), dsTok("tool▁call▁begin"), "é", "\xff", "🚀",
		"<function=f>", "<parameter=p>", "</parameter>", "</function>", "<|tool_calls_section_begin|>", "functions.f:0", "<|tool_call_begin|>"}
	str := func() string {
		s := ""
		for n := rng.Intn(5); n > 0; n-- {
			s += pieces[rng.Intn(len(pieces))]
		}
		return s
	}
	roles := []string{"system", "user", "assistant", "tool", "developer", "tool_declare", "x"}
	var all []Renderer
	for _, name := range Names() {
		r, err := Get(name, tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all = append(all, r)
	}
	for _, f := range []string{"deepseek_v3_1.jinja", "kimi_k2_thinking.jinja"} {
		data, err := os.ReadFile("testdata/templates/" + f)
		if err != nil {
			t.Fatal(err)
		}
		j, err := NewJinja(f, tok, JinjaConfig{ChatTemplate: string(data), EOSToken: "<|im_end|>"})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	for _, r := range all {
		name := r.Name()
		for iter := 0; iter < 150; iter++ {
			var msgs []Message
			for n := rng.Intn(6); n > 0; n-- {
				m := Message{Role: roles[rng.Intn(len(roles))], Content: str(), Name: str(), ToolCallID: str()}
				if rng.Intn(3) == 0 {
					m.Content = ""
					m.Parts = []Part{}
					for k := rng.Intn(3); k > 0; k-- {
						m.Parts = append(m.Parts, Part{Type: []string{"text", "thinking", "image", "audio"}[rng.Intn(4)], Text: str(), Thinking: str(), Image: "img"})
					}
				}
				if rng.Intn(4) == 0 {
					m.ToolCalls = []ToolCall{{Name: "f", Arguments: []string{"{}", `{"a": [1, {"b": null}]}`, str()}[rng.Intn(3)]}}
				}
				if rng.Intn(5) == 0 {
					b := rng.Intn(2) == 0
					m.Trainable = &b
				}
				msgs = append(msgs, m)
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s: panic %v on %+v", name, p, msgs)
					}
				}()
				_, _ = r.BuildGenerationPrompt(msgs, "assistant", str())
				for _, tow := range TrainOnWhatValues {
					_, _, _ = r.BuildSupervisedExample(msgs, tow)
				}
				_, _ = r.BuildSupervisedExamples(msgs, LastAssistantTurn)
				var resp []int
				for n := rng.Intn(30); n > 0; n-- {
					if rng.Intn(4) == 0 {
						resp = append(resp, 1000+rng.Intn(len(allSpecials)))
					} else {
						resp = append(resp, rng.Intn(256))
					}
				}
				_, _, _ = r.ParseResponse(resp)
				_, _, _ = r.ParseResponse(tok.Encode(str()+str()+str(), false))
			}()
		}
	}
	_ = fmt.Sprint()
}
