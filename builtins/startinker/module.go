// Package startinker is the `tinker` Starlark module: the Tinker client
// (package tinker) shaped like the Python SDK, so recipes read like the
// cookbook:
//
//	svc = tinker.service_client()
//	tc = svc.create_lora_training_client("tkx/local-tiny", rank=8)
//	fb = tc.forward_backward_async(data, "cross_entropy")
//	opt = tc.optim_step_async(tinker.adam_params(learning_rate=1e-3))
//	print(fb.result().metrics, opt.result())
//
// With no TINKER_API_KEY (and no base URL), or base URL "local", the
// service client talks to the embedded local backend in-process;
// otherwise to TINKER_BASE_URL (default: the hosted service).
package startinker

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/backend"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/tinker"
)

var typeFuncs = []host.Func{
	{Name: "model_input", Doc: "model_input(chunks)\n\nA ModelInput from a list of chunks (tinker.encoded_text_chunk).", Impl: modelInputFn},
	{Name: "model_input_from_ints", Doc: "model_input_from_ints(tokens)\n\nA ModelInput of one encoded_text chunk (ModelInput.from_ints).", Impl: modelInputFromIntsFn},
	{Name: "encoded_text_chunk", Doc: "encoded_text_chunk(tokens)\n\nA chunk of token ids.", Impl: encodedTextChunkFn},
	{Name: "tensor_data", Doc: "tensor_data(data, dtype=None, shape=None)\n\nA TensorData; dtype \"int64\" or \"float32\" (default from the values).", Impl: tensorDataFn},
	{Name: "datum", Doc: "datum(model_input, loss_fn_inputs={})\n\nA training example. model_input is a ModelInput or a list of token ids;\nloss_fn_inputs maps names (target_tokens, weights, logprobs, advantages)\nto TensorData or lists (target_tokens → int64, others → float32), each as\nlong as the input.", Impl: datumFn},
	{Name: "adam_params", Doc: "adam_params(learning_rate=1e-4, beta1=0.9, beta2=0.95, eps=1e-12, weight_decay=0.0, grad_clip_norm=0.0)\n\nAdamW hyper-parameters for optim_step.", Impl: adamParamsFn},
	{Name: "sampling_params", Doc: "sampling_params(max_tokens=None, seed=None, stop=None, temperature=1.0, top_k=-1, top_p=1.0)\n\nSampling settings; stop is a string, a list of strings or a list of token ids.", Impl: samplingParamsFn},
	{Name: "lora_config", Doc: "lora_config(rank=32, seed=None, train_unembed=True, train_mlp=True, train_attn=True)\n\nA LoRA configuration.", Impl: loraConfigFn},
}

// Module is the `tinker` module.
var Module = &host.Module{
	Name: "tinker",
	Doc: "Tinker training API client (Python SDK shape). tinker.service_client() → create_lora_training_client / " +
		"create_sampling_client / create_rest_client; training methods have _async twins returning futures " +
		"(fut.result(timeout=None), fut.done()). Without TINKER_API_KEY, or with base_url \"local\", the embedded local backend is used.",
	Funcs: append([]host.Func{
		{Name: "service_client", Doc: "service_client(api_key=None, base_url=None, user_metadata=None, project_id=None, tags=None)\n\n" +
			"A ServiceClient. api_key defaults to $TINKER_API_KEY and base_url to $TINKER_BASE_URL; with neither, or with\n" +
			"base_url=\"local\", the embedded local backend serves the calls in-process. The key is never printed.", Impl: serviceClientFn},
		{Name: "is_local", Doc: "is_local(base_url=None) -> bool\n\n" +
			"True when a service_client with this base_url would use the embedded local backend (no $TINKER_API_KEY,\n" +
			"or base_url \"local\"). Recipes use it to pick local-friendly defaults.", Impl: isLocalFn},
	}, typeFuncs...),
	Consts: append([]host.Const{{Name: "types", Doc: "types\n\nThe type constructors again (tinker.types.datum, …) and the SDK-style classes (tinker.types.Datum, …).", Value: typesModule()}},
		sdkClasses()...),
}

