package renderers

import (
	"slices"
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

type vlKind int

const (
	kindVL        vlKind = iota // qwen3_vl, qwen3_vl_instruct
	kindQwen35                  // qwen3_5*
	kindQwen38                  // qwen3_8_*
	kindNemotron                // nemotron3, _low_thinking, _disable_thinking, _preserve_thinking
	kindNemoUltra               // nemotron3_ultra*
)

// qwenVL covers the Qwen3-VL renderer and everything the cookbook derives
// from it: Qwen3.5/3.6, Qwen3.8 and Nemotron-3.
type qwenVL struct {
	base
	kind           vlKind
	framesThinking bool
	stripHistory   bool
	disable35      bool   // qwen3_5 / qwen3_8 disable: suffix "<think>\n\n</think>\n\n"
	nemoDisable    bool   // nemotron disable: suffix "<think></think>"
	effortSuffix   string // nemotron low/medium: appended to the last user message
	effortText     string // qwen3_8 reasoning instructions
	imageTokens    func(source string) (int, error)
}

// Qwen3.8 reasoning-effort instructions.
var qwen38Effort = map[string]string{
	"xhigh":  "Reasoning effort is set to xhigh. Please think carefully through the task, validate key assumptions, consider plausible alternatives, and prioritize correctness, consistency, and clarity in the final answer.",
	"medium": "",
	"low":    "Reasoning effort is set to low. Keep your thinking brief and focused, moving directly to the conclusion without unnecessary elaboration.",
}

func newQwenVL(name string, tok tokenizer.Tokenizer, kind vlKind) *qwenVL {
	r := &qwenVL{kind: kind, framesThinking: true, stripHistory: true}
	r.base = base{name: name, tok: tok, c: r, self: r, toolCalls: true, roles: []string{"system", "user", "assistant", "tool"}}
	return r
}

func (r *qwenVL) finish() *qwenVL {
	r.ext = !r.stripHistory && r.kind != kindQwen38
	r.disables = r.disable35 || r.nemoDisable
	return r
}

func (r *qwenVL) groupsTools() bool { return r.kind != kindVL }

func (r *qwenVL) isNemo() bool { return r.kind == kindNemotron || r.kind == kindNemoUltra }

func (r *qwenVL) normalize(msgs []Message) []Message {
	switch {
	case r.isNemo():
		if len(msgs) == 0 || msgs[0].Role != "system" {
			return append([]Message{{Role: "system"}}, msgs...)
		}
	case r.kind == kindQwen38:
		return r.normalize38(msgs)
	}
	return msgs
}

func (r *qwenVL) normalize38(msgs []Message) []Message {
	instr := r.effortText
	if len(msgs) > 0 && msgs[0].Role == "system" {
		first, rest := msgs[0], msgs[1:]
		content := first.Content
		if first.IsList() {
			allText := true
			var b strings.Builder
			for _, p := range first.Parts {
				if p.Type != PartText {
					allText = false
				}
				b.WriteString(p.Text)
			}
			if allText {
				content = b.String()
			} else {
				if instr == "" {
					return msgs
				}
				if first.Parts[0].Type == PartText && strings.HasPrefix(first.Parts[0].Text, instr) {
					return msgs
				}
				nf := first
				nf.Parts = append([]Part{{Type: PartText, Text: instr + "\n\n"}}, first.Parts...)
				return append([]Message{nf}, rest...)
			}
		}
		content = strings.TrimSpace(content)
		if content == "" && instr == "" {
			return append([]Message(nil), rest...)
		}
		if instr != "" && !(content == instr || strings.HasPrefix(content, instr+"\n\n")) {
			if content != "" {
				content = instr + "\n\n" + content
			} else {
				content = instr
			}
		}
		nf := first
		nf.Parts = nil
		nf.Content = content
		return append([]Message{nf}, rest...)
	}
	if instr != "" {
		syn := Message{Role: "system", Content: instr}
		for _, m := range msgs {
			if m.Trainable != nil {
				f := false
				syn.Trainable = &f
				break
			}
		}
		return append([]Message{syn}, msgs...)
	}
	return msgs
}

func (r *qwenVL) formatThinking(t string) string {
	switch r.kind {
	case kindVL:
		return "<think>" + t + "</think>"
	case kindNemotron:
		return "<think>\n" + t + "\n</think>\n"
	case kindNemoUltra:
		return "<think>\n" + t + "</think>"
	}
	return "<think>\n" + t + "\n</think>\n\n"
}

func (r *qwenVL) assistantHeaderSuffix(m Message, ctx RenderContext) string {
	switch r.kind {
	case kindVL:
		return ""
	case kindQwen35:
		if ctx.Idx <= ctx.LastUserIndex || m.hasThinking() {
			return ""
		}
		return "<think>\n\n</think>\n\n"
	case kindQwen38:
		if r.stripHistory && ctx.Idx <= ctx.LastUserIndex {
			return ""
		}
		if m.IsList() && m.hasThinking() {
			return ""
		}
		return "<think>\n\n</think>\n\n"
	}
	historical := ctx.Idx < ctx.LastUserIndex
	has := m.hasThinking()
	if has && (!historical || !r.stripHistory) {
		return ""
	}
	if r.kind == kindNemotron && historical && has {
		nonEmptyText := false
		if m.IsList() {
			for _, p := range m.Parts {
				if p.Type == PartText && p.Text != "" {
					nonEmptyText = true
				}
			}
		}
		if nonEmptyText && len(m.ToolCalls) == 0 {
			return "<think></think>\n"
		}
	}
	return "<think></think>"
}

func (r *qwenVL) stripsThinkingFor(m Message, ctx RenderContext) bool {
	if r.kind == kindQwen38 {
		return r.stripHistory && m.Role == "assistant" && ctx.Idx <= ctx.LastUserIndex
	}
	return r.stripHistory && m.Role == "assistant" && !ctx.IsLast
}

func (r *qwenVL) suffixStr(role string, ctx RenderContext) string {
	nl := ""
	if ctx.Idx > 0 {
		nl = "\n"
	}
	if r.disable35 {
		return nl + "<|im_start|>" + role + "\n<think>\n\n</think>\n\n"
	}
	return nl + "<|im_start|>" + role + "\n<think>\n"
}

func (r *qwenVL) formatToolArg(v any) string {
	if r.kind == kindQwen38 {
		if s, ok := v.(string); ok {
			return s
		}
		return PyDumps(v)
	}
	switch v.(type) {
	case *Object, []any:
		return PyDumps(v)
	}
	return PyStr(v)
}

func (r *qwenVL) formatToolCallXML(tc ToolCall) (string, error) {
	var args *Object
	if tc.Arguments != "" {
		v, err := ParseJSON(tc.Arguments)
		if err != nil {
			return "", errorf("tool call %s: arguments are not JSON: %v", tc.Name, err)
		}
		o, ok := v.(*Object)
		if !ok {
			return "", errorf("tool call %s: arguments are not a JSON object", tc.Name)
		}
		args = o
	}
	lines := []string{"<tool_call>\n<function=" + tc.Name + ">"}
	if args != nil {
		for _, k := range args.Keys {
			lines = append(lines, "<parameter="+k+">\n"+r.formatToolArg(args.Values[k])+"\n</parameter>")
		}
	}
	lines = append(lines, "</function>\n</tool_call>")
	return strings.Join(lines, "\n"), nil
}

func (r *qwenVL) formatToolCalls(m Message) (string, error) {
	switch r.kind {
	case kindVL:
		calls := make([]string, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			p, err := toolCallPayload(tc)
			if err != nil {
				return "", err
			}
			calls[i] = "<tool_call>\n" + p + "\n</tool_call>"
		}
		return "\n" + strings.Join(calls, "\n"), nil
	case kindQwen35, kindQwen38:
		visible := false
		if !m.IsList() {
			visible = strings.TrimSpace(m.Content) != ""
		} else {
			for _, p := range m.Parts {
				if (p.Type == PartText && strings.TrimSpace(p.Text) != "") || p.Type == PartImage {
					visible = true
				}
			}
		}
		calls := make([]string, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			x, err := r.formatToolCallXML(tc)
			if err != nil {
				return "", err
			}
			calls[i] = x
		}
		sep := ""
		if visible {
			sep = "\n\n"
		}
		return sep + strings.Join(calls, "\n"), nil
	}
	var b strings.Builder
	for _, tc := range m.ToolCalls {
		x, err := r.formatToolCallXML(tc)
		if err != nil {
			return "", err
		}
		b.WriteString(x + "\n")
	}
	prefix := "\n"
	if r.kind == kindNemotron {
		hasThink, nonEmpty := false, false
		if m.IsList() {
			for _, p := range m.Parts {
				if p.Type == PartThinking {
					hasThink = true
				}
				if p.Type == PartText && p.Text != "" {
					nonEmpty = true
				}
			}
		}
		if hasThink && !nonEmpty {
			prefix = ""
		}
	}
	return prefix + b.String(), nil
}

type vlPart struct {
	image string
	text  string
	isImg bool
}

func (r *qwenVL) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	// Nemotron low/medium thinking: the effort tag goes on the last user message.
	if r.effortSuffix != "" && m.Role == "user" && ctx.Idx == ctx.LastUserIndex {
		if m.IsList() {
			return RenderedMessage{}, errorf("%s is text-only on the last user message; list content is not supported", r.name)
		}
		m.Content += r.effortSuffix
	}
	// Nemotron: every assistant turn after the last user message renders as the produced turn.
	if r.isNemo() && m.Role == "assistant" && ctx.Idx >= ctx.LastUserIndex && !ctx.IsLast {
		ctx.IsLast = true
	}
	// Qwen3.5 family: string content is stripped.
	if r.kind != kindVL && !m.IsList() {
		m.Content = strings.TrimSpace(m.Content)
	}
	nl := ""
	if ctx.Idx > 0 {
		nl = "\n"
	}
	isTool := m.Role == "tool"
	prevTool := r.groupsTools() && ctx.Prev != nil && ctx.Prev.Role == "tool"
	var header string
	if isTool && prevTool {
		if r.isNemo() {
			header = ""
		} else {
			header = "\n"
		}
	} else {
		header = nl + "<|im_start|>" + qwenRole(m.Role) + "\n"
		if m.Role == "assistant" {
			header += r.assistantHeaderSuffix(m, ctx)
		}
	}
	// _preprocess_message_parts
	strip := r.stripsThinkingFor(m, ctx)
	var parts []vlPart
	if !m.IsList() {
		parts = append(parts, vlPart{text: m.Content})
	} else {
		for _, p := range m.Parts {
			switch p.Type {
			case PartText:
				parts = append(parts, vlPart{text: p.Text})
			case PartImage:
				parts = append(parts, vlPart{text: "<|vision_start|>"}, vlPart{isImg: true, image: p.Image}, vlPart{text: "<|vision_end|>"})
			case PartThinking:
				if !strip {
					parts = append(parts, vlPart{text: r.formatThinking(p.Thinking)})
				}
			}
		}
	}
	if isTool {
		closeTag := "\n</tool_response>"
		if r.isNemo() {
			closeTag += "\n"
		}
		parts = append(append([]vlPart{{text: "<tool_response>\n"}}, parts...), vlPart{text: closeTag})
	}
	if len(m.ToolCalls) > 0 {
		s, err := r.formatToolCalls(m)
		if err != nil {
			return RenderedMessage{}, err
		}
		parts = append(parts, vlPart{text: s})
	}
	nextTool := r.groupsTools() && ctx.Next != nil && ctx.Next.Role == "tool"
	if !(isTool && nextTool) {
		parts = append(parts, vlPart{text: "<|im_end|>"})
	}
	// merge consecutive text parts
	var merged []vlPart
	for _, p := range parts {
		if len(merged) > 0 && !p.isImg && !merged[len(merged)-1].isImg {
			merged[len(merged)-1].text += p.text
			continue
		}
		merged = append(merged, p)
	}
	var out []Chunk
	for _, p := range merged {
		if p.isImg {
			n := 0
			if r.imageTokens != nil {
				var err error
				if n, err = r.imageTokens(p.image); err != nil {
					return RenderedMessage{}, err
				}
			}
			out = append(out, Chunk{Image: &ImageRef{Source: p.image, ExpectedTokens: n}})
			continue
		}
		out = append(out, r.enc(p.text))
	}
	// _generation_suffix_in_header
	if r.kind != kindVL && m.Role == "assistant" && ctx.IsLast {
		prefix := r.suffixStr(qwenRole(m.Role), ctx)
		if strings.HasPrefix(header, prefix) {
			if rest := header[len(prefix):]; rest != "" {
				out = append([]Chunk{r.enc(rest)}, out...)
			}
			header = prefix
		}
	}
	h := r.enc(header)
	return RenderedMessage{Header: &h, Output: out}, nil
}

