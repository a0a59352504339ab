package renderers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// ImageRef is an image placeholder in a model input: the source and the
// number of tokens the image will occupy (0 when no image processor is
// known; such inputs cannot be flattened to ids).
type ImageRef struct {
	Source         string
	ExpectedTokens int
}

// Chunk is one piece of a model input: encoded text (Tokens, with the Text
// it was encoded from) or an image placeholder.
type Chunk struct {
	Tokens []int
	Text   string
	Image  *ImageRef
}

// Len is the number of model positions the chunk occupies.
func (c Chunk) Len() int {
	if c.Image != nil {
		return c.Image.ExpectedTokens
	}
	return len(c.Tokens)
}

// ModelInput is a sequence of chunks (tinker.ModelInput).
type ModelInput struct {
	Chunks []Chunk
}

// Len is the total length in positions.
func (mi ModelInput) Len() int {
	n := 0
	for _, c := range mi.Chunks {
		n += c.Len()
	}
	return n
}

// HasImages reports whether any chunk is an image.
func (mi ModelInput) HasImages() bool {
	for _, c := range mi.Chunks {
		if c.Image != nil {
			return true
		}
	}
	return false
}

// Ints flattens the input to token ids; images are an error.
func (mi ModelInput) Ints() ([]int, error) {
	out := make([]int, 0, mi.Len())
	for _, c := range mi.Chunks {
		if c.Image != nil {
			return nil, fmt.Errorf("model input has an image chunk (%s); it has no token ids", c.Image.Source)
		}
		out = append(out, c.Tokens...)
	}
	return out, nil
}

// Text concatenates the source text of the chunks (images as
// "<image:SOURCE>").
func (mi ModelInput) Text() string {
	var b strings.Builder
	for _, c := range mi.Chunks {
		if c.Image != nil {
			fmt.Fprintf(&b, "<image:%s>", c.Image.Source)
			continue
		}
		b.WriteString(c.Text)
	}
	return b.String()
}

// RenderedMessage is a message split for loss masking.
type RenderedMessage struct {
	Header      *Chunk
	Output      []Chunk
	StopOverlap *Chunk
}

// RenderContext tells render_message where a message sits.
type RenderContext struct {
	Idx                 int
	IsLast              bool
	Prev, Next          *Message
	LastUserIndex       int
	InLastAssistantTurn bool
}

// TrainOnWhat selects which tokens carry loss.
type TrainOnWhat string

// The seven TrainOnWhat values of the cookbook.
const (
	LastAssistantMessage     TrainOnWhat = "last_assistant_message"
	LastAssistantTurn        TrainOnWhat = "last_assistant_turn"
	AllAssistantMessages     TrainOnWhat = "all_assistant_messages"
	AllMessages              TrainOnWhat = "all_messages"
	AllTokens                TrainOnWhat = "all_tokens"
	AllUserAndSystemMessages TrainOnWhat = "all_user_and_system_messages"
	Customized               TrainOnWhat = "customized"
)

// TrainOnWhatValues lists every TrainOnWhat in the cookbook's order.
var TrainOnWhatValues = []TrainOnWhat{LastAssistantMessage, LastAssistantTurn, AllAssistantMessages, AllMessages, AllTokens, AllUserAndSystemMessages, Customized}

