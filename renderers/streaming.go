package renderers

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// DeltaKind says what a streaming delta carries.
type DeltaKind int

// Streaming delta kinds (the cookbook's StreamingMessageHeader,
// StreamingTextDelta and StreamingThinkingDelta).
const (
	DeltaHeader DeltaKind = iota
	DeltaText
	DeltaThinking
)

// Delta is one incremental piece of a streamed response.
type Delta struct {
	Kind         DeltaKind
	Role         string // for DeltaHeader
	Text         string // text or thinking
	ContentIndex int
}

// streamer is implemented by the renderers the cookbook streams
// (supports_streaming): Qwen3 and its descendants, DeepSeek-V3, Kimi.
type streamer interface {
	endMessageToken() (int, error)
	normalizeForStream(resp []int) ([]int, error)
	parseForStreaming(resp []int) (Message, ParseTermination, error)
}

// SupportsStreaming reports whether ParseResponseStreaming works for r.
func SupportsStreaming(r Renderer) bool {
	_, ok := r.(streamer)
	return ok
}

// ParseResponseStreaming is parse_response_streaming: it feeds the tokens
// one at a time through the <think>-aware streaming parser, calling emit
// for each delta, and returns the final message (parsed even when the
// response was truncated) with its termination.
func ParseResponseStreaming(r Renderer, resp []int, emit func(Delta)) (Message, ParseTermination, error) {
	s, ok := r.(streamer)
	if !ok {
		return Message{}, "", fmt.Errorf("%s does not support streaming response parsing", r.Name())
	}
	resp, err := s.normalizeForStream(resp)
	if err != nil {
		return Message{}, "", err
	}
	end, err := s.endMessageToken()
	if err != nil {
		return Message{}, "", err
	}
	p := &streamParser{dec: utf8TokenDecoder{tok: r}, emit: emit}
	var all []int
	for _, t := range resp {
		all = append(all, t)
		if t == end {
			break
		}
		if text, ok := p.dec.decode([]int{t}); ok {
			p.acc += text
			if !p.header {
				p.header = true
				emit(Delta{Kind: DeltaHeader, Role: "assistant"})
			}
			p.emitDeltas()
		}
	}
	p.acc += p.dec.flush()
	if !p.header {
		emit(Delta{Kind: DeltaHeader, Role: "assistant"})
	}
	p.emitRemaining()
	return s.parseForStreaming(all)
}

// utf8TokenDecoder buffers tokens until they decode without a trailing
// U+FFFD (Utf8TokenDecoder).
type utf8TokenDecoder struct {
	tok     Renderer
	pending []int
}

func (d *utf8TokenDecoder) decode(toks []int) (string, bool) {
	d.pending = append(d.pending, toks...)
	dec := d.tok.Tokenizer().Decode
	if s := dec(d.pending); !strings.HasSuffix(s, string(utf8.RuneError)) {
		d.pending = nil
		return s, true
	}
	for remove := 1; remove <= min(len(d.pending), 8); remove++ {
		prefix := d.pending[:len(d.pending)-remove]
		if len(prefix) == 0 {
			break
		}
		if s := dec(prefix); !strings.HasSuffix(s, string(utf8.RuneError)) {
			d.pending = append([]int(nil), d.pending[len(d.pending)-remove:]...)
			return s, true
		}
	}
	return "", false
}

func (d *utf8TokenDecoder) flush() string {
	if len(d.pending) == 0 {
		return ""
	}
	s := d.tok.Tokenizer().Decode(d.pending)
	d.pending = nil
	return s
}

// streamParser is ReasoningStreamingParser.
type streamParser struct {
	dec        utf8TokenDecoder
	emit       func(Delta)
	acc        string
	header     bool
	contentIdx int
	lastPos    int
	inThinking bool
}

func longestSuffixPrefix(text, tag string) int {
	for n := min(len(text), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(text, tag[:n]) {
			return n
		}
	}
	return 0
}