func (r *qwenVL) bosTokens() ([]int, error) { return nil, nil }
func (r *qwenVL) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	switch {
	case r.nemoDisable:
		nl := ""
		if ctx.Idx > 0 {
			nl = "\n"
		}
		c := r.enc(nl + "<|im_start|>" + role + "\n<think></think>")
		return &c, nil
	case r.kind == kindVL:
		return r.defaultGenerationSuffix(role, ctx)
	}
	c := r.enc(r.suffixStr(role, ctx))
	return &c, nil
}
func (r *qwenVL) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *qwenVL) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}
func (r *qwenVL) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	norm := r.normalize(msgs)
	mi, err := r.buildGenerationPrompt(norm, role, prefill)
	return mi, remapErr(err, 0, len(norm)-len(msgs))
}
func (r *qwenVL) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	norm := r.normalize(msgs)
	mi, w, err := r.buildSupervisedExample(norm, tow)
	return mi, w, remapErr(err, 0, len(norm)-len(msgs))
}
func (r *qwenVL) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *qwenVL) StopSequences() (StopSequences, error) {
	id, err := r.special("<|im_end|>")
	return StopSequences{Tokens: []int{id}}, err
}

// normalizeResponse restores the prefilled "<think>\n" (Qwen3.5 family).
func (r *qwenVL) normalizeResponse(resp []int) ([]int, error) {
	if r.kind == kindVL {
		return resp, nil
	}
	prefix := r.tok.Encode("<think>\n", false)
	closeID, err := r.special("</think>")
	if err != nil {
		return nil, err
	}
	starts := len(resp) >= len(prefix) && slices.Equal(resp[:len(prefix)], prefix)
	if !starts && slices.Contains(resp, closeID) {
		return append(append([]int(nil), prefix...), resp...), nil
	}
	return resp, nil
}

