// Package starrenderers is the `renderers` Starlark module: the cookbook's
// chat renderers (build_generation_prompt, build_supervised_example,
// parse_response, ...) over the Go renderers package, with messages as
// plain Starlark dicts.
package starrenderers

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/builtins/startokenizers"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/renderers"
)

func constStruct(name string, kv map[string]string) *starlarkstruct.Struct {
	d := starlark.StringDict{}
	for k, v := range kv {
		d[k] = starlark.String(v)
	}
	return starlarkstruct.FromStringDict(starlark.String(name), d)
}

var trainOnWhat = func() *starlarkstruct.Struct {
	kv := map[string]string{}
	for _, v := range renderers.TrainOnWhatValues {
		kv[strings.ToUpper(string(v))] = string(v)
	}
	return constStruct("TrainOnWhat", kv)
}()

var parseTermination = constStruct("ParseTermination", map[string]string{
	"STOP_SEQUENCE": string(renderers.StopSequence),
	"EOS":           string(renderers.EOS),
	"MALFORMED":     string(renderers.Malformed),
})

// Module is the renderers module.
var Module = &host.Module{
	Name: "renderers",
	Doc: `Chat renderers of the cookbook, token for token: a renderer turns a
conversation (a list of message dicts {"role", "content", "tool_calls",
"tool_call_id", "name", "trainable"}; content is a string or a list of
{"type": "text"|"thinking"|"image", ...} parts) into model tokens and
parses sampled tokens back. A renderer value has build_generation_prompt,
build_supervised_example, build_supervised_examples, get_stop_sequences,
parse_response, create_conversation_prefix_with_tools and the attributes
name, tokenizer, has_extension_property, disables_thinking.`,
	Funcs: []host.Func{
		{Name: "get_renderer", Impl: getRenderer, Doc: `get_renderer(name, tokenizer, current_date=None) -> renderer

The renderer registered under name (role_colon, llama3, qwen3, qwen3_5,
deepseekv3, kimi_k2, gpt_oss_medium_reasoning, ... see names()) over a
tokenizer. current_date (YYYY-MM-DD) fixes gpt-oss's system prompt date.
An unknown name fails naming the closest ones.

renderer.build_generation_prompt(messages, role="assistant", prefill=None) -> ModelInput
renderer.build_supervised_example(messages, train_on_what="last_assistant_message") -> (ModelInput, weights)
renderer.build_supervised_examples(messages, train_on_what="last_assistant_turn") -> [(ModelInput, weights)]
renderer.get_stop_sequences() -> list of token ids (or strings for role_colon)
renderer.parse_response(tokens) -> (message, termination)   termination: "stop_sequence" | "eos" | "malformed"
renderer.parse_response_streaming(tokens) -> (deltas, message, termination)   qwen3*, deepseekv3*, kimi*, nemotron3*
renderer.create_conversation_prefix_with_tools(tools, system_prompt="") -> list of messages`},
		{Name: "get", Impl: getRenderer, Doc: `get(name, tokenizer, current_date=None) -> renderer

Same as get_renderer.`},
		{Name: "from_chat_template", Impl: fromChatTemplate, Doc: `from_chat_template(tokenizer, path=None, template=None, bos_token="", eos_token="", variables=None) -> renderer

A generic renderer that runs a model's own Jinja chat_template (from a
tokenizer_config.json path or directory, or a template string), like
transformers' apply_chat_template; variables are extra template variables
(e.g. {"enable_thinking": False}). Tools are declared with a leading
{"role": "tool_declare", "content": json_list_of_tools} message.`},
		{Name: "names", Impl: names, Doc: `names() -> list of str

Every renderer name, sorted.`},
		{Name: "get_text_content", Impl: getTextContent, Doc: `get_text_content(message) -> str

The text of a message without its thinking parts.`},
		{Name: "classify_parse_failure", Impl: classifyParseFailure, Doc: `classify_parse_failure(message, termination) -> None or (kind, detail)

None when parse_response's result is clean; ("structural", detail) when the
response did not terminate cleanly; ("content", detail) when tool calls
could not be parsed.`},
	},
	Consts: []host.Const{
		{Name: "TrainOnWhat", Value: trainOnWhat, Doc: "Constants LAST_ASSISTANT_MESSAGE, LAST_ASSISTANT_TURN, ALL_ASSISTANT_MESSAGES, ALL_MESSAGES, ALL_TOKENS,\nALL_USER_AND_SYSTEM_MESSAGES, CUSTOMIZED; their values are the lower-case names, which are accepted too."},
		{Name: "ParseTermination", Value: parseTermination, Doc: "Constants STOP_SEQUENCE, EOS, MALFORMED; their values are \"stop_sequence\", \"eos\", \"malformed\"."},
	},
}