// ParseTrainOnWhat validates a TrainOnWhat name.
func ParseTrainOnWhat(s string) (TrainOnWhat, error) {
	for _, v := range TrainOnWhatValues {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(TrainOnWhatValues))
	for i, v := range TrainOnWhatValues {
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown train_on_what %q%s (want one of %s)", s, didYouMean(s, names), strings.Join(names, ", "))
}

// ParseTermination says how a sampled response ended.
type ParseTermination string

// Terminations.
const (
	StopSequence ParseTermination = "stop_sequence"
	EOS          ParseTermination = "eos"
	Malformed    ParseTermination = "malformed"
)

// IsClean is true for STOP_SEQUENCE and EOS.
func (t ParseTermination) IsClean() bool { return t != Malformed }

// StopSequences are either token ids or strings.
type StopSequences struct {
	Tokens  []int
	Strings []string
}

// Example is one supervised example.
type Example struct {
	Input   ModelInput
	Weights []float32
}

// Renderer is the cookbook's Renderer interface.
type Renderer interface {
	// Name is the registry name ("qwen3", "role_colon", ...).
	Name() string
	Tokenizer() tokenizer.Tokenizer
	// BuildGenerationPrompt renders messages then the header of a new
	// message of role (usually "assistant") and the prefill.
	BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error)
	// BuildSupervisedExample renders a whole conversation with per-token weights.
	BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error)
	// BuildSupervisedExamples splits the conversation into one example per
	// trained turn when the renderer lacks the extension property.
	BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error)
	StopSequences() (StopSequences, error)
	// ParseResponse turns sampled tokens (without the prompt) into a message.
	ParseResponse(tokens []int) (Message, ParseTermination, error)
	HasExtensionProperty() bool
	DisablesThinking() bool
	// ConversationPrefixWithTools returns the messages that declare tools
	// (create_conversation_prefix_with_tools).
	ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error)
}

// Error is a rendering error that names the message it concerns.
type Error struct {
	Renderer string
	MsgIndex int // -1 when not about one message
	Role     string
	Err      error
}

