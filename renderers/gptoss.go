package renderers

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tkx-dev/tkx/tokenizer"
)

// gptOSS is the Harmony format: gpt_oss_no_sysprompt and
// gpt_oss_{low,medium,high}_reasoning.
type gptOSS struct {
	base
	useSystem   bool
	effort      string
	CurrentDate string // "" = today's date, like the cookbook
}

const gptOSSInternalSystem = "_gptoss_internal_system"

const gptOSSSystemPrompt = "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: %s\n\nReasoning: %s\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message."

func newGptOSS(name string, tok tokenizer.Tokenizer, effort string) *gptOSS {
	r := &gptOSS{useSystem: effort != "", effort: effort}
	r.base = base{name: name, tok: tok, c: r, self: r, toolCalls: true,
		roles: []string{"system", "developer", "user", "assistant", "tool", gptOSSInternalSystem}}
	return r
}

func (r *gptOSS) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	if m.Role == "tool" {
		name := m.Name
		if name == "" {
			return RenderedMessage{}, errorf("gpt-oss tool results need the \"name\" field (the function that was called)")
		}
		if !strings.HasPrefix(name, "functions.") {
			name = "functions." + name
		}
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		h := r.enc("<|start|>" + name + " to=assistant")
		return RenderedMessage{Header: &h, Output: []Chunk{r.enc("<|channel|>commentary<|message|>" + text + "<|end|>")}}, nil
	}
	role := m.Role
	switch role {
	case gptOSSInternalSystem:
		role = "system"
	case "system":
		role = "developer"
	}
	header := "<|start|>" + role
	var out string
	hasCalls := false
	switch m.Role {
	case "assistant":
		text, thinking := m.Text(), m.Thinking()
		hasCalls = len(m.ToolCalls) > 0
		if thinking != "" {
			out += "<|channel|>analysis<|message|>" + thinking + "<|end|><|start|>assistant"
		}
		if hasCalls {
			if text != "" {
				out += "<|channel|>commentary<|message|>" + text + "<|end|><|start|>assistant"
			}
			for i, tc := range m.ToolCalls {
				out += " to=functions." + tc.Name + "<|channel|>commentary <|constrain|>json<|message|>" + tc.Arguments + "<|call|>"
				if i < len(m.ToolCalls)-1 {
					out += "<|start|>assistant"
				}
			}
		} else {
			out += "<|channel|>final<|message|>" + text
		}
	case "system":
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		out = "<|message|># Instructions\n\n" + text + "\n\n"
	default:
		text, err := m.ensureText()
		if err != nil {
			return RenderedMessage{}, err
		}
		out = "<|message|>" + text
	}
	if m.Role == "assistant" {
		if !hasCalls {
			if ctx.IsLast {
				out += "<|return|>"
			} else {
				out += "<|end|>"
			}
		}
	} else {
		out += "<|end|>"
	}
	h := r.enc(header)
	return RenderedMessage{Header: &h, Output: []Chunk{r.enc(out)}}, nil
}

func (r *gptOSS) systemMessages(msgs []Message) []Message {
	if !r.useSystem {
		return msgs
	}
	date := r.CurrentDate
	if date == "" {
		date = time.Now().Format("2006-01-02")
	}
	sys := Message{Role: gptOSSInternalSystem, Content: fmt.Sprintf(gptOSSSystemPrompt, date, r.effort)}
	return append([]Message{sys}, msgs...)
}

func (r *gptOSS) bosTokens() ([]int, error) { return nil, nil }
func (r *gptOSS) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	return r.defaultGenerationSuffix(role, ctx)
}
func (r *gptOSS) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *gptOSS) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}
func (r *gptOSS) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	norm := r.systemMessages(msgs)
	mi, err := r.buildGenerationPrompt(norm, role, prefill)
	return mi, remapErr(err, 0, len(norm)-len(msgs))
}
func (r *gptOSS) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	norm := r.systemMessages(msgs)
	mi, w, err := r.buildSupervisedExample(norm, tow)
	return mi, w, remapErr(err, 0, len(norm)-len(msgs))
}
func (r *gptOSS) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *gptOSS) StopSequences() (StopSequences, error) {
	ret, err := r.special("<|return|>")
	if err != nil {
		return StopSequences{}, err
	}
	call, err := r.special("<|call|>")
	return StopSequences{Tokens: []int{ret, call}}, err
}

var (
	harmonyChannelRE   = regexp.MustCompile(`<\|channel\|>([^<\s]+)`)
	harmonyRecipientRE = regexp.MustCompile(`to=([^\s<]+)`)
)

