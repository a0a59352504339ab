package startinker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker"
)

type builtinFn = func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// newFutureValue wraps a client future; conv turns its result into a
// Starlark value on the thread that asks for it.
func newFutureValue[T any](f *tinker.Future[T], conv func(T) (starlark.Value, error)) *object {
	o := &object{typ: "Future", payload: f, fields: []string{"request_id", "queue_state"}}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "request_id":
			return optStr(f.RequestID()), true, nil
		case "queue_state":
			return starlark.String(f.QueueState().String()), true, nil
		}
		return nil, false, nil
	}
	o.repr = func() string {
		state := "pending"
		if f.Done() {
			state = "done"
		}
		id := f.RequestID()
		if id == "" {
			id = "unsubmitted"
		}
		return fmt.Sprintf("Future(%s, %s)", id, state)
	}
	o.method("result", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var timeout starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "timeout?", &timeout); err != nil {
			return nil, err
		}
		var d time.Duration
		if timeout != starlark.None {
			secs, ok := starlark.AsFloat(timeout)
			if !ok || secs < 0 || math.IsNaN(secs) {
				return nil, fmt.Errorf("%s: timeout: want seconds ≥ 0, got %s", fn.Name(), timeout)
			}
			d = time.Duration(secs * float64(time.Second))
			if d == 0 {
				d = time.Nanosecond
			}
		}
		v, err := f.ResultTimeout(host.Context(thread), d)
		if err != nil {
			return nil, err
		}
		return conv(v)
	})
	o.method("done", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.Bool(f.Done()), nil
	})
	return o
}

// twin defines name (blocking) and name_async (returning a Future) from
// one submit function that returns a Future object.
func twin(o *object, name string, submit builtinFn) {
	o.method(name+"_async", submit)
	o.method(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		fut, err := submit(thread, starlark.NewBuiltin(fn.Name(), nil), args, kwargs)
		if err != nil {
			return nil, err
		}
		res, _ := fut.(*object).Attr("result")
		return starlark.Call(thread, res, nil, nil)
	})
}

