package startinker

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/protocol"
)

// ---------------------------------------------------------------------------
// ModelInput and chunks

func newChunk(c protocol.Chunk) *object {
	o := &object{typ: "EncodedTextChunk", payload: c, fields: []string{"tokens", "length"}}
	switch c.Type {
	case protocol.ChunkImage:
		o.typ, o.fields = "ImageChunk", []string{"format", "expected_tokens", "length"}
	case protocol.ChunkImageAssetPointer:
		o.typ, o.fields = "ImageAssetPointerChunk", []string{"format", "location", "expected_tokens", "length"}
	case protocol.ChunkDmel:
		o.typ, o.fields = "DmelChunk", []string{"length"}
	}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "tokens":
			return host.Ints(c.Tokens), c.Type == protocol.ChunkEncodedText, nil
		case "length":
			n, err := c.Length()
			return starlark.MakeInt(n), true, err
		case "type":
			return starlark.String(c.Type), true, nil
		case "format":
			return starlark.String(c.Format), true, nil
		case "location":
			return starlark.String(c.Location), true, nil
		case "expected_tokens":
			if c.ExpectedTokens == nil {
				return starlark.None, true, nil
			}
			return starlark.MakeInt(int(*c.ExpectedTokens)), true, nil
		}
		return nil, false, nil
	}
	return o
}

func newModelInput(m protocol.ModelInput) *object {
	o := &object{typ: "ModelInput", payload: m, fields: []string{"chunks", "length"}}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "chunks":
			l := make([]starlark.Value, len(m.Chunks))
			for i, c := range m.Chunks {
				l[i] = newChunk(c)
			}
			return starlark.NewList(l), true, nil
		case "length":
			n, err := m.Length()
			return starlark.MakeInt(n), true, err
		}
		return nil, false, nil
	}
	o.repr = func() string {
		if toks, err := m.Tokens(); err == nil {
			return "ModelInput(tokens=" + shortRepr(host.Ints(toks)) + ")"
		}
		parts := make([]string, len(m.Chunks))
		for i, c := range m.Chunks {
			parts[i] = newChunk(c).String()
		}
		return "ModelInput(chunks=[" + strings.Join(parts, ", ") + "])"
	}
	o.method("to_ints", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		toks, err := m.Tokens()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		return host.Ints(toks), nil
	})
	return o
}

func asInt32s(v starlark.Value, what string) ([]int32, error) {
	ints, err := host.AsInts(v, what)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(ints))
	for i, x := range ints {
		out[i] = int32(x)
	}
	return out, nil
}

// asModelInput accepts a ModelInput or a list of token ids.
func asModelInput(v starlark.Value, what string) (protocol.ModelInput, error) {
	if o, ok := v.(*object); ok {
		if m, ok := o.payload.(protocol.ModelInput); ok {
			return m, nil
		}
		return protocol.ModelInput{}, fmt.Errorf("%s: want ModelInput or a list of token ids, got %s", what, o.typ)
	}
	toks, err := asInt32s(v, what)
	if err != nil {
		return protocol.ModelInput{}, fmt.Errorf("%s: want ModelInput or a list of token ids, got %s", what, v.Type())
	}
	return protocol.FromTokens(toks), nil
}

// tokensArg unpacks the single "tokens" parameter of the token-list constructors.
func tokensArg(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) ([]int32, error) {
	var tokens starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tokens", &tokens); err != nil {
		return nil, err
	}
	return asInt32s(tokens, fn.Name()+": tokens")
}

func encodedTextChunkFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	toks, err := tokensArg(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	return newChunk(protocol.TextChunk(toks)), nil
}

func modelInputFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var chunks *starlark.List
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "chunks", &chunks); err != nil {
		return nil, err
	}
	var m protocol.ModelInput
	for i := 0; i < chunks.Len(); i++ {
		o, ok := chunks.Index(i).(*object)
		c, ok2 := protocol.Chunk{}, false
		if ok {
			c, ok2 = o.payload.(protocol.Chunk)
		}
		if !ok2 {
			return nil, fmt.Errorf("%s: chunks[%d]: want a chunk (tinker.encoded_text_chunk), got %s", fn.Name(), i, chunks.Index(i).Type())
		}
		m.Chunks = append(m.Chunks, c)
	}
	return newModelInput(m), nil
}

func modelInputFromIntsFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	toks, err := tokensArg(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	return newModelInput(protocol.FromTokens(toks)), nil
}

func emptyModelInputFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return newModelInput(protocol.ModelInput{}), nil
}

// ---------------------------------------------------------------------------
// TensorData

