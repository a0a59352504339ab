package renderers

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/tkx-dev/tkx/tokenizer"
)

// JinjaConfig is what a generic template renderer needs from
// tokenizer_config.json.
type JinjaConfig struct {
	ChatTemplate string
	BOSToken     string
	EOSToken     string
	// Extra are additional template variables (enable_thinking, thinking,
	// reasoning_effort...).
	Extra map[string]any
	// Date is what strftime_now formats ("" = now).
	Date time.Time
}

// LoadJinjaConfig reads chat_template, bos_token and eos_token from a
// tokenizer_config.json.
func LoadJinjaConfig(path string) (JinjaConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return JinjaConfig{}, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return JinjaConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	var cfg JinjaConfig
	tokStr := func(k string) string {
		v, ok := raw[k]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		var o struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(v, &o)
		return o.Content
	}
	cfg.BOSToken, cfg.EOSToken = tokStr("bos_token"), tokStr("eos_token")
	ct, ok := raw["chat_template"]
	if !ok {
		return cfg, fmt.Errorf("%s: no chat_template", path)
	}
	if err := json.Unmarshal(ct, &cfg.ChatTemplate); err != nil {
		// a list of {name, template}: take "default"
		var named []struct{ Name, Template string }
		if json.Unmarshal(ct, &named) != nil || len(named) == 0 {
			return cfg, fmt.Errorf("%s: chat_template is neither a string nor a list of named templates", path)
		}
		cfg.ChatTemplate = named[0].Template
		for _, n := range named {
			if n.Name == "default" {
				cfg.ChatTemplate = n.Template
			}
		}
	}
	return cfg, nil
}

// Jinja renders conversations with a model's own chat template, like
// transformers' apply_chat_template. It is usable for models without a
// hand-written renderer and as an in-process cross-check of the
// hand-written ones. Tools are declared with a leading "tool_declare"
// message whose content is a JSON list of tool specs.
type Jinja struct {
	base
	tmpl *exec.Template
	cfg  JinjaConfig
}

var gonjaOnce sync.Once

// NewJinja compiles a chat template.
func NewJinja(name string, tok tokenizer.Tokenizer, cfg JinjaConfig) (*Jinja, error) {
	gonjaOnce.Do(func() { gonja.SetLoggerOutput(io.Discard) })
	conf := config.New()
	conf.TrimBlocks = true
	conf.LeftStripBlocks = true
	env := &exec.Environment{
		Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
		Filters:           exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters),
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           orderedMethods(),
	}
	_ = env.Filters.Replace("tojson", filterOrderedJSON)
	_ = env.Filters.Replace("items", filterOrderedItems)
	loader, err := loaders.NewFileSystemLoader("")
	if err != nil {
		return nil, err
	}
	root := "chat_template"
	shifted, err := loaders.NewShiftedLoader(root, strings.NewReader(cfg.ChatTemplate), loader)
	if err != nil {
		return nil, err
	}
	tmpl, err := exec.NewTemplate(root, conf, shifted, env)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	r := &Jinja{tmpl: tmpl, cfg: cfg}
	r.base = base{name: name, tok: tok, c: r, self: r, toolCalls: true,
		roles: []string{"system", "user", "assistant", "tool", "tool_declare", "developer"}}
	return r, nil
}

// ---- ordered maps for gonja ----

// gonja iterates Go maps in sorted order; the template must see Python's
// insertion order for tojson and items(). The order of every map we build
// is kept here, keyed by the map's identity.
type orderTable struct {
	mu    sync.Mutex
	order map[uintptr][]string
}

var mapOrder = &orderTable{order: map[uintptr][]string{}}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

func (t *orderTable) keys(m map[string]any) []string {
	t.mu.Lock()
	k, ok := t.order[mapID(m)]
	t.mu.Unlock()
	if ok && len(k) == len(m) {
		return k
	}
	out := make([]string, 0, len(m))
	for key := range m {
		out = append(out, key)
	}
	sortStrings(out)
	return out
}

// toTemplateValue converts parsed JSON (with *Object) to gonja values,
// remembering key order. The returned release func forgets the maps.
func toTemplateValue(v any, made *[]uintptr) any {
	switch x := v.(type) {
	case *Object:
		m := make(map[string]any, len(x.Keys))
		for _, k := range x.Keys {
			m[k] = toTemplateValue(x.Values[k], made)
		}
		id := mapID(m)
		mapOrder.mu.Lock()
		mapOrder.order[id] = append([]string(nil), x.Keys...)
		mapOrder.mu.Unlock()
		*made = append(*made, id)
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toTemplateValue(e, made)
		}
		return out
	case Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eEIN") {
			var i int64
			if _, err := fmt.Sscan(s, &i); err == nil {
				return int(i)
			}
		}
		var f float64
		fmt.Sscan(s, &f)
		return f
	}
	return v
}

func fromTemplateValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := NewObject()
		for _, k := range mapOrder.keys(x) {
			o.Set(k, fromTemplateValue(x[k]))
		}
		return o
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromTemplateValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case int:
		return Number(fmt.Sprint(x))
	case int64:
		return Number(fmt.Sprint(x))
	case float64:
		return Number(PyFloatRepr(x))
	case *exec.Value:
		return fromTemplateValue(x.Interface())
	}
	return v
}

// filterOrderedJSON is HF's tojson: json.dumps(x, ensure_ascii=False)
// with insertion order and ", "/": " separators (indent is honoured).
func filterOrderedJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var indent *exec.Value
	if err := params.Take(exec.KeywordArgument("indent", exec.AsValue(nil), func(v *exec.Value) error { indent = v; return nil }),
		exec.KeywordArgument("ensure_ascii", exec.AsValue(false), func(*exec.Value) error { return nil }),
		exec.KeywordArgument("sort_keys", exec.AsValue(false), func(*exec.Value) error { return nil }),
		exec.KeywordArgument("separators", exec.AsValue(nil), func(*exec.Value) error { return nil })); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	v := fromTemplateValue(in.Interface())
	if indent != nil && !indent.IsNil() && indent.IsInteger() {
		return exec.AsSafeValue(dumpIndent(v, indent.Integer(), 0))
	}
	return exec.AsSafeValue(DumpJSON(v, DumpOptions{ItemSep: ", ", KeySep: ": "}))
}

func dumpIndent(v any, n, level int) string {
	pad := strings.Repeat(" ", n*(level+1))
	end := strings.Repeat(" ", n*level)
	switch x := v.(type) {
	case *Object:
		if x.Len() == 0 {
			return "{}"
		}
		parts := make([]string, len(x.Keys))
		for i, k := range x.Keys {
			parts[i] = pad + DumpJSON(k, DumpOptions{}) + ": " + dumpIndent(x.Values[k], n, level+1)
		}
		return "{\n" + strings.Join(parts, ",\n") + "\n" + end + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pad + dumpIndent(e, n, level+1)
		}
		return "[\n" + strings.Join(parts, ",\n") + "\n" + end + "]"
	}
	return DumpJSON(v, DumpOptions{ItemSep: ", ", KeySep: ": "})
}

func filterOrderedItems(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	m, ok := in.Interface().(map[string]any)
	if !ok {
		return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("items: not a mapping")))
	}
	out := [][]any{}
	for _, k := range mapOrder.keys(m) {
		out = append(out, []any{k, m[k]})
	}
	items := make([]any, len(out))
	for i, p := range out {
		items[i] = p
	}
	return exec.AsValue(items)
}

