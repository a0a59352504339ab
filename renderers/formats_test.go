package renderers

import (
	"strings"
	"testing"
)

// Formats of the renderers no shipped chat template covers, pinned to the
// cookbook's definitions (cookbook.md §3 and the Python sources).
func TestFormats(t *testing.T) {
	tok := newSpecialByteTok()
	user := Message{Role: "user", Content: "Hi"}
	sys := Message{Role: "system", Content: "Sys"}
	ans := Message{Role: "assistant", Content: "Hello"}
	think := Message{Role: "assistant", Parts: []Part{{Type: PartThinking, Thinking: "R"}, {Type: PartText, Text: "Hello"}}}
	call := Message{Role: "assistant", Content: "Checking.", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"location": "NYC", "days": 2}`}}}
	res := Message{Role: "tool", Content: "sunny", ToolCallID: "call_1", Name: "get_weather"}
	res2 := Message{Role: "tool", Content: "warm", ToolCallID: "call_2", Name: "get_weather"}
	cases := []struct {
		renderer string
		msgs     []Message
		gen      bool
		want     string
	}{
		{"qwen3_instruct", []Message{sys, user, ans}, false, "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>"},
		{"qwen3_instruct", []Message{user}, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"qwen3_vl_instruct", []Message{user, {Role: "user", Parts: []Part{{Type: PartText, Text: "see "}, {Type: PartImage, Image: "cat.jpg"}, {Type: PartText, Text: " ok"}}}}, true,
			"<|im_start|>user\nHi<|im_end|>\n<|im_start|>user\nsee <|vision_start|><image:cat.jpg><|vision_end|> ok<|im_end|>\n<|im_start|>assistant\n"},
		{"qwen3_5", []Message{user}, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"qwen3_5_disable_thinking", []Message{user}, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{"qwen3_5", []Message{user, ans}, false, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello<|im_end|>"},
		{"qwen3_5", []Message{user, think}, false, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nR\n</think>\n\nHello<|im_end|>"},
		{"qwen3_5", []Message{user, call, res, res2}, true,
			"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nChecking.\n\n<tool_call>\n<function=get_weather>\n<parameter=location>\nNYC\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nwarm\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"qwen3_8_low_reasoning", []Message{user}, true, "<|im_start|>system\n" + qwen38Effort["low"] + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"qwen3_8_medium_reasoning", []Message{sys, user}, true, "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"qwen3_8_xhigh_reasoning", []Message{sys, user}, true, "<|im_start|>system\n" + qwen38Effort["xhigh"] + "\n\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"qwen3_8_disable_thinking", []Message{user}, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{"nemotron3", []Message{user}, true, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"nemotron3", []Message{user, ans}, false, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>Hello<|im_end|>"},
		{"nemotron3", []Message{user, think}, false, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nR\n</think>\nHello<|im_end|>"},
		{"nemotron3_disable_thinking", []Message{user}, true, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>"},
		{"nemotron3_low_thinking", []Message{user}, true, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi\n\n{reasoning effort: low}<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"nemotron3_ultra_medium_thinking", []Message{user}, true, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi\n\n{reasoning effort: efficient}<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"nemotron3_ultra", []Message{user, think}, false, "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nR</think>Hello<|im_end|>"},
		{"nemotron3", []Message{user, call, res}, true,
			"<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think></think>Checking.\n<tool_call>\n<function=get_weather>\n<parameter=location>\nNYC\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>\n<|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<|im_end|>\n<|im_start|>assistant\n<think>\n"},
		{"kimi_k25", []Message{user}, true, "<|im_system|>system<|im_middle|>" + KimiDefaultSystemPrompt + "<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think>"},
		{"kimi_k26_disable_thinking", []Message{user}, true, "<|im_system|>system<|im_middle|>" + KimiDefaultSystemPrompt + "<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think></think>"},
		{"kimi_k26_preserve_thinking", []Message{user, think, user}, true, "<|im_system|>system<|im_middle|>" + KimiDefaultSystemPrompt + "<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think>R</think>Hello<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think>"},
		{"kimi_k25", []Message{user, think, user}, true, "<|im_system|>system<|im_middle|>" + KimiDefaultSystemPrompt + "<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think></think>Hello<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think>"},
		{"kimi_k2", []Message{user, {Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: "{}"}}}, {Role: "tool", Content: "ok", ToolCallID: "functions.f:0", Name: "f"}}, true,
			"<|im_system|>system<|im_middle|>" + KimiDefaultSystemPrompt + "<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|><think></think><|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|><|im_end|><|im_system|>f<|im_middle|>## Return of functions.f:0\nok<|im_end|><|im_assistant|>assistant<|im_middle|>"},
		{"gpt_oss_no_sysprompt", []Message{sys, user, think}, false, "<|start|>developer<|message|># Instructions\n\nSys\n\n<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>analysis<|message|>R<|end|><|start|>assistant<|channel|>final<|message|>Hello<|return|>"},
		{"gpt_oss_no_sysprompt", []Message{user, call, res}, true, "<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"location\": \"NYC\", \"days\": 2}<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>sunny<|end|><|start|>assistant"},
	}
	for _, c := range cases {
		r, err := Get(c.renderer, tok)
		if err != nil {
			t.Fatal(err)
		}
		var mi ModelInput
		if c.gen {
			mi, err = r.BuildGenerationPrompt(c.msgs, "assistant", "")
		} else {
			mi, _, err = r.BuildSupervisedExample(c.msgs, LastAssistantMessage)
		}
		if err != nil {
			t.Errorf("%s: %v", c.renderer, err)
			continue
		}
		if got := mi.Text(); got != c.want {
			t.Errorf("%s:\n got: %q\nwant: %q", c.renderer, got, c.want)
		}
	}
}

func TestToolDeclarations(t *testing.T) {
	tok := newSpecialByteTok()
	spec, err := ParseToolSpec(`{"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "City"}, "unit": {"type": "string", "enum": ["c", "f"]}, "days": {"type": "integer", "minimum": 1, "default": 1}}, "required": ["location"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"kimi_k25":                 "# Tools\n\n## functions\nnamespace functions {\n// Get the weather\ntype get_weather = (_: {\n  // City\n  location: string,\n  // minimum: 1\n  // Default: 1\n  days?: number,\n  unit?: \"c\" | \"f\"\n}) => any;\n}\n",
		"kimi_k2":                  `[{"function":{"description":"Get the weather","name":"get_weather","parameters":{"properties":{"days":{"default":1,"minimum":1,"type":"integer"},"location":{"description":"City","type":"string"},"unit":{"enum":["c","f"],"type":"string"}},"required":["location"],"type":"object"}},"type":"function"}]`,
		"gpt_oss_medium_reasoning": "# Instructions\n\nBe nice.\n\n# Tools\n\n## functions\n\nnamespace functions {\n\n// Get the weather\ntype get_weather = (_:\n{\n// City\nlocation: string,\nunit?: \"c\" | \"f\",\ndays?: number, // default: 1\n}) => any;\n\n} // namespace functions",
		"nemotron3":                "Be nice.\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>\n<function>\n<name>get_weather</name>\n<description>Get the weather</description>\n<parameters>\n<parameter>\n<name>location</name>\n<type>string</type>\n<description>City</description>\n</parameter>\n<parameter>\n<name>unit</name>\n<type>string</type>\n<enum>[\"c\", \"f\"]</enum>\n</parameter>\n<parameter>\n<name>days</name>\n<type>integer</type>\n<minimum>1</minimum>\n<default>1</default>\n</parameter>\n<required>[\"location\"]</required>\n</parameters>\n</function>\n</tools>\n\n" + xmlToolInstructions,
	} {
		r, _ := Get(name, tok)
		msgs, err := r.ConversationPrefixWithTools([]ToolSpec{spec}, "Be nice.")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got string
		for _, m := range msgs {
			if m.Role == "tool_declare" || m.Role == "developer" || (m.Role == "system" && strings.Contains(m.Content, "Tools")) {
				got = m.Content
			}
		}
		if got != want {
			t.Errorf("%s:\n got: %q\nwant: %q", name, got, want)
		}
	}
}