func newTensor(t protocol.TensorData) *object {
	o := &object{typ: "TensorData", payload: t, fields: []string{"data", "dtype", "shape"}}
	data := func() *starlark.List {
		if t.DType == protocol.DTypeInt64 {
			return host.Ints(t.Int64)
		}
		return host.Floats(t.Float32)
	}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "data":
			return data(), true, nil
		case "dtype":
			return starlark.String(t.DType), true, nil
		case "shape":
			if t.Shape == nil {
				return host.Ints([]int64{int64(t.Len())}), true, nil
			}
			return host.Ints(t.Shape), true, nil
		}
		return nil, false, nil
	}
	o.repr = func() string {
		s := "TensorData(" + shortRepr(data()) + ", dtype=" + string(t.DType)
		if t.Shape != nil {
			s += ", shape=" + shortRepr(host.Ints(t.Shape))
		}
		if t.IsSparse() {
			s += ", sparse"
		}
		return s + ")"
	}
	o.method("tolist", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		if !t.IsSparse() {
			return data(), nil
		}
		d, err := t.Dense()
		if err != nil {
			return nil, err
		}
		return host.Floats(d), nil
	})
	return o
}

// asTensor accepts a TensorData or a list of numbers, whose dtype comes
// from the key (target_tokens → int64, others → float32).
func asTensor(v starlark.Value, key, what string) (protocol.TensorData, error) {
	if o, ok := v.(*object); ok {
		if t, ok := o.payload.(protocol.TensorData); ok {
			return t, nil
		}
		return protocol.TensorData{}, fmt.Errorf("%s: want TensorData or a list of numbers, got %s", what, o.typ)
	}
	return tensorFromList(v, protocol.InputDType(key), nil, what)
}

func tensorFromList(v starlark.Value, dt protocol.DType, shape []int64, what string) (protocol.TensorData, error) {
	t := protocol.TensorData{DType: dt, Shape: shape}
	switch dt {
	case protocol.DTypeInt64:
		ints, err := host.AsInts(v, what)
		if err != nil {
			return t, err
		}
		t.Int64 = make([]int64, len(ints))
		for i, x := range ints {
			t.Int64[i] = int64(x)
		}
	case protocol.DTypeFloat32:
		fs, err := host.AsFloats(v, what)
		if err != nil {
			return t, err
		}
		t.Float32 = make([]float32, len(fs))
		for i, x := range fs {
			t.Float32[i] = float32(x)
		}
	default:
		return t, fmt.Errorf("%s: dtype %q: want \"float32\" or \"int64\"", what, dt)
	}
	if err := t.Check(); err != nil {
		return t, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

func tensorDataFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	var dtype string
	var shape starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "data", &data, "dtype?", &dtype, "shape?", &shape); err != nil {
		return nil, err
	}
	if dtype == "" {
		dtype = string(protocol.DTypeFloat32)
		if l, ok := data.(starlark.Indexable); ok && l.Len() > 0 {
			if _, isInt := l.Index(0).(starlark.Int); isInt {
				dtype = string(protocol.DTypeInt64)
			}
		}
	}
	var shp []int64
	if shape != starlark.None {
		ints, err := host.AsInts(shape, fn.Name()+": shape")
		if err != nil {
			return nil, err
		}
		for _, d := range ints {
			shp = append(shp, int64(d))
		}
	}
	t, err := tensorFromList(data, protocol.DType(dtype), shp, fn.Name()+": data")
	if err != nil {
		return nil, err
	}
	return newTensor(t), nil
}

// ---------------------------------------------------------------------------
// Datum

func newDatum(d protocol.Datum) *object {
	o := &object{typ: "Datum", payload: d, fields: []string{"model_input", "loss_fn_inputs"}}
	keys := make([]string, 0, len(d.LossFnInputs))
	for k := range d.LossFnInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "model_input":
			return newModelInput(d.ModelInput), true, nil
		case "loss_fn_inputs":
			dict := starlark.NewDict(len(keys))
			for _, k := range keys {
				_ = dict.SetKey(starlark.String(k), newTensor(d.LossFnInputs[k]))
			}
			return dict, true, nil
		}
		return nil, false, nil
	}
	return o
}

func asDatum(v starlark.Value, what string) (protocol.Datum, error) {
	if o, ok := v.(*object); ok {
		if d, ok := o.payload.(protocol.Datum); ok {
			return d, nil
		}
		return protocol.Datum{}, fmt.Errorf("%s: want Datum (tinker.datum), got %s", what, o.typ)
	}
	return protocol.Datum{}, fmt.Errorf("%s: want Datum (tinker.datum), got %s", what, v.Type())
}

