package renderers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// kimi covers kimi_k2, kimi_k25/k26 (+ _disable_thinking) and kimi_k26_preserve_thinking.
type kimi struct {
	base
	k25          bool
	stripHistory bool
	imageTokens  func(string) (int, error)
}

// KimiDefaultSystemPrompt is inserted when a conversation has no system message.
const KimiDefaultSystemPrompt = "You are Kimi, an AI assistant created by Moonshot AI."

func newKimi(name string, tok tokenizer.Tokenizer, k25, disable, preserve bool) *kimi {
	r := &kimi{k25: k25, stripHistory: !preserve}
	r.base = base{name: name, tok: tok, c: r, self: r, disables: disable, toolCalls: true,
		roles: []string{"system", "user", "assistant", "tool", "tool_declare"}}
	return r
}

func (r *kimi) ensureSystem(msgs []Message) []Message {
	def := Message{Role: "system", Content: KimiDefaultSystemPrompt}
	if len(msgs) == 0 {
		return []Message{def}
	}
	switch msgs[0].Role {
	case "tool_declare":
		if len(msgs) >= 2 && msgs[1].Role == "system" {
			return msgs
		}
		return append([]Message{msgs[0], def}, msgs[1:]...)
	case "system":
		return msgs
	}
	return append([]Message{def}, msgs...)
}

func (r *kimi) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	var header string
	switch m.Role {
	case "user":
		header = "<|im_user|>user<|im_middle|>"
	case "assistant":
		header = "<|im_assistant|>assistant<|im_middle|>"
	case "tool":
		name := m.Name
		if name == "" {
			name = "tool"
		}
		header = "<|im_system|>" + name + "<|im_middle|>## Return of " + m.ToolCallID + "\n"
	default:
		header = "<|im_system|>" + m.Role + "<|im_middle|>"
	}
	var out []Chunk
	switch {
	case m.Role == "assistant":
		thinking, text := m.Thinking(), m.Text()
		if m.IsList() {
			for _, p := range m.Parts {
				if p.Type == PartImage {
					return RenderedMessage{}, errorf("assistant messages cannot carry images in the Kimi format")
				}
			}
		}
		var s string
		if (ctx.InLastAssistantTurn || !r.stripHistory) && thinking != "" {
			s = "<think>" + thinking + "</think>"
		} else {
			s = "<think></think>"
		}
		s += text
		if len(m.ToolCalls) > 0 {
			s += "<|tool_calls_section_begin|>"
			for i, tc := range m.ToolCalls {
				id := tc.ID
				if id == "" {
					id = "functions." + tc.Name + ":" + strconv.Itoa(i)
				}
				s += "<|tool_call_begin|>" + id + "<|tool_call_argument_begin|>" + tc.Arguments + "<|tool_call_end|>"
			}
			s += "<|tool_calls_section_end|>"
		}
		out = []Chunk{r.enc(s + "<|im_end|>")}
	case !m.IsList() || (len(m.Parts) == 1 && m.Parts[0].Type == PartText):
		t, _ := m.ensureText()
		out = []Chunk{r.enc(t + "<|im_end|>")}
	default:
		if !r.k25 {
			return RenderedMessage{}, errorf("multipart/image content is not supported by the Kimi K2 renderer")
		}
		for _, p := range append(append([]Part(nil), m.Parts...), Part{Type: PartText, Text: "<|im_end|>"}) {
			switch p.Type {
			case PartText:
				out = append(out, r.enc(p.Text))
			case PartImage:
				n := 0
				if r.imageTokens != nil {
					var err error
					if n, err = r.imageTokens(p.Image); err != nil {
						return RenderedMessage{}, err
					}
				}
				out = append(out, r.enc("<|media_begin|>image<|media_content|>"), Chunk{Image: &ImageRef{Source: p.Image, ExpectedTokens: n}}, r.enc("<|media_end|>\n"))
			default:
				return RenderedMessage{}, errorf("unsupported content type %q", p.Type)
			}
		}
	}
	h := r.enc(header)
	return RenderedMessage{Header: &h, Output: out}, nil
}

func (r *kimi) bosTokens() ([]int, error) { return nil, nil }
func (r *kimi) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	return r.defaultGenerationSuffix(role, ctx)
}

// turnStart: the produced turn starts after the last assistant message
// without tool calls.
func (r *kimi) turnStart(msgs []Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "assistant" && len(msgs[i].ToolCalls) == 0 {
			return i + 1
		}
	}
	return 0
}
func (r *kimi) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}

func (r *kimi) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	switch {
	case r.k25 && r.disables:
		prefill = "<think></think>" + prefill
	case r.k25:
		prefill = "<think>" + prefill
	}
	norm, at, n := r.ensureSystemAt(msgs)
	mi, err := r.buildGenerationPrompt(norm, role, prefill)
	return mi, remapErr(err, at, n)
}
func (r *kimi) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	norm, at, n := r.ensureSystemAt(msgs)
	mi, w, err := r.buildSupervisedExample(norm, tow)
	return mi, w, remapErr(err, at, n)
}