func stringMap(d *starlark.Dict, what string) (map[string]string, error) {
	if d == nil {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range d.Items() {
		k, ok1 := starlark.AsString(kv[0])
		v, ok2 := starlark.AsString(kv[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: want a dict of strings to strings", what)
		}
		out[k] = v
	}
	return out, nil
}

func floatMap(d *starlark.Dict, what string) (map[string]float64, error) {
	if d == nil {
		return nil, nil
	}
	out := map[string]float64{}
	for _, kv := range d.Items() {
		k, ok1 := starlark.AsString(kv[0])
		v, ok2 := starlark.AsFloat(kv[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: want a dict of strings to numbers", what)
		}
		out[k] = v
	}
	return out, nil
}

func optTTL(v starlark.Value, what string) (*int64, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	var n int64
	if err := starlark.AsInt(v, &n); err != nil {
		return nil, fmt.Errorf("%s: want int seconds or None", what)
	}
	return &n, nil
}

// viaJSON converts a Go result to plain Starlark data (dicts and lists)
// through its JSON form, so timestamps become ISO strings.
func viaJSON(v any) (starlark.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	return host.ToStarlark(x)
}

// ---------------------------------------------------------------------------
// ServiceClient

func newServiceClient(sc *tinker.ServiceClient) *object {
	o := &object{typ: "ServiceClient", payload: sc, fields: []string{"base_url"}}
	o.get = func(name string) (starlark.Value, bool, error) {
		if name == "base_url" {
			return starlark.String(sc.BaseURL()), true, nil
		}
		return nil, false, nil
	}
	o.repr = func() string { return fmt.Sprintf("ServiceClient(base_url=%q)", sc.BaseURL()) }
	o.method("create_lora_training_client", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var base string
		rank := protocol.DefaultLoraRank
		var seed starlark.Value = starlark.None
		mlp, attn, unembed := true, true, true
		var meta *starlark.Dict
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "base_model", &base, "rank?", &rank, "seed?", &seed,
			"train_mlp?", &mlp, "train_attn?", &attn, "train_unembed?", &unembed, "user_metadata?", &meta); err != nil {
			return nil, err
		}
		lo := tinker.LoraOptions{Rank: rank, NoTrainMLP: !mlp, NoTrainAttn: !attn, NoTrainUnembed: !unembed}
		if rank <= 0 {
			return nil, fmt.Errorf("%s: rank = %d must be > 0", fn.Name(), rank)
		}
		if seed != starlark.None {
			var s int64
			if err := starlark.AsInt(seed, &s); err != nil {
				return nil, fmt.Errorf("%s: seed: %v", fn.Name(), err)
			}
			lo.Seed = &s
		}
		m, err := stringMap(meta, fn.Name()+": user_metadata")
		if err != nil {
			return nil, err
		}
		lo.UserMetadata = m
		tc, err := sc.CreateLoraTrainingClient(host.Context(thread), base, lo)
		if err != nil {
			return nil, err
		}
		return newTrainingClient(tc), nil
	})
	fromState := func(withOpt bool) builtinFn {
		return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path, base string
			var meta *starlark.Dict
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path, "base_model?", &base, "user_metadata?", &meta); err != nil {
				return nil, err
			}
			m, err := stringMap(meta, fn.Name()+": user_metadata")
			if err != nil {
				return nil, err
			}
			tc, err := sc.CreateTrainingClientFromState(host.Context(thread), path, withOpt, base, m)
			if err != nil {
				return nil, err
			}
			return newTrainingClient(tc), nil
		}
	}
	o.method("create_training_client_from_state", fromState(false))
	o.method("create_training_client_from_state_with_optimizer", fromState(true))
	o.method("create_sampling_client", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path, base string
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_path?", &path, "base_model?", &base); err != nil {
			return nil, err
		}
		s, err := sc.CreateSamplingClient(host.Context(thread), tinker.SamplingOptions{ModelPath: path, BaseModel: base})
		if err != nil {
			return nil, err
		}
		return newSamplingClient(s), nil
	})
	o.method("create_rest_client", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return newRestClient(sc.CreateRestClient()), nil
	})
	o.method("get_server_capabilities", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		caps, err := sc.GetServerCapabilities(host.Context(thread))
		if err != nil {
			return nil, err
		}
		return viaJSON(caps)
	})
	o.method("close", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.None, sc.Close()
	})
	return o
}

// ---------------------------------------------------------------------------
// TrainingClient

func convFB(out *protocol.ForwardBackwardOutput) (starlark.Value, error) {
	return newFBOutput(out), nil
}

