// Package renderers turns chat conversations into model tokens and back,
// reproducing the Python tinker-cookbook's renderers token for token:
// build_generation_prompt, build_supervised_example (tokens + per-token
// weights), get_stop_sequences and parse_response for every renderer name
// the cookbook registers, plus a generic renderer that runs a model's own
// Jinja chat_template.
package renderers

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Part types of multi-part message content.
const (
	PartText     = "text"
	PartThinking = "thinking"
	PartImage    = "image"
)

// Part is one element of a multi-part message content.
type Part struct {
	Type     string // "text", "thinking" or "image"
	Text     string // for text parts
	Thinking string // for thinking parts
	Image    string // for image parts: URL, data URI or path (a placeholder; pixels are not read)
}

// ToolCall is a structured tool invocation; Arguments is a JSON string.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// UnparsedToolCall is a tool call that could not be parsed from model output.
type UnparsedToolCall struct {
	RawText string
	Error   string
}

// Message is one turn of a conversation, the cookbook's Message TypedDict.
// Content is either a plain string (Parts == nil) or a list of parts.
type Message struct {
	Role              string
	Content           string
	Parts             []Part // non-nil: list content
	ToolCalls         []ToolCall
	UnparsedToolCalls []UnparsedToolCall
	Trainable         *bool
	ToolCallID        string
	Name              string
}

// IsList reports whether the content is a list of parts.
func (m Message) IsList() bool { return m.Parts != nil }

// ListParts returns the content as parts (a string becomes one text part).
func (m Message) ListParts() []Part {
	if m.Parts != nil {
		return m.Parts
	}
	return []Part{{Type: PartText, Text: m.Content}}
}

// Text returns the text content without thinking (get_text_content).
func (m Message) Text() string {
	if m.Parts == nil {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Thinking returns the concatenated thinking parts.
func (m Message) Thinking() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartThinking {
			b.WriteString(p.Thinking)
		}
	}
	return b.String()
}

// hasThinking mirrors base.has_thinking: a thinking part, or "<think>" in
// string content.
func (m Message) hasThinking() bool {
	if m.Parts != nil {
		for _, p := range m.Parts {
			if p.Type == PartThinking {
				return true
			}
		}
		return false
	}
	return strings.Contains(m.Content, "<think>")
}

// contentTruthy is Python's bool(message["content"]).
func (m Message) contentTruthy() bool {
	if m.Parts != nil {
		return len(m.Parts) > 0
	}
	return m.Content != ""
}

// ensureText is base.ensure_text.
func (m Message) ensureText() (string, error) {
	if m.Parts == nil {
		return m.Content, nil
	}
	if len(m.Parts) == 1 && m.Parts[0].Type == PartText {
		return m.Parts[0].Text, nil
	}
	return "", fmt.Errorf("expected text content, got multimodal content with %d parts", len(m.Parts))
}

// ToolSpec is an OpenAI-style tool declaration {name, description,
// parameters}; the ordered object keeps the caller's key order because
// several formats print it verbatim.
type ToolSpec struct{ *Object }

// Name of the tool.
func (t ToolSpec) Name() string { return t.GetString("name") }

// Description of the tool.
func (t ToolSpec) Description() string { return t.GetString("description") }

// Parameters is the JSON schema object, or nil.
func (t ToolSpec) Parameters() *Object {
	v, _ := t.Get("parameters")
	o, _ := v.(*Object)
	return o
}

// ParseToolSpec parses a JSON tool declaration.
func ParseToolSpec(s string) (ToolSpec, error) {
	v, err := ParseJSON(s)
	if err != nil {
		return ToolSpec{}, err
	}
	o, ok := v.(*Object)
	if !ok {
		return ToolSpec{}, fmt.Errorf("tool spec is not a JSON object")
	}
	if _, ok := o.Get("name"); !ok {
		return ToolSpec{}, fmt.Errorf("tool spec has no \"name\"")
	}
	return ToolSpec{o}, nil
}

// ---- JSON form (the cookbook's conversations.jsonl / message_to_jsonable) ----

// MessageFromJSON decodes one message object as the cookbook writes it:
// {"role", "content": str|[{type,text|thinking|image}], "tool_calls":
// [{"id","type","function":{"name","arguments"}}], "trainable",
// "tool_call_id", "name"}. Arguments may be a JSON string or an object.
func MessageFromJSON(raw json.RawMessage) (Message, error) {
	v, err := ParseJSON(string(raw))
	if err != nil {
		return Message{}, err
	}
	o, ok := v.(*Object)
	if !ok {
		return Message{}, fmt.Errorf("message is not a JSON object")
	}
	return MessageFromObject(o)
}