func orderedMethods() exec.Methods {
	ms := builtins.Methods
	def := ms.Dict
	wrap := func(name string) exec.Method[map[string]any] {
		f, _ := def.Get(name)
		return f
	}
	dict := map[string]exec.Method[map[string]any]{}
	for _, n := range []string{"get", "pop", "setdefault", "update", "copy", "clear"} {
		if f := wrap(n); f != nil {
			dict[n] = f
		}
	}
	dict["keys"] = func(self map[string]any, _ *exec.Value, a *exec.VarArgs) (any, error) {
		return mapOrder.keys(self), nil
	}
	dict["values"] = func(self map[string]any, _ *exec.Value, a *exec.VarArgs) (any, error) {
		var out []any
		for _, k := range mapOrder.keys(self) {
			out = append(out, self[k])
		}
		return out, nil
	}
	dict["items"] = func(self map[string]any, _ *exec.Value, a *exec.VarArgs) (any, error) {
		out := []any{}
		for _, k := range mapOrder.keys(self) {
			out = append(out, []any{k, self[k]})
		}
		return out, nil
	}
	ms.Dict = exec.NewMethodSet(dict)
	return ms
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// ---- rendering ----

// templateMessage is to_openai_message: text content, reasoning_content,
// tool_calls with JSON-string arguments, tool_call_id and name.
func templateMessage(m Message) *Object {
	o := NewObject()
	o.Set("role", m.Role)
	if m.IsList() {
		o.Set("content", m.Text())
		if th := m.Thinking(); th != "" {
			o.Set("reasoning_content", th)
		}
	} else {
		o.Set("content", m.Content)
	}
	if len(m.ToolCalls) > 0 {
		o.Set("tool_calls", toolCallObjects(m.ToolCalls))
	}
	if m.Role == "tool" {
		if m.ToolCallID != "" {
			o.Set("tool_call_id", m.ToolCallID)
		}
		if m.Name != "" {
			o.Set("name", m.Name)
		}
	}
	return o
}

// RenderText runs the template (apply_chat_template with tokenize=False).
func (r *Jinja) RenderText(msgs []Message, addGenerationPrompt bool) (string, error) {
	var made []uintptr
	defer func() {
		mapOrder.mu.Lock()
		for _, id := range made {
			delete(mapOrder.order, id)
		}
		mapOrder.mu.Unlock()
	}()
	var conv []any
	var tools any
	for i, m := range msgs {
		if m.Role == "tool_declare" {
			v, err := ParseJSON(m.Content)
			if err != nil {
				return "", r.errf(i, &msgs[i], "tool_declare content is not JSON: %v", err)
			}
			arr, ok := v.([]any)
			if !ok {
				return "", r.errf(i, &msgs[i], "tool_declare content must be a JSON list of tools")
			}
			var wrapped []any
			for _, t := range arr {
				if to, ok := t.(*Object); ok {
					if _, has := to.Get("function"); !has {
						w := NewObject()
						w.Set("type", "function")
						w.Set("function", to)
						t = w
					}
				}
				wrapped = append(wrapped, t)
			}
			tools = toTemplateValue(wrapped, &made)
			continue
		}
		conv = append(conv, toTemplateValue(templateMessage(m), &made))
	}
	date := r.cfg.Date
	if date.IsZero() {
		date = time.Now()
	}
	data := map[string]any{
		"messages":              conv,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             r.cfg.BOSToken,
		"eos_token":             r.cfg.EOSToken,
		"raise_exception": func(msg string) (string, error) {
			return "", fmt.Errorf("template raised: %s", msg)
		},
		"strftime_now": func(format string) string { return strftime(date, format) },
	}
	if tools != nil {
		data["tools"] = tools
	}
	for k, v := range r.cfg.Extra {
		data[k] = v
	}
	out, err := r.tmpl.ExecuteToString(exec.NewContext(data))
	if err != nil {
		return "", &Error{Renderer: r.name, MsgIndex: -1, Err: fmt.Errorf("chat template: %w", err)}
	}
	return out, nil
}

func strftime(t time.Time, f string) string {
	repl := strings.NewReplacer("%Y", t.Format("2006"), "%m", t.Format("01"), "%d", t.Format("02"),
		"%B", t.Format("January"), "%b", t.Format("Jan"), "%H", t.Format("15"), "%M", t.Format("04"), "%S", t.Format("05"))
	return repl.Replace(f)
}

func (r *Jinja) renderMessage(Message, RenderContext) (RenderedMessage, error) {
	return RenderedMessage{}, fmt.Errorf("the jinja renderer renders whole conversations")
}
func (r *Jinja) bosTokens() ([]int, error)                              { return nil, nil }
func (r *Jinja) generationSuffix(string, RenderContext) (*Chunk, error) { return nil, nil }
func (r *Jinja) turnStart(msgs []Message) int                           { return defaultTurnStart(msgs) }
func (r *Jinja) outputIsTrained(m Message, c RenderContext, t TrainOnWhat) bool {
	return defaultOutputIsTrained(m, c, t)
}

// BuildGenerationPrompt renders with add_generation_prompt and tokenizes
// the whole text at once, like apply_chat_template(tokenize=True).
func (r *Jinja) BuildGenerationPrompt(msgs []Message, role, prefill string) (ModelInput, error) {
	if err := r.validate(msgs); err != nil {
		return ModelInput{}, err
	}
	if role != "" && role != "assistant" {
		return ModelInput{}, &Error{Renderer: r.name, MsgIndex: -1, Err: fmt.Errorf("a chat template can only prompt for the assistant, not %q", role)}
	}
	text, err := r.RenderText(msgs, true)
	if err != nil {
		return ModelInput{}, err
	}
	mi := ModelInput{Chunks: []Chunk{r.enc(text)}}
	if prefill != "" {
		mi.Chunks = append(mi.Chunks, r.enc(prefill))
	}
	return mi, nil
}

// BuildSupervisedExample renders the conversation and finds message spans
// by rendering its prefixes: message i spans from the render of
// messages[:i] to the render of messages[:i+1]; an assistant message's
// header is what the generation prompt adds. Templates that rewrite
// history (strip reasoning) cannot be split that way except at the last
// message; other modes then report which message broke the prefix rule.
func (r *Jinja) BuildSupervisedExample(msgs []Message, tow TrainOnWhat) (ModelInput, []float32, error) {
	if _, err := ParseTrainOnWhat(string(tow)); err != nil {
		return ModelInput{}, nil, &Error{Renderer: r.name, MsgIndex: -1, Err: err}
	}
	if err := r.validate(msgs); err != nil {
		return ModelInput{}, nil, err
	}
	full, err := r.RenderText(msgs, false)
	if err != nil {
		return ModelInput{}, nil, err
	}
	type seg struct {
		text string
		w    float32
	}
	var segs []seg
	pos := 0
	lu := lastUserIndex(msgs)
	ts := defaultTurnStart(msgs[:max(len(msgs)-1, 0)])
	for i := range msgs {
		if msgs[i].Role == "tool_declare" {
			continue
		}
		end := len(full)
		if i < len(msgs)-1 {
			next, err := r.RenderText(msgs[:i+1], false)
			if err != nil {
				return ModelInput{}, nil, err
			}
			if !strings.HasPrefix(full, next) || len(next) < pos {
				if i < firstTrained(msgs, tow) {
					continue // history we do not weight: merge into the next span
				}
				return ModelInput{}, nil, r.errf(i, &msgs[i], "the chat template renders this conversation's prefix differently from the whole (it rewrites history), so the message's tokens cannot be located; use a hand-written renderer or train_on_what=last_assistant_message")
			}
			end = len(next)
		}
		headerEnd := pos
		if msgs[i].Role == "assistant" {
			prompt, err := r.RenderText(msgs[:i], true)
			if err == nil && strings.HasPrefix(full, prompt) && len(prompt) >= pos && len(prompt) <= end {
				headerEnd = len(prompt)
			}
		}
		var hw, ow float32
		if tow == AllTokens {
			hw = 1
		}
		ctx := r.ctxFor(msgs, i, lu, ts)
		if tow == Customized && msgs[i].Trainable == nil {
			return ModelInput{}, nil, r.errf(i, &msgs[i], "train_on_what=customized needs a \"trainable\" field on every message")
		}
		if r.outputIsTrained(msgs[i], ctx, tow) {
			ow = 1
		}
		segs = append(segs, seg{full[pos:headerEnd], hw})
		out := full[headerEnd:end]
		tail := ""
		if i == len(msgs)-1 && r.cfg.EOSToken != "" {
			if k := strings.LastIndex(out, r.cfg.EOSToken); k >= 0 {
				out, tail = out[:k+len(r.cfg.EOSToken)], out[k+len(r.cfg.EOSToken):]
			}
		}
		segs = append(segs, seg{out, ow}, seg{tail, hw})
		pos = end
	}
	var mi ModelInput
	var w []float32
	for _, s := range segs {
		if s.text == "" {
			continue
		}
		c := r.enc(s.text)
		mi.Chunks = append(mi.Chunks, c)
		for range c.Tokens {
			w = append(w, s.w)
		}
	}
	return mi, w, nil
}

func firstTrained(msgs []Message, tow TrainOnWhat) int {
	switch tow {
	case LastAssistantMessage:
		return len(msgs) - 1
	case LastAssistantTurn:
		return lastUserIndex(msgs) + 1
	}
	return 0
}

func (r *Jinja) BuildSupervisedExamples(msgs []Message, tow TrainOnWhat) ([]Example, error) {
	return r.buildSupervisedExamples(msgs, tow)
}

func (r *Jinja) stopToken() (int, error) {
	if r.cfg.EOSToken != "" {
		if id, ok := r.tok.TokenToID(r.cfg.EOSToken); ok {
			return id, nil
		}
	}
	if id := r.tok.EOS(); id >= 0 {
		return id, nil
	}
	return 0, &Error{Renderer: r.name, MsgIndex: -1, Err: fmt.Errorf("no eos_token in tokenizer_config.json and the tokenizer has no EOS")}
}

func (r *Jinja) StopSequences() (StopSequences, error) {
	id, err := r.stopToken()
	return StopSequences{Tokens: []int{id}}, err
}

// ParseResponse splits at the EOS token and parses <think> and <tool_call>
// blocks (the common JSON tool-call convention).
func (r *Jinja) ParseResponse(resp []int) (Message, ParseTermination, error) {
	id, err := r.stopToken()
	if err != nil {
		return Message{}, "", err
	}
	msg, term, err := r.parseForStopToken(resp, id)
	if err != nil || !term.IsClean() {
		return msg, term, err
	}
	parseThinkAndToolCalls(&msg, true)
	return msg, term, nil
}

func (r *Jinja) ConversationPrefixWithTools(tools []ToolSpec, systemPrompt string) ([]Message, error) {
	var msgs []Message
	if len(tools) > 0 {
		arr := make([]any, len(tools))
		for i, t := range tools {
			arr[i] = t.Object
		}
		msgs = append(msgs, Message{Role: "tool_declare", Content: DumpJSON(arr, DumpOptions{ItemSep: ", ", KeySep: ": "})})
	}
	if systemPrompt != "" {
		msgs = append(msgs, Message{Role: "system", Content: systemPrompt})
	}
	return msgs, nil
}