func newTrainingClient(tc *tinker.TrainingClient) *object {
	o := &object{typ: "TrainingClient", payload: tc, fields: []string{"model_id", "base_model"}}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "model_id":
			return starlark.String(tc.ModelID()), true, nil
		case "base_model":
			return starlark.String(tc.BaseModel()), true, nil
		}
		return nil, false, nil
	}
	o.repr = func() string {
		return fmt.Sprintf("TrainingClient(model_id=%q, base_model=%q)", tc.ModelID(), tc.BaseModel())
	}
	fb := func(forwardOnly bool) builtinFn {
		return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var data starlark.Value
			var lossFn string
			var cfg *starlark.Dict
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "data", &data, "loss_fn", &lossFn, "loss_fn_config?", &cfg); err != nil {
				return nil, err
			}
			ds, err := asData(data, fn.Name()+": data")
			if err != nil {
				return nil, err
			}
			c, err := floatMap(cfg, fn.Name()+": loss_fn_config")
			if err != nil {
				return nil, err
			}
			var f *tinker.Future[*protocol.ForwardBackwardOutput]
			if forwardOnly {
				f, err = tc.Forward(host.Context(thread), ds, lossFn, c)
			} else {
				f, err = tc.ForwardBackward(host.Context(thread), ds, lossFn, c)
			}
			if err != nil {
				return nil, err
			}
			return newFutureValue(f, convFB), nil
		}
	}
	twin(o, "forward_backward", fb(false))
	twin(o, "forward", fb(true))
	twin(o, "forward_backward_custom", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var data starlark.Value
		var lossFn starlark.Callable
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "data", &data, "loss_fn", &lossFn); err != nil {
			return nil, err
		}
		ds, err := asData(data, fn.Name()+": data")
		if err != nil {
			return nil, err
		}
		f, err := tc.ForwardBackwardCustom(host.Context(thread), ds, starlarkLoss(thread, fn.Name(), data, lossFn))
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, convFB), nil
	})
	twin(o, "optim_step", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var pv starlark.Value
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "adam_params", &pv); err != nil {
			return nil, err
		}
		p, err := asAdamParams(pv, fn.Name()+": adam_params")
		if err != nil {
			return nil, err
		}
		f, err := tc.OptimStep(host.Context(thread), p)
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(r *protocol.OptimStepResponse) (starlark.Value, error) {
			return record("OptimStepResponse", r, "metrics", metricsDict(r.Metrics)), nil
		}), nil
	})
	twin(o, "save_state", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var ttl starlark.Value = starlark.None
		overwrite := false
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "ttl_seconds?", &ttl, "overwrite?", &overwrite); err != nil {
			return nil, err
		}
		t, err := optTTL(ttl, fn.Name()+": ttl_seconds")
		if err != nil {
			return nil, err
		}
		f, err := tc.SaveState(host.Context(thread), name, t, overwrite)
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(r *protocol.SaveWeightsResponse) (starlark.Value, error) {
			return record("SaveWeightsResponse", r, "path", starlark.String(r.Path)), nil
		}), nil
	})
	load := func(withOpt bool) builtinFn {
		return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			f, err := tc.LoadState(host.Context(thread), path, withOpt)
			if err != nil {
				return nil, err
			}
			return newFutureValue(f, func(r *protocol.LoadWeightsResponse) (starlark.Value, error) {
				return record("LoadWeightsResponse", r, "path", optStr(r.Path)), nil
			}), nil
		}
	}
	twin(o, "load_state", load(false))
	twin(o, "load_state_with_optimizer", load(true))
	twin(o, "save_weights_for_sampler", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var ttl starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "ttl_seconds?", &ttl); err != nil {
			return nil, err
		}
		t, err := optTTL(ttl, fn.Name()+": ttl_seconds")
		if err != nil {
			return nil, err
		}
		f, err := tc.SaveWeightsForSampler(host.Context(thread), name, t)
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(r *protocol.SaveWeightsForSamplerResponse) (starlark.Value, error) {
			return record("SaveWeightsForSamplerResponse", r, "path", optStr(r.Path), "sampling_session_id", optStr(r.SamplingSessionID)), nil
		}), nil
	})
	o.method("save_weights_and_get_sampling_client", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name starlark.Value = starlark.None // deprecated in the SDK; ignored
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name?", &name); err != nil {
			return nil, err
		}
		s, err := tc.SaveWeightsAndGetSamplingClient(host.Context(thread))
		if err != nil {
			return nil, err
		}
		return newSamplingClient(s), nil
	})
	o.method("create_sampling_client", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_path", &path); err != nil {
			return nil, err
		}
		s, err := tc.CreateSamplingClient(host.Context(thread), path)
		if err != nil {
			return nil, err
		}
		return newSamplingClient(s), nil
	})
	o.method("get_info", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		info, err := tc.GetInfo(host.Context(thread))
		if err != nil {
			return nil, err
		}
		md, err := viaJSON(info.ModelData)
		if err != nil {
			return nil, err
		}
		var isLora starlark.Value = starlark.None
		if info.IsLora != nil {
			isLora = starlark.Bool(*info.IsLora)
		}
		return record("GetInfoResponse", info, "model_id", starlark.String(info.ModelID), "model_data", md,
			"is_lora", isLora, "lora_rank", optInt(info.LoraRank), "model_name", optStr(info.ModelName)), nil
	})
	twin(o, "unload_model", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		f, err := tc.Unload(host.Context(thread))
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(r *protocol.UnloadModelResponse) (starlark.Value, error) {
			return record("UnloadModelResponse", r, "model_id", starlark.String(r.ModelID)), nil
		}), nil
	})
	return o
}

