package renderers

import (
	"regexp"
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// deepseek covers deepseekv3 (= deepseekv3_disable_thinking) and deepseekv3_thinking.
type deepseek struct {
	base
	thinking         bool
	systemRoleAsUser bool
	stripHistory     bool
}

func newDeepSeek(name string, tok tokenizer.Tokenizer, thinking bool) *deepseek {
	r := &deepseek{thinking: thinking, stripHistory: true}
	r.base = base{name: name, tok: tok, c: r, self: r, toolCalls: true, roles: []string{"system", "user", "assistant", "tool"}}
	r.ext = !thinking || !r.stripHistory
	return r
}

const dsBar = "\uff5c" // fullwidth vertical line

func dsTok(name string) string { return "<" + dsBar + name + dsBar + ">" }

func (r *deepseek) sp(name string) (Chunk, error) {
	s := dsTok(name)
	id, err := r.special(s)
	if err != nil {
		return Chunk{}, err
	}
	return r.tokChunk(id, s), nil
}

var thinkStripRE = regexp.MustCompile(`(?s)<think>.*?</think>`)

func (r *deepseek) renderBase(m Message, ctx RenderContext) (RenderedMessage, error) {
	followsTool := ctx.Prev != nil && ctx.Prev.Role == "tool"
	var header []Chunk
	var out string
	switch m.Role {
	case "system":
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		switch {
		case ctx.Idx == 0:
		case r.systemRoleAsUser:
			c, err := r.sp("User")
			if err != nil {
				return RenderedMessage{}, err
			}
			header = []Chunk{c}
		default:
			return RenderedMessage{}, errorf("DeepSeek only supports a system message at the start of the conversation")
		}
		out = text
	case "user":
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		c, err := r.sp("User")
		if err != nil {
			return RenderedMessage{}, err
		}
		header, out = []Chunk{c}, text
	case "assistant":
		strip := r.stripHistory && len(m.ToolCalls) == 0 && !ctx.IsLast
		if m.IsList() {
			var b strings.Builder
			for _, p := range m.Parts {
				switch p.Type {
				case PartThinking:
					if !strip {
						b.WriteString("<think>" + p.Thinking + "</think>")
					}
				case PartText:
					b.WriteString(p.Text)
				case PartImage:
					return RenderedMessage{}, errorf("DeepSeek-V3 is text-only; image parts cannot be rendered")
				}
			}
			out = b.String()
		} else {
			out = m.Content
		}
		if !followsTool {
			c, err := r.sp("Assistant")
			if err != nil {
				return RenderedMessage{}, err
			}
			header = []Chunk{c}
		}
	case "tool":
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		header = []Chunk{r.enc(dsTok("tool▁output▁begin"))}
		out = text + dsTok("tool▁output▁end")
	}
	if len(m.ToolCalls) > 0 {
		out += dsTok("tool▁calls▁begin")
		for _, tc := range m.ToolCalls {
			out += dsTok("tool▁call▁begin") + tc.Name + dsTok("tool▁sep") + tc.Arguments + dsTok("tool▁call▁end")
		}
		out += dsTok("tool▁calls▁end")
	}
	outChunks := []Chunk{r.enc(out)}
	if m.Role == "assistant" && m.contentTruthy() {
		e, err := r.sp("end▁of▁sentence")
		if err != nil {
			return RenderedMessage{}, err
		}
		outChunks = append(outChunks, e)
	}
	rm := RenderedMessage{Output: outChunks}
	if len(header) > 0 {
		h := mergeChunks(header)
		rm.Header = &h
	}
	return rm, nil
}

func mergeChunks(cs []Chunk) Chunk {
	var out Chunk
	for _, c := range cs {
		out.Tokens = append(out.Tokens, c.Tokens...)
		out.Text += c.Text
	}
	return out
}

func (r *deepseek) appendToHeader(rm RenderedMessage, c Chunk) RenderedMessage {
	var cs []Chunk
	if rm.Header != nil {
		cs = append(cs, *rm.Header)
	}
	h := mergeChunks(append(cs, c))
	rm.Header = &h
	return rm
}

func (r *deepseek) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	followsTool := ctx.Prev != nil && ctx.Prev.Role == "tool"
	if !r.thinking {
		if m.Role == "assistant" && !followsTool {
			var text string
			if m.IsList() {
				text = m.Text()
			} else {
				text = thinkStripRE.ReplaceAllString(m.Content, "")
			}
			m.Parts, m.Content = nil, text
		}
		rm, err := r.renderBase(m, ctx)
		if err != nil {
			return rm, err
		}
		if m.Role == "assistant" && !followsTool {
			rm = r.appendToHeader(rm, r.enc("</think>"))
		}
		return rm, nil
	}
	rm, err := r.renderBase(m, ctx)
	if err != nil {
		return rm, err
	}
	isTurn := m.Role == "assistant" && !followsTool
	if isTurn && r.stripHistory && !ctx.IsLast {
		return r.appendToHeader(rm, r.enc("</think>")), nil
	}
	if isTurn && ctx.IsLast && m.contentTruthy() && !m.hasThinking() {
		empty := r.enc("<think></think>")
		first := rm.Output[0]
		rm.Output = append([]Chunk{{Tokens: append(empty.Tokens, first.Tokens...), Text: empty.Text + first.Text}}, rm.Output[1:]...)
	}
	return rm, nil
}