// RendererValue is a renderer in scripts.
type RendererValue struct{ r renderers.Renderer }

// AsRenderer returns the Go renderer of a Starlark renderer value.
func AsRenderer(v starlark.Value) (renderers.Renderer, bool) {
	rv, ok := v.(*RendererValue)
	if !ok {
		return nil, false
	}
	return rv.r, true
}

// NewRenderer wraps a Go renderer.
func NewRenderer(r renderers.Renderer) *RendererValue { return &RendererValue{r} }

func (v *RendererValue) String() string        { return fmt.Sprintf("<renderer %s>", v.r.Name()) }
func (v *RendererValue) Type() string          { return "renderer" }
func (v *RendererValue) Freeze()               {}
func (v *RendererValue) Truth() starlark.Bool  { return true }
func (v *RendererValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: renderer") }

var rendererMethods = map[string]*starlark.Builtin{
	"build_generation_prompt":               starlark.NewBuiltin("build_generation_prompt", buildGenerationPrompt),
	"build_supervised_example":              starlark.NewBuiltin("build_supervised_example", buildSupervisedExample),
	"build_supervised_examples":             starlark.NewBuiltin("build_supervised_examples", buildSupervisedExamples),
	"get_stop_sequences":                    starlark.NewBuiltin("get_stop_sequences", getStopSequences),
	"parse_response":                        starlark.NewBuiltin("parse_response", parseResponse),
	"parse_response_streaming":              starlark.NewBuiltin("parse_response_streaming", parseResponseStreaming),
	"create_conversation_prefix_with_tools": starlark.NewBuiltin("create_conversation_prefix_with_tools", prefixWithTools),
}

var rendererAttrNames = func() []string {
	n := []string{"name", "tokenizer", "has_extension_property", "disables_thinking"}
	for k := range rendererMethods {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}()

func (v *RendererValue) AttrNames() []string { return rendererAttrNames }

func (v *RendererValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(v.r.Name()), nil
	case "tokenizer":
		return startokenizers.New(v.r.Tokenizer()), nil
	case "has_extension_property":
		return starlark.Bool(v.r.HasExtensionProperty()), nil
	case "disables_thinking":
		return starlark.Bool(v.r.DisablesThinking()), nil
	}
	if m, ok := rendererMethods[name]; ok {
		return m.BindReceiver(v), nil
	}
	return nil, nil
}

func recv(fn *starlark.Builtin) renderers.Renderer { return fn.Receiver().(*RendererValue).r }

func fname(fn *starlark.Builtin) string {
	return "renderer." + fn.Name()
}

func buildGenerationPrompt(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msgs starlark.Value
	role := "assistant"
	var prefill starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fname(fn), args, kwargs, "messages", &msgs, "role?", &role, "prefill?", &prefill); err != nil {
		return nil, err
	}
	ms, err := messagesFromStarlark(msgs, fname(fn))
	if err != nil {
		return nil, err
	}
	pf := ""
	if s, ok := prefill.(starlark.String); ok {
		pf = string(s)
	} else if prefill != starlark.None {
		return nil, fmt.Errorf("%s: prefill: want a string or None, got %s", fname(fn), prefill.Type())
	}
	mi, err := recv(fn).BuildGenerationPrompt(ms, role, pf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	return NewModelInput(mi), nil
}

func towArg(fnName string, v starlark.Value, def renderers.TrainOnWhat) (renderers.TrainOnWhat, error) {
	if v == nil || v == starlark.None {
		return def, nil
	}
	s, ok := v.(starlark.String)
	if !ok {
		return "", fmt.Errorf("%s: train_on_what: want a string (renderers.TrainOnWhat.*), got %s", fnName, v.Type())
	}
	t, err := renderers.ParseTrainOnWhat(strings.ToLower(string(s)))
	if err != nil {
		return "", fmt.Errorf("%s: %v", fnName, err)
	}
	return t, nil
}

// supervisedArgs unpacks (messages, train_on_what=dflt) of the
// build_supervised_example(s) methods.
func supervisedArgs(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, dflt renderers.TrainOnWhat) ([]renderers.Message, renderers.TrainOnWhat, error) {
	var msgs, tow starlark.Value
	if err := starlark.UnpackArgs(fname(fn), args, kwargs, "messages", &msgs, "train_on_what?", &tow); err != nil {
		return nil, "", err
	}
	t, err := towArg(fname(fn), tow, dflt)
	if err != nil {
		return nil, "", err
	}
	ms, err := messagesFromStarlark(msgs, fname(fn))
	return ms, t, err
}

func buildSupervisedExample(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ms, t, err := supervisedArgs(fn, args, kwargs, renderers.LastAssistantMessage)
	if err != nil {
		return nil, err
	}
	mi, w, err := recv(fn).BuildSupervisedExample(ms, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	return starlark.Tuple{NewModelInput(mi), host.Floats(w)}, nil
}

func buildSupervisedExamples(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ms, t, err := supervisedArgs(fn, args, kwargs, renderers.LastAssistantTurn)
	if err != nil {
		return nil, err
	}
	exs, err := recv(fn).BuildSupervisedExamples(ms, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	out := make([]starlark.Value, len(exs))
	for i, e := range exs {
		out[i] = starlark.Tuple{NewModelInput(e.Input), host.Floats(e.Weights)}
	}
	return starlark.NewList(out), nil
}

func getStopSequences(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fname(fn), args, kwargs); err != nil {
		return nil, err
	}
	ss, err := recv(fn).StopSequences()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	var vals []starlark.Value
	for _, id := range ss.Tokens {
		vals = append(vals, starlark.MakeInt(id))
	}
	for _, s := range ss.Strings {
		vals = append(vals, starlark.String(s))
	}
	return starlark.NewList(vals), nil
}

func parseResponse(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var toks starlark.Value
	if err := starlark.UnpackArgs(fname(fn), args, kwargs, "tokens", &toks); err != nil {
		return nil, err
	}
	ids, err := tokenArg(fn, toks)
	if err != nil {
		return nil, err
	}
	m, term, err := recv(fn).ParseResponse(ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	return starlark.Tuple{messageToStarlark(m), starlark.String(term)}, nil
}

func parseResponseStreaming(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var toks starlark.Value
	if err := starlark.UnpackArgs(fname(fn), args, kwargs, "tokens", &toks); err != nil {
		return nil, err
	}
	ids, err := tokenArg(fn, toks)
	if err != nil {
		return nil, err
	}
	var deltas []starlark.Value
	m, term, err := renderers.ParseResponseStreaming(recv(fn), ids, func(d renderers.Delta) {
		dd := starlark.NewDict(3)
		switch d.Kind {
		case renderers.DeltaHeader:
			_ = dd.SetKey(starlark.String("type"), starlark.String("header"))
			_ = dd.SetKey(starlark.String("role"), starlark.String(d.Role))
		case renderers.DeltaText:
			_ = dd.SetKey(starlark.String("type"), starlark.String("text"))
			_ = dd.SetKey(starlark.String("text"), starlark.String(d.Text))
			_ = dd.SetKey(starlark.String("content_index"), starlark.MakeInt(d.ContentIndex))
		case renderers.DeltaThinking:
			_ = dd.SetKey(starlark.String("type"), starlark.String("thinking"))
			_ = dd.SetKey(starlark.String("thinking"), starlark.String(d.Text))
			_ = dd.SetKey(starlark.String("content_index"), starlark.MakeInt(d.ContentIndex))
		}
		deltas = append(deltas, dd)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	return starlark.Tuple{starlark.NewList(deltas), messageToStarlark(m), starlark.String(term)}, nil
}

// tokenArg reads a list of token ids or a ModelInput.
func tokenArg(fn *starlark.Builtin, toks starlark.Value) ([]int, error) {
	var ids []int
	if _, ok := toks.(starlark.Iterable); !ok {
		pm, err := startinker.AsModelInput(toks, fname(fn)+": tokens")
		if err != nil {
			return nil, err
		}
		t32, err := pm.Tokens()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fname(fn), err)
		}
		for _, t := range t32 {
			ids = append(ids, int(t))
		}
	} else {
		iter, ok := toks.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("%s: tokens: want a list of token ids, got %s", fname(fn), toks.Type())
		}
		it := iter.Iterate()
		defer it.Done()
		var x starlark.Value
		vs := recv(fn).Tokenizer().VocabSize()
		for i := 0; it.Next(&x); i++ {
			n, err := starlark.AsInt32(x)
			if err != nil {
				return nil, fmt.Errorf("%s: tokens[%d]: %v", fname(fn), i, err)
			}
			if n < 0 || n >= vs {
				return nil, fmt.Errorf("%s: tokens[%d] = %d is not a token id (vocabulary size %d)", fname(fn), i, n, vs)
			}
			ids = append(ids, n)
		}
	}
	return ids, nil
}

func prefixWithTools(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tools *starlark.List
	system := ""
	if err := starlark.UnpackArgs(fname(fn), args, kwargs, "tools", &tools, "system_prompt?", &system); err != nil {
		return nil, err
	}
	var specs []renderers.ToolSpec
	for i := 0; i < tools.Len(); i++ {
		jv, err := toJSONValue(tools.Index(i), fmt.Sprintf("%s: tools[%d]", fname(fn), i))
		if err != nil {
			return nil, err
		}
		o, ok := jv.(*renderers.Object)
		if !ok || o.GetString("name") == "" {
			return nil, fmt.Errorf("%s: tools[%d]: want a dict with \"name\", \"description\" and \"parameters\"", fname(fn), i)
		}
		specs = append(specs, renderers.ToolSpec{Object: o})
	}
	msgs, err := recv(fn).ConversationPrefixWithTools(specs, system)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fname(fn), err)
	}
	out := make([]starlark.Value, len(msgs))
	for i, m := range msgs {
		out[i] = messageToStarlark(m)
	}
	return starlark.NewList(out), nil
}