func asData(v starlark.Value, what string) ([]protocol.Datum, error) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of Datum, got %s", what, v.Type())
	}
	out := make([]protocol.Datum, seq.Len())
	for i := range out {
		d, err := asDatum(seq.Index(i), fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func datumFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mi starlark.Value
	var inputs *starlark.Dict
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_input", &mi, "loss_fn_inputs?", &inputs); err != nil {
		return nil, err
	}
	m, err := asModelInput(mi, fn.Name()+": model_input")
	if err != nil {
		return nil, err
	}
	d := protocol.Datum{ModelInput: m, LossFnInputs: map[string]protocol.TensorData{}}
	if inputs != nil {
		for _, kv := range inputs.Items() {
			k, ok := starlark.AsString(kv[0])
			if !ok {
				return nil, fmt.Errorf("%s: loss_fn_inputs keys must be strings, got %s", fn.Name(), kv[0].Type())
			}
			t, err := asTensor(kv[1], k, fmt.Sprintf("%s: loss_fn_inputs[%q]", fn.Name(), k))
			if err != nil {
				return nil, err
			}
			d.LossFnInputs[k] = t
		}
	}
	// Catch length mismatches where the datum is made (the batch check
	// at send time names the datum's index too).
	if err := protocol.ValidateDatum(0, &d, ""); err != nil {
		return nil, fmt.Errorf("%s: %s", fn.Name(), strings.TrimPrefix(err.Error(), "datum 0: "))
	}
	return newDatum(d), nil
}

// ---------------------------------------------------------------------------
// Parameters

func newAdamParams(p protocol.AdamParams) *object {
	return record("AdamParams", p,
		"learning_rate", starlark.Float(p.LearningRate), "beta1", starlark.Float(p.Beta1), "beta2", starlark.Float(p.Beta2),
		"eps", starlark.Float(p.Eps), "weight_decay", starlark.Float(p.WeightDecay), "grad_clip_norm", starlark.Float(p.GradClipNorm))
}

func adamParamsFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d := protocol.DefaultAdamParams()
	lr, b1, b2, eps, wd, clip := host.Number(d.LearningRate), host.Number(d.Beta1), host.Number(d.Beta2), host.Number(d.Eps), host.Number(0), host.Number(0)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "learning_rate?", &lr, "beta1?", &b1, "beta2?", &b2, "eps?", &eps, "weight_decay?", &wd, "grad_clip_norm?", &clip); err != nil {
		return nil, err
	}
	p := protocol.AdamParams{LearningRate: float64(lr), Beta1: float64(b1), Beta2: float64(b2), Eps: float64(eps), WeightDecay: float64(wd), GradClipNorm: float64(clip)}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return newAdamParams(p), nil
}

func asAdamParams(v starlark.Value, what string) (protocol.AdamParams, error) {
	if o, ok := v.(*object); ok {
		if p, ok := o.payload.(protocol.AdamParams); ok {
			return p, nil
		}
	}
	return protocol.AdamParams{}, fmt.Errorf("%s: want AdamParams (tinker.adam_params), got %s", what, v.Type())
}

func newSamplingParams(p protocol.SamplingParams) *object {
	var stop starlark.Value = starlark.None
	if p.Stop != nil {
		switch {
		case p.Stop.Tokens != nil:
			stop = host.Ints(p.Stop.Tokens)
		case p.Stop.Single && len(p.Stop.Strings) == 1:
			stop = starlark.String(p.Stop.Strings[0])
		default:
			l := make([]starlark.Value, len(p.Stop.Strings))
			for i, s := range p.Stop.Strings {
				l[i] = starlark.String(s)
			}
			stop = starlark.NewList(l)
		}
	}
	var seed starlark.Value = starlark.None
	if p.Seed != nil {
		seed = starlark.MakeInt64(*p.Seed)
	}
	return record("SamplingParams", p, "max_tokens", optInt(p.MaxTokens), "seed", seed, "stop", stop,
		"temperature", starlark.Float(p.Temperature), "top_k", starlark.MakeInt(p.TopK), "top_p", starlark.Float(p.TopP))
}

func samplingParamsFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := protocol.DefaultSamplingParams()
	var maxTokens, seed, stop starlark.Value = starlark.None, starlark.None, starlark.None
	temp, topP := host.Number(1), host.Number(1)
	topK := -1
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "max_tokens?", &maxTokens, "seed?", &seed, "stop?", &stop,
		"temperature?", &temp, "top_k?", &topK, "top_p?", &topP); err != nil {
		return nil, err
	}
	p.Temperature, p.TopK, p.TopP = float64(temp), topK, float64(topP)
	if maxTokens != starlark.None {
		n, err := starlark.AsInt32(maxTokens)
		if err != nil {
			return nil, fmt.Errorf("%s: max_tokens: %v", fn.Name(), err)
		}
		p.MaxTokens = &n
	}
	if seed != starlark.None {
		var s int64
		if err := starlark.AsInt(seed, &s); err != nil {
			return nil, fmt.Errorf("%s: seed: %v", fn.Name(), err)
		}
		p.Seed = &s
	}
	switch x := stop.(type) {
	case starlark.NoneType:
	case starlark.String:
		p.Stop = &protocol.Stop{Strings: []string{string(x)}, Single: true}
	default:
		l, ok := stop.(starlark.Indexable)
		if !ok {
			return nil, fmt.Errorf("%s: stop: want a string, a list of strings or a list of token ids, got %s", fn.Name(), stop.Type())
		}
		if l.Len() > 0 {
			if _, isStr := l.Index(0).(starlark.String); isStr {
				ss, err := host.AsStrings(stop, fn.Name()+": stop")
				if err != nil {
					return nil, err
				}
				p.Stop = &protocol.Stop{Strings: ss}
				break
			}
		}
		toks, err := asInt32s(stop, fn.Name()+": stop")
		if err != nil {
			return nil, err
		}
		if toks == nil {
			toks = []int32{}
		}
		p.Stop = &protocol.Stop{Tokens: toks}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return newSamplingParams(p), nil
}

func asSamplingParams(v starlark.Value, what string) (protocol.SamplingParams, error) {
	if v == nil || v == starlark.None {
		return protocol.DefaultSamplingParams(), nil
	}
	if o, ok := v.(*object); ok {
		if p, ok := o.payload.(protocol.SamplingParams); ok {
			return p, nil
		}
	}
	return protocol.SamplingParams{}, fmt.Errorf("%s: want SamplingParams (tinker.sampling_params), got %s", what, v.Type())
}

func newLoraConfig(c protocol.LoraConfig) *object {
	var seed starlark.Value = starlark.None
	if c.Seed != nil {
		seed = starlark.MakeInt64(*c.Seed)
	}
	return record("LoraConfig", c, "rank", starlark.MakeInt(c.Rank), "seed", seed,
		"train_unembed", starlark.Bool(c.TrainUnembed), "train_mlp", starlark.Bool(c.TrainMLP), "train_attn", starlark.Bool(c.TrainAttn))
}

func loraConfigFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := protocol.DefaultLoraConfig()
	var seed starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "rank?", &c.Rank, "seed?", &seed,
		"train_unembed?", &c.TrainUnembed, "train_mlp?", &c.TrainMLP, "train_attn?", &c.TrainAttn); err != nil {
		return nil, err
	}
	if seed != starlark.None {
		var s int64
		if err := starlark.AsInt(seed, &s); err != nil {
			return nil, fmt.Errorf("%s: seed: %v", fn.Name(), err)
		}
		c.Seed = &s
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return newLoraConfig(c), nil
}

// ---------------------------------------------------------------------------
// Results

func newFBOutput(out *protocol.ForwardBackwardOutput) *object {
	outs := make([]starlark.Value, len(out.LossFnOutputs))
	for i, m := range out.LossFnOutputs {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			_ = d.SetKey(starlark.String(k), newTensor(m[k]))
		}
		outs[i] = d
	}
	return record("ForwardBackwardOutput", out, "loss_fn_output_type", starlark.String(out.LossFnOutputType),
		"loss_fn_outputs", starlark.NewList(outs), "metrics", metricsDict(out.Metrics))
}

func newSampleResponse(r *protocol.SampleResponse) *object {
	seqs := make([]starlark.Value, len(r.Sequences))
	for i, s := range r.Sequences {
		var lp starlark.Value = starlark.None
		if s.Logprobs != nil {
			lp = host.Floats(s.Logprobs)
		}
		seqs[i] = record("SampledSequence", s, "tokens", host.Ints(s.Tokens), "logprobs", lp, "stop_reason", starlark.String(s.StopReason))
	}
	var plp starlark.Value = starlark.None
	if r.PromptLogprobs != nil {
		plp = nullableFloatList(r.PromptLogprobs)
	}
	var topk starlark.Value = starlark.None
	if t := r.TopkPromptLogprobs; t != nil {
		rows := make([]starlark.Value, t.PromptLength)
		for i := range rows {
			row := make([]starlark.Value, t.K)
			for k := range row {
				row[k] = starlark.Tuple{starlark.MakeInt(int(t.TokenIDs[i*t.K+k])), starlark.Float(t.Logprobs[i*t.K+k])}
			}
			rows[i] = starlark.NewList(row)
		}
		topk = starlark.NewList(rows)
	}
	return record("SampleResponse", r, "sequences", starlark.NewList(seqs), "prompt_logprobs", plp, "topk_prompt_logprobs", topk,
		"prompt_cache_hit_tokens", starlark.MakeInt(int(r.PromptCacheHitTokens)))
}
