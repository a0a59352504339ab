package renderers

import (
	"fmt"
	"regexp"
	"strings"
)

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// UnterminatedToolBlockError prefixes the error of a tool block that was
// opened but never closed.
const UnterminatedToolBlockError = "unterminated tool block"

const parseFailureDetailMaxChars = 16384

type callOrUnparsed struct {
	call     *ToolCall
	unparsed *UnparsedToolCall
}

var contentBlockRE = regexp.MustCompile(`(?s)<think>(.*?)</think>|<tool_call>(.*?)</tool_call>`)
var thinkBlockRE = regexp.MustCompile(`(?s)<think>(.*?)</think>`)

// parseContentBlocks is base.parse_content_blocks: <think> and <tool_call>
// blocks in order. ok is false when neither tag occurs.
func parseContentBlocks(content string) (parts []Part, calls []callOrUnparsed, ok bool) {
	if !strings.Contains(content, "<think>") && !strings.Contains(content, "<tool_call>") {
		return nil, nil, false
	}
	parts = []Part{}
	pos := 0
	for _, m := range contentBlockRE.FindAllStringSubmatchIndex(content, -1) {
		if before := content[pos:m[0]]; before != "" {
			parts = append(parts, Part{Type: PartText, Text: before})
		}
		if m[2] >= 0 {
			if th := content[m[2]:m[3]]; th != "" {
				parts = append(parts, Part{Type: PartThinking, Thinking: th})
			}
		} else {
			calls = append(calls, parseToolCallJSON(content[m[4]:m[5]], content[m[0]:m[1]]))
		}
		pos = m[1]
	}
	if rest := content[pos:]; rest != "" {
		parts = append(parts, Part{Type: PartText, Text: rest})
	}
	return parts, calls, true
}

// parseThinkBlocks is base.parse_think_blocks.
func parseThinkBlocks(content string) ([]Part, bool) {
	if !strings.Contains(content, "<think>") {
		return nil, false
	}
	parts := []Part{}
	pos := 0
	for _, m := range thinkBlockRE.FindAllStringSubmatchIndex(content, -1) {
		if before := content[pos:m[0]]; before != "" {
			parts = append(parts, Part{Type: PartText, Text: before})
		}
		if th := content[m[2]:m[3]]; th != "" {
			parts = append(parts, Part{Type: PartThinking, Thinking: th})
		}
		pos = m[1]
	}
	if rest := content[pos:]; rest != "" {
		parts = append(parts, Part{Type: PartText, Text: rest})
	}
	return parts, true
}

func parseToolCallJSON(s, raw string) callOrUnparsed {
	v, err := ParseJSON(strings.TrimSpace(s))
	if err != nil {
		return callOrUnparsed{unparsed: &UnparsedToolCall{RawText: raw, Error: "Invalid JSON: " + err.Error()}}
	}
	o, ok := v.(*Object)
	if !ok {
		return callOrUnparsed{unparsed: &UnparsedToolCall{RawText: raw, Error: "Tool call is not a JSON object"}}
	}
	nv, _ := o.Get("name")
	name, ok := nv.(string)
	if !ok {
		return callOrUnparsed{unparsed: &UnparsedToolCall{RawText: raw, Error: "Missing or invalid 'name' field"}}
	}
	av, _ := o.Get("arguments")
	args, ok := av.(*Object)
	if !ok {
		return callOrUnparsed{unparsed: &UnparsedToolCall{RawText: raw, Error: "Missing or invalid 'arguments' field"}}
	}
	id := ""
	if iv, ok := o.Get("id"); ok {
		id, _ = iv.(string)
	}
	return callOrUnparsed{call: &ToolCall{ID: id, Name: name, Arguments: PyDumps(args)}}
}

func splitCalls(m *Message, calls []callOrUnparsed) {
	for _, c := range calls {
		if c.call != nil {
			m.ToolCalls = append(m.ToolCalls, *c.call)
		} else {
			m.UnparsedToolCalls = append(m.UnparsedToolCalls, *c.unparsed)
		}
	}
}

// detectUnterminated is base.detect_unterminated_tool_block.
func detectUnterminated(content, open, close string) *UnparsedToolCall {
	opens := strings.Count(content, open)
	if opens == 0 || opens <= strings.Count(content, close) {
		return nil
	}
	raw := content[strings.LastIndex(content, open):]
	raw = truncateRunes(raw, parseFailureDetailMaxChars)
	return &UnparsedToolCall{RawText: raw, Error: fmt.Sprintf("%s: '%s' opened without a matching '%s'", UnterminatedToolBlockError, open, close)}
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// parseThinkAndToolCalls is the common tail of the Qwen-style parsers: the
// <think> and <tool_call> blocks of m.Content become m.Parts and tool calls
// (thinking parts unframed when framesThinking), and a <tool_call> left open
// is reported as an unparsed call.
func parseThinkAndToolCalls(m *Message, framesThinking bool) {
	content := m.Content
	if parts, calls, ok := parseContentBlocks(content); ok {
		if framesThinking {
			parts = unframeThinking(parts)
		}
		m.Parts, m.Content = parts, ""
		splitCalls(m, calls)
	}
	appendUnterminated(m, content, "<tool_call>", "</tool_call>")
}

func appendUnterminated(m *Message, content, open, close string) {
	if d := detectUnterminated(content, open, close); d != nil {
		m.UnparsedToolCalls = append(m.UnparsedToolCalls, *d)
	}
}

// ParseFailureKind classifies a parse result (classify_parse_failure).
type ParseFailureKind string

// Failure kinds.
const (
	FailureStructural ParseFailureKind = "structural"
	FailureContent    ParseFailureKind = "content"
)

// ClassifyParseFailure returns "" when the response parsed cleanly.
func ClassifyParseFailure(m Message, t ParseTermination) (ParseFailureKind, string) {
	if !t.IsClean() {
		return FailureStructural, fmt.Sprintf("response did not terminate cleanly (termination=%s): expected the renderer's stop signal or EOS, so the message framing is broken", t)
	}
	if len(m.UnparsedToolCalls) > 0 {
		var errs []string
		for _, u := range m.UnparsedToolCalls {
			errs = append(errs, u.Error)
		}
		return FailureContent, truncateRunes(strings.Join(errs, "\n"), parseFailureDetailMaxChars)
	}
	return "", ""
}

func mustRE(s string) *regexp.Regexp { return regexp.MustCompile(s) }