func (e *Error) Error() string {
	if e.MsgIndex >= 0 {
		return fmt.Sprintf("%s: message %d (role %q): %v", e.Renderer, e.MsgIndex, e.Role, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Renderer, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// core is what each renderer family implements; base assembles it into the
// cookbook's build_* algorithms.
type core interface {
	renderMessage(m Message, ctx RenderContext) (RenderedMessage, error)
	bosTokens() ([]int, error)
	generationSuffix(role string, ctx RenderContext) (*Chunk, error)
	turnStart(msgs []Message) int
	outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool
}

type base struct {
	name      string
	tok       tokenizer.Tokenizer
	c         core
	self      Renderer
	ext       bool
	disables  bool
	roles     []string // roles the format can express
	toolCalls bool     // whether tool calls can be expressed
}

func (b *base) Name() string                   { return b.name }
func (b *base) Tokenizer() tokenizer.Tokenizer { return b.tok }
func (b *base) HasExtensionProperty() bool     { return b.ext }
func (b *base) DisablesThinking() bool         { return b.disables }

func (b *base) errf(idx int, m *Message, format string, a ...any) error {
	role := ""
	if m != nil {
		role = m.Role
	}
	return &Error{Renderer: b.name, MsgIndex: idx, Role: role, Err: fmt.Errorf(format, a...)}
}

// enc encodes text without added special tokens.
func (b *base) enc(s string) Chunk {
	return Chunk{Tokens: b.tok.Encode(s, false), Text: s}
}

// SplitSpecialEncoder is implemented by tokenizers that can encode text
// with special-token strings treated as ordinary text, like HF's
// encode(..., split_special_tokens=True); non-special added tokens such as
// <think> are still matched.
type SplitSpecialEncoder interface {
	EncodeSplitSpecial(text string) []int
}

// encSplit is enc with split_special_tokens=True where the tokenizer
// supports it (Qwen3 message bodies); otherwise it is enc.
func (b *base) encSplit(s string) Chunk {
	if e, ok := b.tok.(SplitSpecialEncoder); ok {
		return Chunk{Tokens: e.EncodeSplitSpecial(s), Text: s}
	}
	return b.enc(s)
}

// special returns the single id of a special-token string.
func (b *base) special(s string) (int, error) {
	ids := b.tok.Encode(s, false)
	if len(ids) != 1 {
		return 0, &Error{Renderer: b.name, MsgIndex: -1, Err: fmt.Errorf("tokenizer %s has no single token for %q (got %d tokens); is this the right tokenizer for the renderer?", b.tok.Name(), s, len(ids))}
	}
	return ids[0], nil
}

func (b *base) tokChunk(id int, text string) Chunk { return Chunk{Tokens: []int{id}, Text: text} }

// validate checks what every renderer refuses: invalid UTF-8, roles the
// format cannot express, tool calls it cannot express, arguments that are
// not JSON, and the trainable flag rules.
func (b *base) validate(msgs []Message) error {
	for i := range msgs {
		m := &msgs[i]
		if err := m.validateUTF8(); err != nil {
			return b.errf(i, m, "%v", err)
		}
		if !slices.Contains(b.roles, m.Role) {
			return b.errf(i, m, "role %q cannot be expressed by the %s format (roles: %s)%s", m.Role, b.name, strings.Join(b.roles, ", "), didYouMean(m.Role, b.roles))
		}
		if len(m.ToolCalls) > 0 {
			if !b.toolCalls {
				return b.errf(i, m, "the %s format has no tool-call syntax; %d tool call(s) would be dropped", b.name, len(m.ToolCalls))
			}
			if m.Role != "assistant" {
				return b.errf(i, m, "only assistant messages can carry tool_calls")
			}
			for j, tc := range m.ToolCalls {
				v, err := ParseJSON(tc.Arguments)
				if err != nil {
					return b.errf(i, m, "tool_calls[%d] (%s): arguments are not JSON: %v", j, tc.Name, err)
				}
				if _, ok := v.(*Object); !ok {
					return b.errf(i, m, "tool_calls[%d] (%s): arguments must be a JSON object, got %s", j, tc.Name, truncate(tc.Arguments, 40))
				}
			}
		}
		for j, p := range m.Parts {
			switch p.Type {
			case PartText, PartThinking, PartImage:
			default:
				return b.errf(i, m, "content[%d]: unknown part type %q", j, p.Type)
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func lastUserIndex(msgs []Message) int {
	idx := -1
	for i, m := range msgs {
		if m.Role == "user" {
			idx = i
		}
	}
	return idx
}

func (b *base) ctxFor(msgs []Message, idx, lastUser, turnStart int) RenderContext {
	ctx := RenderContext{Idx: idx, IsLast: idx == len(msgs)-1, LastUserIndex: lastUser, InLastAssistantTurn: idx >= turnStart}
	if idx > 0 {
		ctx.Prev = &msgs[idx-1]
	}
	if idx+1 < len(msgs) {
		ctx.Next = &msgs[idx+1]
	}
	return ctx
}

// buildGenerationPrompt is Renderer.build_generation_prompt.
func (b *base) buildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	if err := b.validate(msgs); err != nil {
		return ModelInput{}, err
	}
	if role == "" {
		role = "assistant"
	}
	var chunks []Chunk
	bos, err := b.c.bosTokens()
	if err != nil {
		return ModelInput{}, err
	}
	if len(bos) > 0 {
		chunks = append(chunks, Chunk{Tokens: bos, Text: b.tok.Decode(bos)})
	}
	lu := lastUserIndex(msgs)
	ts := b.c.turnStart(msgs)
	for i := range msgs {
		rm, err := b.c.renderMessage(msgs[i], b.ctxFor(msgs, i, lu, ts))
		if err != nil {
			return ModelInput{}, wrapMsg(b, i, &msgs[i], err)
		}
		if rm.Header != nil && rm.Header.Len() > 0 {
			chunks = append(chunks, *rm.Header)
		}
		for _, c := range rm.Output {
			if c.Image == nil && len(c.Tokens) == 0 {
				continue
			}
			chunks = append(chunks, c)
		}
	}
	sctx := RenderContext{Idx: len(msgs), IsLast: true, LastUserIndex: lu, InLastAssistantTurn: true}
	if len(msgs) > 0 {
		sctx.Prev = &msgs[len(msgs)-1]
	}
	suffix, err := b.c.generationSuffix(role, sctx)
	if err != nil {
		return ModelInput{}, err
	}
	if suffix != nil && suffix.Len() > 0 {
		chunks = append(chunks, *suffix)
	}
	if prefill != "" {
		chunks = append(chunks, b.enc(prefill))
	}
	return ModelInput{Chunks: chunks}, nil
}

func wrapMsg(b *base, i int, m *Message, err error) error {
	var re *Error
	if errors.As(err, &re) {
		return err
	}
	return b.errf(i, m, "%v", err)
}

// defaultGenerationSuffix renders an empty message and takes its header.
func (b *base) defaultGenerationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	rm, err := b.c.renderMessage(Message{Role: role}, ctx)
	if err != nil {
		return nil, err
	}
	return rm.Header, nil
}

func defaultTurnStart(msgs []Message) int { return lastUserIndex(msgs) + 1 }

func defaultOutputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	isAssistant := m.Role == "assistant"
	switch tow {
	case LastAssistantMessage:
		return ctx.IsLast && isAssistant
	case LastAssistantTurn:
		return isAssistant && ctx.InLastAssistantTurn
	case AllAssistantMessages:
		return isAssistant
	case AllMessages, AllTokens:
		return true
	case AllUserAndSystemMessages:
		return m.Role == "user" || m.Role == "system"
	case Customized:
		return m.Trainable != nil && *m.Trainable
	}
	return false
}

// buildSupervisedExample is Renderer.build_supervised_example.
func (b *base) buildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	if _, err := ParseTrainOnWhat(string(tow)); err != nil {
		return ModelInput{}, nil, &Error{Renderer: b.name, MsgIndex: -1, Err: err}
	}
	if err := b.validate(msgs); err != nil {
		return ModelInput{}, nil, err
	}
	type cw struct {
		c Chunk
		w float32
	}
	var parts []cw
	bos, err := b.c.bosTokens()
	if err != nil {
		return ModelInput{}, nil, err
	}
	if len(bos) > 0 {
		parts = append(parts, cw{Chunk{Tokens: bos, Text: b.tok.Decode(bos)}, 0})
	}
	lu := lastUserIndex(msgs)
	ts := b.c.turnStart(msgs[:max(len(msgs)-1, 0)])
	for i := range msgs {
		m := &msgs[i]
		if tow == Customized && m.Trainable == nil {
			return ModelInput{}, nil, b.errf(i, m, "train_on_what=customized needs a \"trainable\" field on every message")
		}
		if tow != Customized && m.Trainable != nil {
			return ModelInput{}, nil, b.errf(i, m, "message has a \"trainable\" field but train_on_what is %s; use customized or remove the field", tow)
		}
		ctx := b.ctxFor(msgs, i, lu, ts)
		rm, err := b.c.renderMessage(*m, ctx)
		if err != nil {
			return ModelInput{}, nil, wrapMsg(b, i, m, err)
		}
		var hw float32
		if tow == AllTokens {
			hw = 1
		}
		if rm.Header != nil {
			parts = append(parts, cw{*rm.Header, hw})
		}
		var ow float32
		if b.c.outputIsTrained(*m, ctx, tow) {
			ow = 1
		}
		for _, c := range rm.Output {
			parts = append(parts, cw{c, ow})
		}
		if ctx.IsLast && rm.StopOverlap != nil {
			parts = append(parts, cw{*rm.StopOverlap, ow})
		}
	}
	var mi ModelInput
	var weights []float32
	for _, p := range parts {
		mi.Chunks = append(mi.Chunks, p.c)
		for range p.c.Len() {
			weights = append(weights, p.w)
		}
	}
	weights, err = b.trainAfterGenerationPrompt(msgs, tow, mi, weights)
	if err != nil {
		return ModelInput{}, nil, err
	}
	return mi, weights, nil
}

func firstTrainedMessageIndex(msgs []Message, tow TrainOnWhat) int {
	var boundary int
	switch tow {
	case LastAssistantMessage:
		boundary = len(msgs) - 1
	case LastAssistantTurn:
		boundary = lastUserIndex(msgs) + 1
	default:
		return -1
	}
	if boundary < 0 || boundary >= len(msgs) || msgs[boundary].Role != "assistant" {
		return -1
	}
	return boundary
}

// trainAfterGenerationPrompt zeroes the weight of everything the generation
// prompt would have supplied (a prefill such as an open <think>), and
// refuses reasoning sent to a renderer whose prompt closes the think block.
func (b *base) trainAfterGenerationPrompt(msgs []Message, tow TrainOnWhat, mi ModelInput, weights []float32) ([]float32, error) {
	boundary := firstTrainedMessageIndex(msgs, tow)
	if boundary < 0 || mi.HasImages() {
		return weights, nil
	}
	prompt, err := b.self.BuildGenerationPrompt(msgs[:boundary], "assistant", "")
	if err != nil {
		return nil, err
	}
	pids, err := prompt.Ints()
	if err != nil {
		return weights, nil
	}
	ids, _ := mi.Ints()
	if len(pids) > len(ids) || !slices.Equal(ids[:len(pids)], pids) {
		if b.disables {
			return nil, b.errf(boundary, &msgs[boundary], "%s has thinking turned off: its generation prompt closes the think block, which tells the model not to reason, but this turn contains reasoning. Use the thinking version of this renderer, or remove the reasoning from this turn", b.name)
		}
		return weights, nil
	}
	out := make([]float32, len(weights))
	copy(out[len(pids):], weights[len(pids):])
	return out, nil
}

// buildSupervisedExamples is the default build_supervised_examples.
func (b *base) buildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	if b.ext {
		mi, w, err := b.self.BuildSupervisedExample(msgs, tow)
		if err != nil {
			return nil, err
		}
		return []Example{{mi, w}}, nil
	}
	var lo, hi int
	switch tow {
	case LastAssistantMessage:
		lo, hi = len(msgs)-1, len(msgs)
	case LastAssistantTurn:
		lo, hi = b.c.turnStart(msgs), len(msgs)
	case AllAssistantMessages:
		lo, hi = 0, len(msgs)
	default:
		return nil, &Error{Renderer: b.name, MsgIndex: -1, Err: fmt.Errorf("build_supervised_examples cannot split %s for a renderer without the extension property: it weights messages that are not turns the model produces", tow)}
	}
	var out []Example
	for i := max(lo, 0); i < hi; i++ {
		if msgs[i].Role != "assistant" {
			continue
		}
		mi, w, err := b.self.BuildSupervisedExample(msgs[:i+1], LastAssistantMessage)
		if err != nil {
			return nil, err
		}
		out = append(out, Example{mi, w})
	}
	return out, nil
}

// parseForStopToken is base.parse_response_for_stop_token.
func (b *base) parseForStopToken(resp []int, stop int) (Message, ParseTermination, error) {
	n := 0
	first := -1
	for i, t := range resp {
		if t == stop {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	switch n {
	case 0:
		return Message{Role: "assistant", Content: b.tok.Decode(resp)}, Malformed, nil
	case 1:
		return Message{Role: "assistant", Content: b.tok.Decode(resp[:first])}, StopSequence, nil
	}
	return Message{}, "", &Error{Renderer: b.name, MsgIndex: -1, Err: fmt.Errorf("when parsing response, expected at most one stop token but got %d; you are probably sampling with the wrong stop tokens", n)}
}

func (b *base) noTools() ([]Message, error) {
	return nil, &Error{Renderer: b.name, MsgIndex: -1, Err: fmt.Errorf("the %s format does not support tool calling", b.name)}
}

// remapErr rewrites the message index of an error after a renderer
// inserted `inserted` messages at position `at` of the caller's list
// (a default system prompt), so errors name the caller's message.
func remapErr(err error, at, inserted int) error {
	var re *Error
	if inserted == 0 || !errors.As(err, &re) || re.MsgIndex < at {
		return err
	}
	cp := *re
	if cp.MsgIndex < at+inserted {
		cp.MsgIndex = -1
		cp.Err = fmt.Errorf("in the system message the renderer inserts: %w", cp.Err)
	} else {
		cp.MsgIndex -= inserted
	}
	return &cp
}