type harmonyMsg struct {
	channel, recipient, content, raw string
}

func parseHarmonyMessages(content string) []harmonyMsg {
	var out []harmonyMsg
	idx := 0
	for {
		mi := strings.Index(content[idx:], "<|message|>")
		if mi < 0 {
			break
		}
		mi += idx
		hs := strings.LastIndex(content[idx:mi], "<|start|>")
		if hs < 0 {
			hs = idx
		} else {
			hs += idx
		}
		header := content[hs:mi]
		cs := mi + len("<|message|>")
		end, endTok := len(content), ""
		for _, t := range []string{"<|end|>", "<|call|>", "<|return|>"} {
			if ti := strings.Index(content[cs:], t); ti >= 0 && cs+ti < end {
				end, endTok = cs+ti, t
			}
		}
		hm := harmonyMsg{content: content[cs:end]}
		if m := harmonyChannelRE.FindStringSubmatch(header); m != nil {
			hm.channel = m[1]
		}
		if m := harmonyRecipientRE.FindStringSubmatch(header); m != nil {
			hm.recipient = m[1]
		}
		if endTok != "" {
			hm.raw = content[hs : end+len(endTok)]
		} else {
			hm.raw = content[hs:]
		}
		out = append(out, hm)
		idx = end + len(endTok)
	}
	return out
}

func (r *gptOSS) ParseResponse(resp []int) (Message, ParseTermination, error) {
	ret, err := r.special("<|return|>")
	if err != nil {
		return Message{}, "", err
	}
	call, err := r.special("<|call|>")
	if err != nil {
		return Message{}, "", err
	}
	nc, nr := 0, 0
	ci, ri := -1, -1
	for i, t := range resp {
		if t == call {
			nc++
			if ci < 0 {
				ci = i
			}
		}
		if t == ret {
			nr++
			if ri < 0 {
				ri = i
			}
		}
	}
	if nc == 0 && nr == 0 {
		return Message{Role: "assistant", Content: r.tok.Decode(resp)}, Malformed, nil
	}
	if nc > 1 || nr > 1 {
		return Message{}, "", &Error{Renderer: r.name, MsgIndex: -1, Err: fmt.Errorf("expected at most one <|call|> and one <|return|>, got %d and %d; you are probably sampling with the wrong stop tokens", nc, nr)}
	}
	stop := ri
	if ci >= 0 && (stop < 0 || ci < stop) {
		stop = ci
	}
	s := r.tok.Decode(resp[:stop])
	var parts []Part
	msg := Message{Role: "assistant"}
	for _, hm := range parseHarmonyMessages(s) {
		if strings.TrimSpace(hm.content) == "" {
			continue
		}
		if strings.HasPrefix(hm.recipient, "functions.") {
			name := strings.SplitN(hm.recipient, "functions.", 2)[1]
			if _, err := ParseJSON(hm.content); err != nil {
				msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, UnparsedToolCall{RawText: hm.raw, Error: "Invalid JSON: " + err.Error()})
			} else {
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{Name: name, Arguments: strings.TrimSpace(hm.content)})
			}
			continue
		}
		switch hm.channel {
		case "analysis":
			parts = append(parts, Part{Type: PartThinking, Thinking: hm.content})
		case "final", "commentary":
			parts = append(parts, Part{Type: PartText, Text: hm.content})
		}
	}
	if intents := strings.Count(s, "to=functions."); intents > len(msg.ToolCalls)+len(msg.UnparsedToolCalls) {
		raw := s
		if i := strings.LastIndex(s, "<|start|>"); i >= 0 {
			raw = s[i:]
		}
		msg.UnparsedToolCalls = append(msg.UnparsedToolCalls, UnparsedToolCall{RawText: raw, Error: UnterminatedToolBlockError + ": 'to=functions.' tool-call header without a parsable arguments payload"})
	}
	if len(parts) > 0 {
		msg.Parts = parts
	} else {
		msg.Content = s
	}
	return msg, StopSequence, nil
}

func (r *gptOSS) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	var msgs []Message
	if len(tools) > 0 {
		msgs = append(msgs, Message{Role: gptOSSInternalSystem, Content: "Calls to these tools must go to the commentary channel: 'functions'."})
	}
	var cp []string
	if systemPrompt != "" {
		cp = append(cp, "# Instructions\n\n"+systemPrompt)
	}
	if len(tools) > 0 {
		defs := make([]string, len(tools))
		for i, t := range tools {
			defs[i] = harmonyToolDefinition(t)
		}
		cp = append(cp, "# Tools\n\n## functions\n\nnamespace functions {\n\n"+strings.Join(defs, "\n\n")+"\n\n} // namespace functions")
	}
	if len(cp) > 0 {
		msgs = append(msgs, Message{Role: "developer", Content: strings.Join(cp, "\n\n")})
	}
	return msgs, nil
}