func (r *kimi) ensureSystemAt(msgs []Message) ([]Message, int, int) {
	norm := r.ensureSystem(msgs)
	at := 0
	if len(msgs) > 0 && msgs[0].Role == "tool_declare" {
		at = 1
	}
	return norm, at, len(norm) - len(msgs)
}

// BuildSupervisedExamples splits at user messages (KimiK2Renderer's rule).
func (r *kimi) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	if tow == LastAssistantMessage || tow == LastAssistantTurn {
		mi, w, err := r.BuildSupervisedExample(msgs, tow)
		if err != nil {
			return nil, err
		}
		return []Example{{mi, w}}, nil
	}
	var cuts []int
	for i, m := range msgs {
		if m.Role == "user" {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) > 0 {
		cuts = cuts[1:]
	}
	cuts = append(cuts, len(msgs))
	var out []Example
	for _, c := range cuts {
		t := tow
		if tow == AllAssistantMessages {
			t = LastAssistantTurn
		}
		mi, w, err := r.BuildSupervisedExample(msgs[:c], t)
		if err != nil {
			return nil, err
		}
		out = append(out, Example{mi, w})
	}
	return out, nil
}

func (r *kimi) StopSequences() (StopSequences, error) {
	id, err := r.special("<|im_end|>")
	return StopSequences{Tokens: []int{id}}, err
}

var (
	kimiSectionRE = regexp.MustCompile(`(?s)<\|tool_calls_section_begin\|>(.*?)<\|tool_calls_section_end\|>|<\|tool_call_section_begin\|>(.*?)<\|tool_call_section_end\|>`)
	kimiCallRE    = regexp.MustCompile(`(?s)<\|tool_call_begin\|>\s*([^<]+:\d+)\s*<\|tool_call_argument_begin\|>\s*(.*?)\s*<\|tool_call_end\|>`)
)

func (r *kimi) ParseResponse(resp []int) (Message, ParseTermination, error) {
	resp, err := r.normalizeForStream(resp)
	if err != nil {
		return Message{}, "", err
	}
	return r.parseContent(resp, false)
}

// parseContent parses content and tool-call sections; allowMissingStop
// parses a truncated response too (streaming).
func (r *kimi) parseContent(resp []int, allowMissingStop bool) (Message, ParseTermination, error) {
	end, err := r.special("<|im_end|>")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end)
	if err != nil || (!term.IsClean() && !allowMissingStop) {
		return msg, term, err
	}
	content := msg.Content
	text := content
	if loc := kimiSectionRE.FindStringSubmatchIndex(content); loc != nil {
		text = content[:loc[0]]
		var section string
		if loc[2] >= 0 {
			section = content[loc[2]:loc[3]]
		} else {
			section = content[loc[4]:loc[5]]
		}
		for _, m := range kimiCallRE.FindAllStringSubmatch(section, -1) {
			id := strings.TrimSpace(m[1])
			args := strings.TrimSpace(m[2])
			if _, err := ParseJSON(args); err != nil {
				msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, UnparsedToolCall{RawText: m[0], Error: "Invalid JSON: " + err.Error()})
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: id, Name: kimiToolName(id), Arguments: args})
		}
	}
	for _, pair := range [][2]string{{"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"}, {"<|tool_call_section_begin|>", "<|tool_call_section_end|>"}, {"<|tool_call_begin|>", "<|tool_call_end|>"}} {
		if d := detectUnterminated(content, pair[0], pair[1]); d != nil {
			msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, *d)
			break
		}
	}
	if parts, ok := parseThinkBlocks(text); ok {
		msg.Parts, msg.Content = parts, ""
	} else {
		msg.Content = text
	}
	return msg, term, nil
}

func kimiToolName(id string) string {
	name, _, _ := strings.Cut(id, ":")
	if _, after, ok := strings.Cut(name, "."); ok {
		return after
	}
	return name
}

func (r *kimi) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	var msgs []Message
	if len(tools) > 0 {
		payload := make([]any, len(tools))
		for i, t := range tools {
			o := NewObject()
			o.Set("type", "function")
			o.Set("function", t.Object)
			payload[i] = o
		}
		if r.k25 {
			ts, err := encodeToolsTypeScript(payload)
			if err != nil {
				return nil, &Error{Renderer: r.name, MsgIndex: -1, Err: fmt.Errorf("tool declaration: %w", err)}
			}
			msgs = append(msgs, Message{Role: "tool_declare", Content: ts})
		} else {
			msgs = append(msgs, Message{Role: "tool_declare", Content: DumpJSON(payload, DumpOptions{ItemSep: ",", KeySep: ":", EnsureASCII: true, SortKeys: true})})
		}
	}
	if systemPrompt == "" {
		systemPrompt = KimiDefaultSystemPrompt
	}
	return append(msgs, Message{Role: "system", Content: systemPrompt}), nil
}