func (p *streamParser) emitDeltas() {
	text, pos := p.acc, p.lastPos
	for pos < len(text) {
		if !p.inThinking {
			start := strings.Index(text[pos:], "<think>")
			if start < 0 {
				safe := len(text) - longestSuffixPrefix(text[pos:], "<think>")
				if safe > pos {
					p.emit(Delta{Kind: DeltaText, Text: text[pos:safe], ContentIndex: p.contentIdx})
					p.lastPos = safe
				}
				return
			}
			start += pos
			if start > pos {
				p.emit(Delta{Kind: DeltaText, Text: text[pos:start], ContentIndex: p.contentIdx})
				pos = start
			}
			p.inThinking = true
			p.contentIdx++
			pos += len("<think>")
			p.lastPos = pos
			continue
		}
		end := strings.Index(text[pos:], "</think>")
		if end < 0 {
			safe := len(text) - longestSuffixPrefix(text[pos:], "</think>")
			if safe > pos {
				p.emit(Delta{Kind: DeltaThinking, Text: text[pos:safe], ContentIndex: p.contentIdx})
				p.lastPos = safe
			}
			return
		}
		end += pos
		if end > pos {
			p.emit(Delta{Kind: DeltaThinking, Text: text[pos:end], ContentIndex: p.contentIdx})
		}
		p.inThinking = false
		p.contentIdx++
		pos = end + len("</think>")
		p.lastPos = pos
	}
}

func (p *streamParser) emitRemaining() {
	if p.lastPos >= len(p.acc) {
		return
	}
	rest := p.acc[p.lastPos:]
	kind := DeltaText
	if p.inThinking {
		kind = DeltaThinking
	}
	p.emit(Delta{Kind: kind, Text: rest, ContentIndex: p.contentIdx})
}

// ---- per-family hooks ----

func (r *qwen3) endMessageToken() (int, error)                { return r.special("<|im_end|>") }
func (r *qwen3) normalizeForStream(resp []int) ([]int, error) { return resp, nil }
func (r *qwen3) parseForStreaming(resp []int) (Message, ParseTermination, error) {
	end, err := r.special("<|im_end|>")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end)
	if err != nil {
		return msg, term, err
	}
	parseThinkAndToolCalls(&msg, r.framesThinking)
	return msg, term, nil
}

func (r *qwenVL) endMessageToken() (int, error)                { return r.special("<|im_end|>") }
func (r *qwenVL) normalizeForStream(resp []int) ([]int, error) { return r.normalizeResponse(resp) }
func (r *qwenVL) parseForStreaming(resp []int) (Message, ParseTermination, error) {
	end, err := r.special("<|im_end|>")
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, end)
	if err != nil {
		return msg, term, err
	}
	parseThinkAndToolCalls(&msg, r.framesThinking)
	if r.kind != kindVL {
		r.postprocess(&msg)
	}
	return msg, term, nil
}

func (r *deepseek) endMessageToken() (int, error) {
	c, err := r.sp("end▁of▁sentence")
	if err != nil {
		return 0, err
	}
	return c.Tokens[0], nil
}
func (r *deepseek) normalizeForStream(resp []int) ([]int, error) {
	if !r.thinking {
		return resp, nil
	}
	open, err := r.special("<think>")
	if err != nil {
		return nil, err
	}
	cl, err := r.special("</think>")
	if err != nil {
		return nil, err
	}
	if !(len(resp) > 0 && resp[0] == open) && slices.Contains(resp, cl) {
		return append([]int{open}, resp...), nil
	}
	return resp, nil
}
func (r *deepseek) parseForStreaming(resp []int) (Message, ParseTermination, error) {
	return r.parseContent(resp, true)
}

func (r *kimi) endMessageToken() (int, error) { return r.special("<|im_end|>") }
func (r *kimi) normalizeForStream(resp []int) ([]int, error) {
	if !r.k25 {
		return resp, nil
	}
	open, err := r.special("<think>")
	if err != nil {
		return nil, err
	}
	cl, err := r.special("</think>")
	if err != nil {
		return nil, err
	}
	if len(resp) > 0 && resp[0] != open && slices.Contains(resp, cl) {
		return append([]int{open}, resp...), nil
	}
	return resp, nil
}
func (r *kimi) parseForStreaming(resp []int) (Message, ParseTermination, error) {
	return r.parseContent(resp, true)
}