// starlarkLoss adapts a Starlark function loss_fn(data, logprobs) →
// (loss, metrics, grads) to tinker.CustomLossFunc. logprobs and grads are
// lists (one per datum) of lists of floats; metrics is a dict.
func starlarkLoss(parent *starlark.Thread, name string, data starlark.Value, fn starlark.Callable) tinker.CustomLossFunc {
	ctx := host.Context(parent)
	return func(_ []protocol.Datum, lps [][]float32) (float64, map[string]float64, [][]float32, error) {
		var th *starlark.Thread
		if in := host.InterpreterOf(parent); in != nil {
			t, release := in.NewThread(ctx, name+".loss_fn")
			defer release()
			th = t
		} else {
			th = &starlark.Thread{Name: name + ".loss_fn", Print: parent.Print}
		}
		lpl := make([]starlark.Value, len(lps))
		for i, lp := range lps {
			lpl[i] = host.Floats(lp)
		}
		res, err := starlark.Call(th, fn, starlark.Tuple{data, starlark.NewList(lpl)}, nil)
		if err != nil {
			return 0, nil, nil, err
		}
		tup, ok := res.(starlark.Tuple)
		if !ok || len(tup) != 3 {
			return 0, nil, nil, fmt.Errorf("%s must return (loss, metrics, grads), got %s", fn.Name(), res.Type())
		}
		loss, ok := starlark.AsFloat(tup[0])
		if !ok {
			return 0, nil, nil, fmt.Errorf("%s: loss: want a number, got %s", fn.Name(), tup[0].Type())
		}
		var metrics map[string]float64
		switch m := tup[1].(type) {
		case starlark.NoneType:
		case *starlark.Dict:
			metrics, err = floatMap(m, fn.Name()+": metrics")
			if err != nil {
				return 0, nil, nil, err
			}
		default:
			return 0, nil, nil, fmt.Errorf("%s: metrics: want a dict, got %s", fn.Name(), tup[1].Type())
		}
		gl, ok := tup[2].(starlark.Indexable)
		if !ok {
			return 0, nil, nil, fmt.Errorf("%s: grads: want a list of lists of floats, got %s", fn.Name(), tup[2].Type())
		}
		grads := make([][]float32, gl.Len())
		for i := range grads {
			fs, err := host.AsFloats(gl.Index(i), fmt.Sprintf("%s: grads[%d]", fn.Name(), i))
			if err != nil {
				return 0, nil, nil, err
			}
			grads[i] = make([]float32, len(fs))
			for j, x := range fs {
				grads[i][j] = float32(x)
			}
		}
		return loss, metrics, grads, nil
	}
}

// ---------------------------------------------------------------------------
// SamplingClient

func newSamplingClient(s *tinker.SamplingClient) *object {
	o := &object{typ: "SamplingClient", payload: s, fields: []string{"sampling_session_id", "model_path"}}
	o.get = func(name string) (starlark.Value, bool, error) {
		switch name {
		case "sampling_session_id":
			return starlark.String(s.ID()), true, nil
		case "model_path":
			return optStr(s.ModelPath()), true, nil
		}
		return nil, false, nil
	}
	o.repr = func() string { return fmt.Sprintf("SamplingClient(sampling_session_id=%q)", s.ID()) }
	twin(o, "sample", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var prompt starlark.Value
		num := 1
		var params starlark.Value = starlark.None
		includePrompt := false
		topk := 0
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "prompt", &prompt, "num_samples?", &num, "sampling_params?", &params,
			"include_prompt_logprobs?", &includePrompt, "topk_prompt_logprobs?", &topk); err != nil {
			return nil, err
		}
		m, err := asModelInput(prompt, fn.Name()+": prompt")
		if err != nil {
			return nil, err
		}
		p, err := asSamplingParams(params, fn.Name()+": sampling_params")
		if err != nil {
			return nil, err
		}
		f, err := s.Sample(host.Context(thread), m, num, p, tinker.SampleOptions{PromptLogprobs: includePrompt, TopkPromptLogprobs: topk})
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(r *protocol.SampleResponse) (starlark.Value, error) { return newSampleResponse(r), nil }), nil
	})
	twin(o, "compute_logprobs", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var prompt starlark.Value
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "prompt", &prompt); err != nil {
			return nil, err
		}
		m, err := asModelInput(prompt, fn.Name()+": prompt")
		if err != nil {
			return nil, err
		}
		f, err := s.ComputeLogprobs(host.Context(thread), m)
		if err != nil {
			return nil, err
		}
		return newFutureValue(f, func(v []float64) (starlark.Value, error) { return nullableFloatList(v), nil }), nil
	})
	o.method("get_base_model", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		b, err := s.GetBaseModel(host.Context(thread))
		if err != nil {
			return nil, err
		}
		return starlark.String(b), nil
	})
	return o
}