func (r *qwenVL) ParseResponse(resp []int) (Message, ParseTermination, error) {
	resp, err := r.normalizeResponse(resp)
	if err != nil {
		return Message{}, "", err
	}
	end, err := r.special("<|im_end|>")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end)
	if err != nil || !term.IsClean() {
		return msg, term, err
	}
	parseThinkAndToolCalls(&msg, r.framesThinking)
	if r.kind != kindVL {
		r.postprocess(&msg)
	}
	return msg, term, nil
}

var (
	functionBlockRE = mustRE(`(?s)^\s*<tool_call>\s*<function=(?P<name>[^>\n]+)>\s*(?P<body>.*?)\s*</function>\s*</tool_call>\s*$`)
	paramBlockRE    = mustRE(`(?s)<parameter=(?P<name>[^>\n]+)>\s*(?P<value>.*?)\s*</parameter>`)
)

func (r *qwenVL) postprocess(m *Message) {
	if r.kind == kindNemotron && m.IsList() {
		seen := false
		for i := range m.Parts {
			p := &m.Parts[i]
			if p.Type == PartThinking {
				seen = true
			} else if seen && p.Type == PartText {
				p.Text = strings.TrimPrefix(p.Text, "\n")
				break
			}
		}
	}
	if m.IsList() {
		seen := false
		for i := range m.Parts {
			p := &m.Parts[i]
			if p.Type == PartThinking {
				p.Thinking = strings.TrimSpace(p.Thinking)
				seen = true
			} else if seen && p.Type == PartText {
				if strings.HasPrefix(p.Text, "\n\n") {
					p.Text = p.Text[2:]
				}
				break
			}
		}
	}
	var remaining []UnparsedToolCall
	for _, u := range m.UnparsedToolCalls {
		if strings.HasPrefix(u.Error, UnterminatedToolBlockError) || !strings.Contains(u.RawText, "<function=") {
			remaining = append(remaining, u)
			continue
		}
		tc, bad := parseQwen35ToolCallXML(u.RawText)
		if bad != nil {
			remaining = append(remaining, *bad)
		} else {
			m.ToolCalls = append(m.ToolCalls, tc)
		}
	}
	m.UnparsedToolCalls = remaining
}