func jsonTypeToTS(s *Object) string {
	for _, k := range []string{"oneOf", "anyOf"} {
		if v, ok := s.Get(k); ok {
			arr, _ := v.([]any)
			parts := make([]string, len(arr))
			for i, x := range arr {
				xo, _ := x.(*Object)
				parts[i] = jsonTypeToTS(xo)
			}
			return strings.Join(parts, " | ")
		}
	}
	tv, ok := s.Get("type")
	if !ok {
		tv = "any"
	}
	if arr, ok := tv.([]any); ok {
		parts := make([]string, len(arr))
		for i, t := range arr {
			o := NewObject()
			o.Set("type", t)
			parts[i] = jsonTypeToTS(o)
		}
		return strings.Join(parts, " | ")
	}
	var bt string
	switch tv {
	case "string":
		if ev, ok := s.Get("enum"); ok {
			arr, _ := ev.([]any)
			parts := make([]string, len(arr))
			for i, e := range arr {
				parts[i] = PyDumps(e)
			}
			return strings.Join(parts, " | ")
		}
		bt = "string"
	case "number", "integer":
		bt = "number"
	case "boolean":
		bt = "boolean"
	case "array":
		items, _ := s.Values["items"].(*Object)
		if items == nil {
			items = NewObject()
		}
		bt = jsonTypeToTS(items) + "[]"
	case "object":
		bt = jsonSchemaToTS(s)
	default:
		bt = "any"
	}
	if nv, ok := s.Get("nullable"); ok && truthy(nv) {
		return bt + " | null"
	}
	return bt
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case Number:
		return string(x) != "0" && string(x) != "0.0"
	case []any:
		return len(x) > 0
	case *Object:
		return x.Len() > 0
	}
	return true
}

func requiredSet(s *Object) map[string]bool {
	req := map[string]bool{}
	if rv, ok := s.Get("required"); ok {
		arr, _ := rv.([]any)
		for _, x := range arr {
			if str, ok := x.(string); ok {
				req[str] = true
			}
		}
	}
	return req
}

func jsonSchemaToTS(s *Object) string {
	if s.GetString("type") != "object" {
		return "any"
	}
	props, _ := s.Values["properties"].(*Object)
	req := requiredSet(s)
	var parts []string
	if props != nil {
		for _, k := range props.Keys {
			ps, _ := props.Values[k].(*Object)
			if ps == nil {
				ps = NewObject()
			}
			opt := "?"
			if req[k] {
				opt = ""
			}
			parts = append(parts, k+opt+": "+jsonTypeToTS(ps))
		}
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func harmonyToolDefinition(t ToolSpec) string {
	var lines []string
	if d := t.Description(); d != "" {
		lines = append(lines, "// "+d)
	}
	params := t.Parameters()
	if params == nil {
		params = NewObject()
	}
	lines = append(lines, "type "+t.Name()+" = "+harmonyParamsBlock(params)+" => any;")
	return strings.Join(lines, "\n")
}

func harmonyParamsBlock(s *Object) string {
	props, _ := s.Values["properties"].(*Object)
	if s.GetString("type") != "object" || props.Len() == 0 {
		return "()"
	}
	header := "(_:"
	if d := s.GetString("description"); d != "" {
		header += " // " + d
	}
	lines := []string{header, "{"}
	req := requiredSet(s)
	for _, k := range props.Keys {
		ps, _ := props.Values[k].(*Object)
		if ps == nil {
			ps = NewObject()
		}
		if t := ps.Values["title"]; truthy(t) {
			lines = append(lines, "// "+PyStr(t), "// ")
		}
		if d := ps.Values["description"]; truthy(d) {
			lines = append(lines, "// "+PyStr(d))
		}
		if ex := ps.Values["examples"]; truthy(ex) {
			lines = append(lines, "// Examples:")
			arr, _ := ex.([]any)
			for _, e := range arr {
				lines = append(lines, "// - "+PyDumps(e))
			}
		}
		opt := "?"
		if req[k] {
			opt = ""
		}
		def := ""
		if dv, ok := ps.Get("default"); ok {
			def = " // default: " + PyDumps(dv)
		}
		lines = append(lines, k+opt+": "+jsonTypeToTS(ps)+","+def)
	}
	lines = append(lines, "})")
	return strings.Join(lines, "\n")
}