// ---------------------------------------------------------------------------
// RestClient

func newRestClient(rc *tinker.RestClient) *object {
	o := &object{typ: "RestClient", payload: rc}
	o.repr = func() string { return "RestClient()" }
	call := func(name string, params []string, run func(ctx context.Context, vals []starlark.Value) (any, error)) {
		o.method(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			vals := make([]starlark.Value, len(params))
			pairs := make([]any, 0, 2*len(params))
			for i, p := range params {
				pairs = append(pairs, p, &vals[i])
			}
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, pairs...); err != nil {
				return nil, err
			}
			res, err := run(host.Context(thread), vals)
			if err != nil {
				return nil, err
			}
			if res == nil {
				return starlark.None, nil
			}
			return viaJSON(res)
		})
	}
	str := func(v starlark.Value) string {
		s, _ := starlark.AsString(v)
		return s
	}
	num := func(v starlark.Value, def int) int {
		if v == nil || v == starlark.None {
			return def
		}
		n, err := starlark.AsInt32(v)
		if err != nil {
			return def
		}
		return n
	}
	call("list_training_runs", []string{"limit?", "offset?", "access_scope?"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.ListTrainingRuns(ctx, num(v[0], 20), num(v[1], 0), str(v[2]), "")
	})
	call("get_training_run", []string{"training_run_id", "access_scope?"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.GetTrainingRun(ctx, str(v[0]), str(v[1]))
	})
	call("get_training_run_by_tinker_path", []string{"tinker_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.GetTrainingRunByTinkerPath(ctx, str(v[0]))
	})
	call("list_checkpoints", []string{"training_run_id"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.ListCheckpoints(ctx, str(v[0]))
	})
	call("list_user_checkpoints", []string{"limit?", "offset?"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.ListUserCheckpoints(ctx, num(v[0], 100), num(v[1], 0))
	})
	call("delete_checkpoint_from_tinker_path", []string{"tinker_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return nil, rc.DeleteCheckpointFromTinkerPath(ctx, str(v[0]))
	})
	call("publish_checkpoint_from_tinker_path", []string{"tinker_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return nil, rc.PublishCheckpointFromTinkerPath(ctx, str(v[0]), true)
	})
	call("unpublish_checkpoint_from_tinker_path", []string{"tinker_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return nil, rc.PublishCheckpointFromTinkerPath(ctx, str(v[0]), false)
	})
	call("set_checkpoint_ttl_from_tinker_path", []string{"tinker_path", "ttl_seconds"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		t, err := optTTL(v[1], "ttl_seconds")
		if err != nil {
			return nil, err
		}
		return nil, rc.SetCheckpointTTLFromTinkerPath(ctx, str(v[0]), t)
	})
	call("get_checkpoint_archive_url_from_tinker_path", []string{"tinker_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		u, err := rc.GetCheckpointArchiveURLFromTinkerPath(ctx, str(v[0]))
		if err != nil {
			return nil, err
		}
		return map[string]string{"url": u.URL, "expires": u.Expires.UTC().Format(time.RFC3339)}, nil
	})
	call("download_checkpoint_archive_from_tinker_path", []string{"tinker_path", "output_path"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		out := str(v[1])
		if out == "" {
			return nil, fmt.Errorf("output_path is empty")
		}
		f, err := os.Create(out)
		if err != nil {
			return nil, err
		}
		n, err := rc.DownloadCheckpointArchive(ctx, str(v[0]), f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
			return nil, err
		}
		return n, nil
	})
	call("list_sessions", []string{"limit?", "offset?"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.ListSessions(ctx, num(v[0], 20), num(v[1], 0), "")
	})
	call("get_session", []string{"session_id"}, func(ctx context.Context, v []starlark.Value) (any, error) {
		return rc.GetSession(ctx, str(v[0]), "")
	})
	return o
}