func (r *deepseek) bosTokens() ([]int, error) {
	c, err := r.sp("begin▁of▁sentence")
	return c.Tokens, err
}
func (r *deepseek) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	return r.defaultGenerationSuffix(role, ctx)
}
func (r *deepseek) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *deepseek) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}
func (r *deepseek) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	if r.thinking && !(len(msgs) > 0 && msgs[len(msgs)-1].Role == "tool") {
		prefill = "<think>" + prefill
	}
	return r.buildGenerationPrompt(msgs, role, prefill)
}
func (r *deepseek) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	return r.buildSupervisedExample(msgs, tow)
}
func (r *deepseek) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *deepseek) StopSequences() (StopSequences, error) {
	c, err := r.sp("end▁of▁sentence")
	return StopSequences{Tokens: c.Tokens}, err
}

var (
	dsCallsRE    = regexp.MustCompile(`(?s)` + regexp.QuoteMeta(dsTok("tool▁calls▁begin")) + `(.*?)` + regexp.QuoteMeta(dsTok("tool▁calls▁end")))
	dsCallRE     = regexp.MustCompile(`(?s)` + regexp.QuoteMeta(dsTok("tool▁call▁begin")) + `(\w+)` + regexp.QuoteMeta(dsTok("tool▁sep")) + `(.*?)` + regexp.QuoteMeta(dsTok("tool▁call▁end")))
	dsCallsStrip = regexp.MustCompile(`(?s)\s*` + regexp.QuoteMeta(dsTok("tool▁calls▁begin")) + `.*?` + regexp.QuoteMeta(dsTok("tool▁calls▁end")))
)

func (r *deepseek) ParseResponse(resp []int) (Message, ParseTermination, error) {
	resp, err := r.normalizeForStream(resp)
	if err != nil {
		return Message{}, "", err
	}
	return r.parseContent(resp, false)
}

// parseContent is _parse_response_content; allowMissingStop parses a
// truncated response too (streaming).
func (r *deepseek) parseContent(resp []int, allowMissingStop bool) (Message, ParseTermination, error) {
	end, err := r.sp("end▁of▁sentence")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end.Tokens[0])
	if err != nil || (!term.IsClean() && !allowMissingStop) {
		return msg, term, err
	}
	content := msg.Content
	if cm := dsCallsRE.FindStringSubmatch(content); cm != nil {
		for _, m := range dsCallRE.FindAllStringSubmatch(cm[1], -1) {
			args := strings.TrimSpace(m[2])
			if _, err := ParseJSON(args); err != nil {
				msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, UnparsedToolCall{RawText: m[0], Error: "Invalid JSON: " + err.Error()})
			} else {
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{Name: m[1], Arguments: args})
			}
		}
	}
	for _, pair := range [][2]string{{dsTok("tool▁calls▁begin"), dsTok("tool▁calls▁end")}, {dsTok("tool▁call▁begin"), dsTok("tool▁call▁end")}} {
		if d := detectUnterminated(content, pair[0], pair[1]); d != nil {
			msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, *d)
			break
		}
	}
	if len(msg.ToolCalls) > 0 || len(msg.UnparsedToolCalls) > 0 {
		content = strings.TrimSpace(dsCallsStrip.ReplaceAllString(content, ""))
	}
	if parts, ok := parseThinkBlocks(content); ok {
		msg.Parts, msg.Content = parts, ""
	} else {
		msg.Content = content
	}
	return msg, term, nil
}

func (r *deepseek) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	toolsText := ""
	if len(tools) > 0 {
		blocks := make([]string, len(tools))
		for i, t := range tools {
			var params any = t.Parameters()
			if t.Parameters() == nil {
				params, _ = t.Get("parameters")
			}
			blocks[i] = "### " + t.Name() + "\nDescription: " + t.Description() + "\n\nParameters: " + PyDumps(params)
		}
		toolsText = "\n\n## Tools\nYou have access to the following tools:\n\n" + strings.Join(blocks, "\n") +
			"\n\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n" + dsTok("tool▁calls▁begin") + dsTok("tool▁call▁begin") + "tool_call_name" + dsTok("tool▁sep") + "tool_call_arguments" + dsTok("tool▁call▁end") + dsTok("tool▁calls▁end") +
			"\n\nWhere:\n- `tool_call_name` must be an exact match to one of the available tools\n- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n- For multiple tool calls, chain them directly without separators or spaces"
	}
	return []Message{{Role: "system", Content: systemPrompt + toolsText}}, nil
}