// ---- ModelInput ----

// ToProtocol converts a rendered model input to the Tinker wire type;
// image placeholders become image_asset_pointer chunks.
func ToProtocol(m renderers.ModelInput) protocol.ModelInput {
	var out protocol.ModelInput
	for _, c := range m.Chunks {
		if c.Image != nil {
			n := int32(c.Image.ExpectedTokens)
			out.Chunks = append(out.Chunks, protocol.Chunk{Type: protocol.ChunkImageAssetPointer, Location: c.Image.Source, Format: "jpeg", ExpectedTokens: &n})
			continue
		}
		toks := make([]int32, len(c.Tokens))
		for i, t := range c.Tokens {
			toks[i] = int32(t)
		}
		out.Chunks = append(out.Chunks, protocol.TextChunk(toks))
	}
	return out
}

// NewModelInput is the script value of a rendered input: a tinker ModelInput.
func NewModelInput(m renderers.ModelInput) starlark.Value {
	return startinker.NewModelInput(ToProtocol(m))
}

// ---- module functions ----

func tokArg(fnName string, v starlark.Value) (*startokenizers.Tokenizer, error) {
	t, ok := v.(*startokenizers.Tokenizer)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter tokenizer: got %s, want tokenizer (from tokenizers.for_model, from_file or local_byte)", fnName, v.Type())
	}
	return t, nil
}