// sdkClasses are the SDK's class names (tinker.Datum(...),
// tinker.ModelInput.from_ints(...)), so cookbook code ports verbatim.
func sdkClasses() []host.Const {
	mk := func(name, doc string, impl builtinFn, statics map[string]builtinFn) host.Const {
		return host.Const{Name: name, Doc: name + "\n\n" + doc, Value: newTypeCtor(name, impl, statics)}
	}
	return []host.Const{
		mk("ModelInput", "ModelInput(chunks); ModelInput.from_ints(tokens); ModelInput.empty().", modelInputFn,
			map[string]builtinFn{"from_ints": modelInputFromIntsFn, "empty": emptyModelInputFn}),
		mk("EncodedTextChunk", "EncodedTextChunk(tokens).", encodedTextChunkFn, nil),
		mk("TensorData", "TensorData(data, dtype=None, shape=None).", tensorDataFn, nil),
		mk("Datum", "Datum(model_input, loss_fn_inputs={}).", datumFn, nil),
		mk("AdamParams", "AdamParams(learning_rate=1e-4, beta1=0.9, beta2=0.95, eps=1e-12, weight_decay=0.0, grad_clip_norm=0.0).", adamParamsFn, nil),
		mk("SamplingParams", "SamplingParams(max_tokens=None, seed=None, stop=None, temperature=1.0, top_k=-1, top_p=1.0).", samplingParamsFn, nil),
		mk("LoraConfig", "LoraConfig(rank=32, seed=None, train_unembed=True, train_mlp=True, train_attn=True).", loraConfigFn, nil),
		mk("ServiceClient", "ServiceClient(api_key=None, base_url=None, user_metadata=None, project_id=None, tags=None): same as service_client.", serviceClientFn, nil),
	}
}

func typesModule() starlark.Value {
	members := starlark.StringDict{}
	for _, f := range typeFuncs {
		members[f.Name] = starlark.NewBuiltin("tinker.types."+f.Name, f.Impl)
	}
	for _, c := range sdkClasses() {
		if c.Name != "ServiceClient" {
			members[c.Name] = c.Value
		}
	}
	return &starlarkstruct.Module{Name: "tinker.types", Members: members}
}

var (
	openMu  sync.Mutex
	openSCs []*tinker.ServiceClient
)

// CloseAll closes every ServiceClient the module made (stops their
// heartbeats). The CLI calls it when a script ends.
func CloseAll() {
	openMu.Lock()
	scs := openSCs
	openSCs = nil
	openMu.Unlock()
	for _, sc := range scs {
		sc.Close()
	}
}

// Logger receives the clients' warnings (default: stderr, warnings and up).
var Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func serviceClientFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key, base, project string
	var meta *starlark.Dict
	var tags starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "api_key?", &key, "base_url?", &base, "user_metadata?", &meta, "project_id?", &project, "tags?", &tags); err != nil {
		return nil, err
	}
	opts := tinker.OptionsFromEnv()
	if key != "" {
		opts.APIKey = key
	}
	if base != "" {
		opts.BaseURL = base
	}
	if project != "" {
		opts.ProjectID = project
	}
	if tags != starlark.None {
		ts, err := host.AsStrings(tags, fn.Name()+": tags")
		if err != nil {
			return nil, err
		}
		opts.Tags = ts
	}
	m, err := stringMap(meta, fn.Name()+": user_metadata")
	if err != nil {
		return nil, err
	}
	opts.UserMetadata = m
	opts.Logger = Logger
	if tinker.WantsLocal(opts.BaseURL, opts.APIKey) {
		hc, err := backend.LocalClient()
		if err != nil {
			return nil, fmt.Errorf("%s: starting the local backend: %w", fn.Name(), err)
		}
		opts.HTTPClient, opts.BaseURL = hc, backend.InProcessBaseURL
	}
	sc, err := tinker.NewServiceClient(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	openMu.Lock()
	openSCs = append(openSCs, sc)
	openMu.Unlock()
	return newServiceClient(sc), nil
}