func parseQwen35ToolCallXML(raw string) (ToolCall, *UnparsedToolCall) {
	mm := functionBlockRE.FindStringSubmatch(raw)
	if mm == nil {
		return ToolCall{}, &UnparsedToolCall{RawText: raw, Error: "Malformed Qwen3.5 tool call XML"}
	}
	name := strings.TrimSpace(mm[1])
	body := mm[2]
	if name == "" {
		return ToolCall{}, &UnparsedToolCall{RawText: raw, Error: "Missing function name"}
	}
	args := NewObject()
	pos := 0
	for _, pm := range paramBlockRE.FindAllStringSubmatchIndex(body, -1) {
		if strings.TrimSpace(body[pos:pm[0]]) != "" {
			return ToolCall{}, &UnparsedToolCall{RawText: raw, Error: "Unexpected non-parameter content inside <function> block"}
		}
		pname := strings.TrimSpace(body[pm[2]:pm[3]])
		vtext := strings.Trim(body[pm[4]:pm[5]], "\n")
		if pname == "" {
			return ToolCall{}, &UnparsedToolCall{RawText: raw, Error: "Empty parameter name"}
		}
		var val any = vtext
		if v, err := ParseJSON(vtext); err == nil {
			val = v
		}
		args.Set(pname, val)
		pos = pm[1]
	}
	if strings.TrimSpace(body[pos:]) != "" {
		return ToolCall{}, &UnparsedToolCall{RawText: raw, Error: "Unexpected trailing content inside <function> block"}
	}
	return ToolCall{Name: name, Arguments: PyDumps(args)}, nil
}