func getRenderer(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var tokV starlark.Value
	date := ""
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "tokenizer", &tokV, "current_date?", &date); err != nil {
		return nil, err
	}
	t, err := tokArg(fn.Name(), tokV)
	if err != nil {
		return nil, err
	}
	if date != "" {
		if _, err := time.Parse("2006-01-02", date); err != nil {
			return nil, fmt.Errorf("%s: current_date: want YYYY-MM-DD, got %q", fn.Name(), date)
		}
	}
	r, err := renderers.GetWithOptions(name, t.Go(), renderers.Options{CurrentDate: date})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return NewRenderer(r), nil
}

func fromChatTemplate(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tokV starlark.Value
	path, template, bos, eos := "", "", "", ""
	var variables *starlark.Dict
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tokenizer", &tokV, "path?", &path, "template?", &template,
		"bos_token?", &bos, "eos_token?", &eos, "variables?", &variables); err != nil {
		return nil, err
	}
	t, err := tokArg(fn.Name(), tokV)
	if err != nil {
		return nil, err
	}
	var cfg renderers.JinjaConfig
	switch {
	case path != "" && template != "":
		return nil, fmt.Errorf("%s: give path or template, not both", fn.Name())
	case path != "":
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path += "/tokenizer_config.json"
		}
		cfg, err = renderers.LoadJinjaConfig(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fn.Name(), err)
		}
	case template != "":
		cfg.ChatTemplate = template
	default:
		return nil, fmt.Errorf("%s: need path (tokenizer_config.json) or template", fn.Name())
	}
	if bos != "" {
		cfg.BOSToken = bos
	}
	if eos != "" {
		cfg.EOSToken = eos
	}
	if variables != nil {
		cfg.Extra = map[string]any{}
		for _, kv := range variables.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: variables: keys must be strings", fn.Name())
			}
			jv, err := toJSONValue(kv[1], "variables."+string(k))
			if err != nil {
				return nil, fmt.Errorf("%s: %v", fn.Name(), err)
			}
			if n, ok := jv.(renderers.Number); ok {
				var i int
				fmt.Sscan(string(n), &i)
				jv = i
			}
			cfg.Extra[string(k)] = jv
		}
	}
	name := "jinja"
	if path != "" {
		name = "jinja:" + path
	}
	r, err := renderers.NewJinja(name, t.Go(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return NewRenderer(r), nil
}

func names(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	var vals []starlark.Value
	for _, n := range renderers.Names() {
		vals = append(vals, starlark.String(n))
	}
	return starlark.NewList(vals), nil
}

func getTextContent(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "message", &msg); err != nil {
		return nil, err
	}
	m, err := messageFromStarlark(msg, fn.Name()+": message")
	if err != nil {
		return nil, err
	}
	return starlark.String(m.Text()), nil
}

func classifyParseFailure(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	var term string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "message", &msg, "termination", &term); err != nil {
		return nil, err
	}
	m, err := messageFromStarlark(msg, fn.Name()+": message")
	if err != nil {
		return nil, err
	}
	switch renderers.ParseTermination(term) {
	case renderers.StopSequence, renderers.EOS, renderers.Malformed:
	default:
		return nil, fmt.Errorf("%s: termination %q is not one of stop_sequence, eos, malformed", fn.Name(), term)
	}
	k, detail := renderers.ClassifyParseFailure(m, renderers.ParseTermination(term))
	if k == "" {
		return starlark.None, nil
	}
	return starlark.Tuple{starlark.String(k), starlark.String(detail)}, nil
}