// MessageFromObject converts a parsed JSON object into a Message.
func MessageFromObject(o *Object) (Message, error) {
	var m Message
	for _, k := range o.Keys {
		v := o.Values[k]
		switch k {
		case "role":
			s, ok := v.(string)
			if !ok {
				return m, fmt.Errorf("field role: want a string")
			}
			m.Role = s
		case "content":
			switch c := v.(type) {
			case nil:
				m.Content = ""
			case string:
				m.Content = c
			case []any:
				m.Parts = []Part{}
				for i, pv := range c {
					po, ok := pv.(*Object)
					if !ok {
						return m, fmt.Errorf("content[%d]: want an object", i)
					}
					p, err := partFromObject(po)
					if err != nil {
						return m, fmt.Errorf("content[%d]: %w", i, err)
					}
					m.Parts = append(m.Parts, p)
				}
			default:
				return m, fmt.Errorf("field content: want a string or a list of parts")
			}
		case "tool_calls":
			if v == nil {
				continue
			}
			arr, ok := v.([]any)
			if !ok {
				return m, fmt.Errorf("field tool_calls: want a list")
			}
			for i, tv := range arr {
				to, ok := tv.(*Object)
				if !ok {
					return m, fmt.Errorf("tool_calls[%d]: want an object", i)
				}
				tc, err := toolCallFromObject(to)
				if err != nil {
					return m, fmt.Errorf("tool_calls[%d]: %w", i, err)
				}
				m.ToolCalls = append(m.ToolCalls, tc)
			}
		case "trainable":
			b, ok := v.(bool)
			if !ok {
				return m, fmt.Errorf("field trainable: want a bool")
			}
			m.Trainable = &b
		case "tool_call_id":
			m.ToolCallID, _ = v.(string)
		case "name":
			m.Name, _ = v.(string)
		case "unparsed_tool_calls":
			arr, _ := v.([]any)
			for _, tv := range arr {
				if to, ok := tv.(*Object); ok {
					m.UnparsedToolCalls = append(m.UnparsedToolCalls, UnparsedToolCall{RawText: to.GetString("raw_text"), Error: to.GetString("error")})
				}
			}
		}
	}
	if m.Role == "" {
		return m, fmt.Errorf("missing field role")
	}
	return m, nil
}

func partFromObject(o *Object) (Part, error) {
	t := o.GetString("type")
	switch t {
	case PartText:
		return Part{Type: t, Text: o.GetString("text")}, nil
	case PartThinking:
		return Part{Type: t, Thinking: o.GetString("thinking")}, nil
	case PartImage:
		return Part{Type: t, Image: o.GetString("image")}, nil
	}
	return Part{}, fmt.Errorf("unknown content part type %q (want text, thinking or image)", t)
}

func toolCallFromObject(o *Object) (ToolCall, error) {
	tc := ToolCall{ID: o.GetString("id")}
	fv, _ := o.Get("function")
	f, ok := fv.(*Object)
	if !ok {
		f = o // flat {"name","arguments"} is accepted too
	}
	tc.Name = f.GetString("name")
	if tc.Name == "" {
		return tc, fmt.Errorf("tool call has no function name")
	}
	switch a := f.Values["arguments"].(type) {
	case string:
		tc.Arguments = a
	case nil:
		tc.Arguments = "{}"
	default:
		tc.Arguments = PyDumps(a)
	}
	return tc, nil
}

// ToObject is message_to_jsonable: the JSON form of a message.
func (m Message) ToObject() *Object {
	o := NewObject()
	o.Set("role", m.Role)
	if m.Parts == nil {
		o.Set("content", m.Content)
	} else {
		arr := []any{}
		for _, p := range m.Parts {
			po := NewObject()
			po.Set("type", p.Type)
			switch p.Type {
			case PartText:
				po.Set("text", p.Text)
			case PartThinking:
				po.Set("thinking", p.Thinking)
			case PartImage:
				po.Set("image", p.Image)
			}
			arr = append(arr, po)
		}
		o.Set("content", arr)
	}
	if len(m.ToolCalls) > 0 {
		o.Set("tool_calls", toolCallObjects(m.ToolCalls))
	}
	if len(m.UnparsedToolCalls) > 0 {
		arr := []any{}
		for _, u := range m.UnparsedToolCalls {
			uo := NewObject()
			uo.Set("raw_text", u.RawText)
			uo.Set("error", u.Error)
			arr = append(arr, uo)
		}
		o.Set("unparsed_tool_calls", arr)
	}
	if m.Trainable != nil {
		o.Set("trainable", *m.Trainable)
	}
	if m.ToolCallID != "" {
		o.Set("tool_call_id", m.ToolCallID)
	}
	if m.Name != "" {
		o.Set("name", m.Name)
	}
	return o
}

// toolCallObjects is the OpenAI form of tool calls: {"type": "function",
// "id": id or null, "function": {"name", "arguments"}}.
func toolCallObjects(calls []ToolCall) []any {
	arr := make([]any, 0, len(calls))
	for _, tc := range calls {
		to := NewObject()
		to.Set("type", "function")
		if tc.ID != "" {
			to.Set("id", tc.ID)
		} else {
			to.Set("id", nil)
		}
		fo := NewObject()
		fo.Set("name", tc.Name)
		fo.Set("arguments", tc.Arguments)
		to.Set("function", fo)
		arr = append(arr, to)
	}
	return arr
}

// validateUTF8 reports the first field of m that is not valid UTF-8.
func (m Message) validateUTF8() error {
	check := func(field, s string) error {
		if !utf8.ValidString(s) {
			off := 0
			for off < len(s) {
				r, n := utf8.DecodeRuneInString(s[off:])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				off += n
			}
			return fmt.Errorf("%s is not valid UTF-8 (bad byte 0x%02x at offset %d)", field, s[off], off)
		}
		return nil
	}
	if err := check("role", m.Role); err != nil {
		return err
	}
	if err := check("content", m.Content); err != nil {
		return err
	}
	for i, p := range m.Parts {
		for _, s := range []string{p.Text, p.Thinking, p.Image} {
			if err := check(fmt.Sprintf("content[%d]", i), s); err != nil {
				return err
			}
		}
	}
	for i, tc := range m.ToolCalls {
		for _, s := range []string{tc.ID, tc.Name, tc.Arguments} {
			if err := check(fmt.Sprintf("tool_calls[%d]", i), s); err != nil {
				return err
			}
		}
	}
	if err := check("tool_call_id", m.ToolCallID); err != nil {
		return err
	}
	return check("name", m.Name)
}