func (r *qwenVL) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	switch r.kind {
	case kindVL:
		return []Message{{Role: "system", Content: qwen3ToolsSystem(tools, systemPrompt)}}, nil
	case kindQwen35, kindQwen38:
		toolsText := ""
		if len(tools) > 0 {
			lines := make([]string, len(tools))
			for i, t := range tools {
				lines[i] = PyDumps(t.Object)
			}
			toolsText = "# Tools\n\nYou have access to the following functions:\n\n<tools>\n" + strings.Join(lines, "\n") + "\n</tools>\n\n" + xmlToolInstructions
		}
		content := systemPrompt
		if toolsText != "" {
			content = toolsText
			if systemPrompt != "" {
				content = toolsText + "\n\n" + systemPrompt
			}
		}
		return []Message{{Role: "system", Content: content}}, nil
	}
	toolsText := ""
	if len(tools) > 0 {
		decls := make([]string, len(tools))
		for i, t := range tools {
			decls[i] = nemotronToolDeclaration(t)
		}
		toolsText = "# Tools\n\nYou have access to the following functions:\n\n<tools>\n" + strings.Join(decls, "\n") + "\n</tools>\n\n" + xmlToolInstructions
	}
	content := systemPrompt
	if toolsText != "" {
		content = toolsText
		if systemPrompt != "" {
			content = systemPrompt + "\n\n" + toolsText
		}
	}
	return []Message{{Role: "system", Content: content}}, nil
}

const xmlToolInstructions = "If you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>"

func renderExtraKeys(o *Object, handled ...string) []string {
	var lines []string
	if o == nil {
		return nil
	}
	for _, k := range o.Keys {
		skip := false
		for _, h := range handled {
			if h == k {
				skip = true
			}
		}
		if skip {
			continue
		}
		v := o.Values[k]
		switch v.(type) {
		case *Object, []any:
			lines = append(lines, "<"+k+">"+PyDumps(v)+"</"+k+">")
		default:
			lines = append(lines, "<"+k+">"+PyStr(v)+"</"+k+">")
		}
	}
	return lines
}

func nemotronToolDeclaration(t ToolSpec) string {
	lines := []string{"<function>", "<name>" + t.Name() + "</name>"}
	if d := strings.TrimSpace(t.Description()); d != "" {
		lines = append(lines, "<description>"+d+"</description>")
	}
	lines = append(lines, "<parameters>")
	params := t.Parameters()
	if params != nil {
		if pv, ok := params.Get("properties"); ok {
			if props, ok := pv.(*Object); ok {
				for _, pn := range props.Keys {
					pf, _ := props.Values[pn].(*Object)
					lines = append(lines, "<parameter>", "<name>"+pn+"</name>")
					if tv, ok := pf.Get("type"); ok {
						lines = append(lines, "<type>"+PyStr(tv)+"</type>")
					}
					if _, ok := pf.Get("description"); ok {
						lines = append(lines, "<description>"+strings.TrimSpace(pf.GetString("description"))+"</description>")
					}
					if ev, ok := pf.Get("enum"); ok {
						lines = append(lines, "<enum>"+PyDumps(ev)+"</enum>")
					}
					lines = append(lines, renderExtraKeys(pf, "name", "type", "description", "enum")...)
					lines = append(lines, "</parameter>")
				}
			}
		}
		lines = append(lines, renderExtraKeys(params, "type", "properties", "required")...)
		if rv, ok := params.Get("required"); ok {
			lines = append(lines, "<required>"+PyDumps(rv)+"</required>")
		}
	}
	lines = append(lines, "</parameters>")
	lines = append(lines, renderExtraKeys(t.Object, "type", "name", "description", "parameters")...)
	lines = append(lines, "</function>")
	return strings.Join(lines, "\n")
}
