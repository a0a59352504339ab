package renderers

import (
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// qwen3 covers qwen3, qwen3_disable_thinking and qwen3_instruct.
type qwen3 struct {
	base
	framesThinking bool // false for the 2507 instruct models
	stripHistory   bool
}

func newQwen3(name string, tok tokenizer.Tokenizer, frames, disable bool) *qwen3 {
	r := &qwen3{framesThinking: frames, stripHistory: true}
	r.base = base{name: name, tok: tok, c: r, self: r, disables: disable, toolCalls: true,
		roles: []string{"system", "user", "assistant", "tool"}}
	r.ext = !r.stripHistory || !frames
	return r
}

func frameThinking(reasoning string) string {
	return "<think>\n" + strings.Trim(reasoning, "\n") + "\n</think>\n\n"
}

func (r *qwen3) framesProducedTurn(m Message, ctx RenderContext) bool {
	if !r.framesThinking || m.Role != "assistant" {
		return false
	}
	if ctx.LastUserIndex < 0 {
		return false
	}
	return ctx.IsLast || !r.stripHistory
}

func qwenRole(role string) string {
	if role == "tool" {
		return "user"
	}
	return role
}

func (r *qwen3) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	if r.disables && m.Role == "assistant" && ctx.IsLast && m.contentTruthy() && ctx.LastUserIndex < 0 {
		return RenderedMessage{}, errorf("this conversation has no user message, so Qwen3's template writes no empty think block on the produced turn, but the generation prompt always opens one; add a user message, or render with thinking enabled")
	}
	nl := ""
	if ctx.Idx > 0 {
		nl = "\n"
	}
	header := nl + "<|im_start|>" + qwenRole(m.Role) + "\n"
	frames := r.framesProducedTurn(m, ctx)
	hasReasoning := m.hasThinking()
	var out string
	switch {
	case m.IsList():
		parts := m.Parts
		if r.stripHistory && m.Role == "assistant" && !ctx.IsLast {
			parts = removeThinking(parts)
		}
		var b strings.Builder
		after := false
		for _, p := range parts {
			switch p.Type {
			case PartThinking:
				if frames {
					b.WriteString(frameThinking(p.Thinking))
				} else {
					b.WriteString("<think>" + p.Thinking + "</think>")
				}
				after = frames
			case PartText:
				if after {
					b.WriteString(strings.TrimLeft(p.Text, "\n"))
				} else {
					b.WriteString(p.Text)
				}
				after = false
			case PartImage:
				return RenderedMessage{}, errorf("image parts need a vision renderer (qwen3_vl, qwen3_5...); %s is text-only", r.name)
			}
		}
		out = b.String()
	case frames && strings.Contains(m.Content, "</think>"):
		reasoning, rest, _ := strings.Cut(m.Content, "</think>")
		if i := strings.LastIndex(reasoning, "<think>"); i >= 0 {
			reasoning = reasoning[i+len("<think>"):]
		}
		out = frameThinking(reasoning) + strings.TrimLeft(rest, "\n")
	default:
		out = m.Content
	}
	hasText := out != ""
	if frames && !hasReasoning {
		out = frameThinking("") + strings.TrimLeft(out, "\n")
	}
	if m.Role == "tool" {
		out = "<tool_response>\n" + out + "\n</tool_response>"
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]string, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			payload, err := toolCallPayload(tc)
			if err != nil {
				return RenderedMessage{}, err
			}
			calls[i] = "<tool_call>\n" + payload + "\n</tool_call>"
		}
		if hasText {
			out += "\n"
		}
		out += strings.Join(calls, "\n")
	}
	end, err := r.special("<|im_end|>")
	if err != nil {
		return RenderedMessage{}, err
	}
	h := r.enc(header)
	return RenderedMessage{Header: &h, Output: []Chunk{r.encSplit(out), r.tokChunk(end, "<|im_end|>")}}, nil
}

// toolCallPayload is json.dumps({"name": ..., "arguments": json.loads(args)}).
func toolCallPayload(tc ToolCall) (string, error) {
	args, err := ParseJSON(tc.Arguments)
	if err != nil {
		return "", errorf("tool call %s: arguments are not JSON: %v", tc.Name, err)
	}
	o := NewObject()
	o.Set("name", tc.Name)
	o.Set("arguments", args)
	return PyDumps(o), nil
}

func removeThinking(parts []Part) []Part {
	out := make([]Part, 0, len(parts))
	for _, p := range parts {
		if p.Type != PartThinking {
			out = append(out, p)
		}
	}
	return out
}

func (r *qwen3) bosTokens() ([]int, error) { return nil, nil }
func (r *qwen3) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	if r.disables {
		nl := ""
		if ctx.Idx > 0 {
			nl = "\n"
		}
		c := r.enc(nl + "<|im_start|>" + role + "\n<think>\n\n</think>\n\n")
		return &c, nil
	}
	return r.defaultGenerationSuffix(role, ctx)
}
func (r *qwen3) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *qwen3) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}
func (r *qwen3) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	return r.buildGenerationPrompt(msgs, role, prefill)
}
func (r *qwen3) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	return r.buildSupervisedExample(msgs, tow)
}
func (r *qwen3) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *qwen3) StopSequences() (StopSequences, error) {
	id, err := r.special("<|im_end|>")
	return StopSequences{Tokens: []int{id}}, err
}

func (r *qwen3) ParseResponse(resp []int) (Message, ParseTermination, error) {
	end, err := r.special("<|im_end|>")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end)
	if err != nil || !term.IsClean() {
		return msg, term, err
	}
	parseThinkAndToolCalls(&msg, r.framesThinking)
	return msg, term, nil
}

func (r *qwen3) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	return []Message{{Role: "system", Content: qwen3ToolsSystem(tools, systemPrompt)}}, nil
}

func qwen3ToolsSystem(tools []ToolSpec, systemPrompt string) string {
	toolsText := ""
	if len(tools) > 0 {
		lines := make([]string, len(tools))
		for i, t := range tools {
			o := NewObject()
			o.Set("type", "function")
			o.Set("function", t.Object)
			lines[i] = PyDumps(o)
		}
		toolsText = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
			strings.Join(lines, "\n") +
			"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
	}
	if systemPrompt != "" {
		return systemPrompt + "\n\n" + toolsText
	}
	return toolsText
}

// unframeThinking reverses frameThinking so render -> parse is the identity.
func unframeThinking(parts []Part) []Part {
	var out []Part
	after := false
	for _, p := range parts {
		switch p.Type {
		case PartThinking:
			if r := strings.Trim(p.Thinking, "\n"); r != "" {
				out = append(out, Part{Type: PartThinking, Thinking: r})
			}
			after = true
		case PartText:
			t := p.Text
			if after {
				t = strings.TrimLeft(t, "\n")
			}
			out = append(out, Part{Type: PartText, Text: t})
			after = false
		default:
			out = append(out, p)
			after = false
		}
	}
	if out == nil {
		out = []Part{}
	}
	return out
}
