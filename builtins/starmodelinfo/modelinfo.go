// Package starmodelinfo is the `model_info` Starlark module: the cookbook's
// model registry (attributes, recommended renderers) and get_lr.
package starmodelinfo

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/modelinfo"
)

// Module is the model_info module.
var Module = &host.Module{
	Name: "model_info",
	Doc: `The cookbook's model registry: every model it lists (meta-llama, Qwen,
deepseek-ai, openai, moonshotai, nvidia, thinkingmachines) plus tkx's
local models "tkx/local-base" and "tkx/local-tiny" (renderer role_colon,
the local byte tokenizer), with their recommended renderers, and the
cookbook's learning-rate formula.`,
	Funcs: []host.Func{
		{Name: "get_model_attributes", Impl: getAttrs, Doc: `get_model_attributes(model_name) -> struct

organization, version_str, size_str, is_chat, recommended_renderers, is_vl,
is_audio_in, tokenizer (the tokenizer's repo, or "local-byte"). An unknown
name fails naming the closest known models; a ":tag" suffix is ignored.`},
		{Name: "get_recommended_renderer_name", Impl: getRecommended, Doc: `get_recommended_renderer_name(model_name) -> str

The first recommended renderer of a model.`},
		{Name: "get_recommended_renderer_names", Impl: getRecommendedAll, Doc: `get_recommended_renderer_names(model_name) -> list of str

Every renderer recommended for a model, preferred first.`},
		{Name: "get_lr", Impl: getLR, Doc: `get_lr(model_name, is_lora=True) -> float

The cookbook's hyperparam_utils.get_lr: 5e-5 × 10 (LoRA) × (2000/hidden)^e
with e = 0.781 for Llama and 0.0775 for Qwen; other families fail (not
calibrated), exactly like the cookbook.`},
		{Name: "list_models", Impl: listModels, Doc: `list_models() -> list of str

Every model name in the registry, sorted.`},
	},
}

func getAttrs(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_name", &name); err != nil {
		return nil, err
	}
	a, err := modelinfo.Get(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	rs := make([]starlark.Value, len(a.RecommendedRenderers))
	for i, r := range a.RecommendedRenderers {
		rs[i] = starlark.String(r)
	}
	return starlarkstruct.FromStringDict(starlark.String("ModelAttributes"), starlark.StringDict{
		"organization":          starlark.String(a.Organization),
		"version_str":           starlark.String(a.Version),
		"size_str":              starlark.String(a.Size),
		"is_chat":               starlark.Bool(a.IsChat),
		"recommended_renderers": starlark.Tuple(rs),
		"is_vl":                 starlark.Bool(a.IsVL),
		"is_audio_in":           starlark.Bool(a.IsAudioIn),
		"tokenizer":             starlark.String(a.Tokenizer),
	}), nil
}

func getRecommended(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_name", &name); err != nil {
		return nil, err
	}
	r, err := modelinfo.RecommendedRendererName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return starlark.String(r), nil
}

func getRecommendedAll(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_name", &name); err != nil {
		return nil, err
	}
	rs, err := modelinfo.RecommendedRendererNames(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	vals := make([]starlark.Value, len(rs))
	for i, r := range rs {
		vals[i] = starlark.String(r)
	}
	return starlark.NewList(vals), nil
}

func getLR(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	isLoRA := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "model_name", &name, "is_lora?", &isLoRA); err != nil {
		return nil, err
	}
	lr, err := modelinfo.LR(name, isLoRA)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return starlark.Float(lr), nil
}

func listModels(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	var vals []starlark.Value
	for _, n := range modelinfo.Names() {
		vals = append(vals, starlark.String(n))
	}
	return starlark.NewList(vals), nil
}
