package renderers

import (
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// ---- role_colon ----

// roleColon is "User: ...\n\nAssistant: ...\n\n" with the string stop
// "\n\nUser:" whose "User:" half is the stop_overlap of a final assistant turn.
type roleColon struct{ base }

func newRoleColon(name string, tok tokenizer.Tokenizer) *roleColon {
	r := &roleColon{}
	r.base = base{name: name, tok: tok, c: r, self: r, ext: true, roles: []string{"system", "user", "assistant"}}
	return r
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

func (r *roleColon) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	text, err := m.ensureText()
	if err != nil {
		return RenderedMessage{}, err
	}
	h := r.enc(capitalize(m.Role) + ":")
	out := r.enc(" " + text + "\n\n")
	overlap := "<UNUSED>"
	if m.Role == "assistant" {
		overlap = "User:"
	}
	so := r.enc(overlap)
	return RenderedMessage{Header: &h, Output: []Chunk{out}, StopOverlap: &so}, nil
}

func (r *roleColon) bosTokens() ([]int, error) {
	if id := r.tok.BOS(); id >= 0 {
		return []int{id}, nil
	}
	return nil, nil
}
func (r *roleColon) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	return r.defaultGenerationSuffix(role, ctx)
}
func (r *roleColon) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *roleColon) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}

func (r *roleColon) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	return r.buildGenerationPrompt(msgs, role, prefill)
}
func (r *roleColon) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	return r.buildSupervisedExample(msgs, tow)
}
func (r *roleColon) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *roleColon) StopSequences() (StopSequences, error) {
	return StopSequences{Strings: []string{"\n\nUser:"}}, nil
}
func (r *roleColon) ConversationPrefixWithTools([]ToolSpec, string) ([]Message, error) {
	return r.noTools()
}

// ParseResponse splits on "\n\nUser:"; a trailing EOS without the delimiter
// is a clean EOS termination (base models on single-turn prompts).
func (r *roleColon) ParseResponse(resp []int) (Message, ParseTermination, error) {
	eos := r.tok.EOS()
	withEOS := false
	if eos >= 0 && len(resp) > 0 && resp[len(resp)-1] == eos {
		resp = resp[:len(resp)-1]
		withEOS = true
	}
	s := r.tok.Decode(resp)
	split := strings.Split(s, "\n\nUser:")
	content := strings.TrimSuffix(strings.TrimPrefix(split[0], " "), "\n\n")
	msg := Message{Role: "assistant", Content: content}
	switch {
	case len(split) == 1 && withEOS:
		return msg, EOS, nil
	case len(split) == 2 && !withEOS:
		return msg, StopSequence, nil
	}
	return msg, Malformed, nil
}

// ---- llama3 ----

type llama3 struct{ base }

func newLlama3(name string, tok tokenizer.Tokenizer) *llama3 {
	r := &llama3{}
	r.base = base{name: name, tok: tok, c: r, self: r, ext: true, roles: []string{"system", "user", "assistant", "ipython", "tool"}}
	return r
}

func (r *llama3) renderMessage(m Message, ctx RenderContext) (RenderedMessage, error) {
	text, err := m.ensureText()
	if err != nil {
		return RenderedMessage{}, err
	}
	h := r.enc("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n")
	return RenderedMessage{Header: &h, Output: []Chunk{r.enc(text + "<|eot_id|>")}}, nil
}
func (r *llama3) bosTokens() ([]int, error) { return r.tok.Encode("<|begin_of_text|>", false), nil }
func (r *llama3) generationSuffix(role string, ctx RenderContext) (*Chunk, error) {
	return r.defaultGenerationSuffix(role, ctx)
}
func (r *llama3) turnStart(msgs []Message) int { return defaultTurnStart(msgs) }
func (r *llama3) outputIsTrained(m Message, ctx RenderContext, tow TrainOnWhat) bool {
	return defaultOutputIsTrained(m, ctx, tow)
}
func (r *llama3) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	return r.buildGenerationPrompt(msgs, role, prefill)
}
func (r *llama3) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	return r.buildSupervisedExample(msgs, tow)
}
func (r *llama3) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}
func (r *llama3) StopSequences() (StopSequences, error) {
	id, err := r.special("<|eot_id|>")
	return StopSequences{Tokens: []int{id}}, err
}
func (r *llama3) ConversationPrefixWithTools([]ToolSpec, string) ([]Message, error) {
	return r.noTools()
}
func (r *llama3) ParseResponse(resp []int) (Message, ParseTermination, error) {
	id, err := r.special("<|eot_id|>")
	if err != nil {
		return Message{}, "", err
	}
	return r.parseForStopToken(resp, id)
}
