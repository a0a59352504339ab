// Package modelinfo is the cookbook's model registry (model_info.py) and
// learning-rate formula (hyperparam_utils.get_lr): every model the cookbook
// lists with its attributes and recommended renderers, plus tkx's local
// models.
package modelinfo

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tkx-dev/tkx/spell"
)

// Attributes is model_info.ModelAttributes.
type Attributes struct {
	Organization         string
	Version              string
	Size                 string
	IsChat               bool
	RecommendedRenderers []string
	IsVL                 bool
	IsAudioIn            bool
	// Tokenizer is where the tokenizer comes from: a Hugging Face repo id
	// ("thinkingmachineslabinc/meta-llama-3-instruct-tokenizer" for Llama 3,
	// like tokenizer_utils.get_tokenizer) or "local-byte" for tkx's models.
	Tokenizer string
	// HiddenSize feeds get_lr (0 = unknown).
	HiddenSize int
}

var (
	llama3          = []string{"llama3"}
	roleColon       = []string{"role_colon"}
	qwen3           = []string{"qwen3", "qwen3_disable_thinking"}
	qwen3Instruct   = []string{"qwen3_instruct"}
	qwen3VLInstruct = []string{"qwen3_vl_instruct"}
	qwen35          = []string{"qwen3_5", "qwen3_5_disable_thinking"}
	qwen38          = []string{"qwen3_8_xhigh_reasoning", "qwen3_8_disable_thinking", "qwen3_8_medium_reasoning", "qwen3_8_low_reasoning"}
	deepseekV3      = []string{"deepseekv3", "deepseekv3_thinking"}
	gptOSS          = []string{"gpt_oss_no_sysprompt", "gpt_oss_medium_reasoning"}
	kimiK2          = []string{"kimi_k2"}
	kimiK25         = []string{"kimi_k25", "kimi_k25_disable_thinking"}
	kimiK26         = []string{"kimi_k26", "kimi_k26_disable_thinking", "kimi_k26_preserve_thinking"}
	nemotron3       = []string{"nemotron3", "nemotron3_disable_thinking", "nemotron3_preserve_thinking"}
	nemotron3Super  = append(append([]string(nil), nemotron3...), "nemotron3_low_thinking")
	nemotron3Ultra  = []string{"nemotron3_ultra", "nemotron3_ultra_disable_thinking", "nemotron3_ultra_medium_thinking", "nemotron3_ultra_preserve_thinking"}
	nemotron3Light  = []string{"nemotron3_ultra", "nemotron3_ultra_disable_thinking", "nemotron3_ultra_preserve_thinking"}
	tmlV0           = []string{"tml_v0"}
)

// LlamaTokenizerRepo is the ungated tokenizer the cookbook uses for every
// Llama 3 model.
const LlamaTokenizerRepo = "thinkingmachineslabinc/meta-llama-3-instruct-tokenizer"

// LocalByteTokenizer names tkx's byte-level tokenizer.
const LocalByteTokenizer = "local-byte"

type entry struct {
	name string
	a    Attributes
}

func m(org, name, version, size string, chat bool, renderers []string, vl bool, hidden int) entry {
	return entry{org + "/" + name, Attributes{Organization: org, Version: version, Size: size, IsChat: chat, RecommendedRenderers: renderers, IsVL: vl, HiddenSize: hidden}}
}

var registry = func() map[string]Attributes {
	es := []entry{
		// meta-llama
		m("meta-llama", "Llama-3.1-8B-Instruct", "3.1", "8B", true, llama3, false, 4096),
		m("meta-llama", "Llama-3.2-1B", "3.2", "1B", false, roleColon, false, 2048),
		m("meta-llama", "Llama-3.2-3B", "3.2", "3B", false, roleColon, false, 3072),
		m("meta-llama", "Llama-3.1-8B", "3.1", "8B", false, roleColon, false, 4096),
		m("meta-llama", "Llama-3.1-70B", "3.1", "70B", false, roleColon, false, 8192),
		m("meta-llama", "Llama-3.3-70B-Instruct", "3.3", "70B", true, llama3, false, 8192),
		// Qwen
		m("Qwen", "Qwen3-VL-30B-A3B-Instruct", "3", "30B-A3B", true, qwen3VLInstruct, true, 2048),
		m("Qwen", "Qwen3-VL-235B-A22B-Instruct", "3", "235B-A22B", true, qwen3VLInstruct, true, 4096),
		m("Qwen", "Qwen3-8B-Base", "3", "8B", false, roleColon, false, 4096),
		m("Qwen", "Qwen3-30B-A3B-Base", "3", "30B-A3B", false, roleColon, false, 2048),
		m("Qwen", "Qwen3-8B", "3", "8B", true, qwen3, false, 4096),
		m("Qwen", "Qwen3-32B", "3", "32B", true, qwen3, false, 5120),
		m("Qwen", "Qwen3-30B-A3B", "3", "30B-A3B", true, qwen3, false, 2048),
		m("Qwen", "Qwen3-4B-Instruct-2507", "3", "4B", true, qwen3Instruct, false, 2560),
		m("Qwen", "Qwen3-30B-A3B-Instruct-2507", "3", "30B-A3B", true, qwen3Instruct, false, 2048),
		m("Qwen", "Qwen3-235B-A22B-Instruct-2507", "3", "235B-A22B", true, qwen3Instruct, false, 4096),
		m("Qwen", "Qwen3.5-4B", "3.5", "4B", true, qwen35, true, 2560),
		m("Qwen", "Qwen3.5-9B", "3.5", "9B", true, qwen35, true, 4096),
		m("Qwen", "Qwen3.5-9B-Base", "3.5", "9B", false, roleColon, true, 4096),
		m("Qwen", "Qwen3.5-27B", "3.5", "27B", true, qwen35, true, 5120),
		m("Qwen", "Qwen3.5-35B-A3B", "3.5", "35B-A3B", true, qwen35, true, 2048),
		m("Qwen", "Qwen3.5-35B-A3B-Base", "3.5", "35B-A3B", false, roleColon, true, 2048),
		m("Qwen", "Qwen3.5-397B-A17B", "3.5", "397B-A17B", true, qwen35, true, 4096),
		m("Qwen", "Qwen3.6-27B", "3.6", "27B", true, qwen35, true, 5120),
		m("Qwen", "Qwen3.6-35B-A3B", "3.6", "35B-A3B", true, qwen35, true, 2048),
		m("Qwen", "Qwen3.8-27B", "3.8", "27B", true, qwen38, true, 5120),
		// deepseek-ai
		m("deepseek-ai", "DeepSeek-V3.1", "3", "671B-A37B", true, deepseekV3, false, 7168),
		m("deepseek-ai", "DeepSeek-V3.1-Base", "3", "671B-A37B", false, roleColon, false, 7168),
		// openai
		m("openai", "gpt-oss-20b", "1", "21B-A3.6B", true, gptOSS, false, 2880),
		m("openai", "gpt-oss-120b", "1", "117B-A5.1B", true, gptOSS, false, 2880),
		// moonshotai
		m("moonshotai", "Kimi-K2-Thinking", "K2", "1T-A32B", true, kimiK2, false, 7168),
		m("moonshotai", "Kimi-K2.5", "K2.5", "1T-A32B", true, kimiK25, true, 7168),
		m("moonshotai", "Kimi-K2.6", "K2.6", "1T-A32B", true, kimiK26, true, 7168),
		// nvidia
		m("nvidia", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "3", "30B-A3B", true, nemotron3, false, 2688),
		m("nvidia", "NVIDIA-Nemotron-3-Super-120B-A12B-BF16", "3", "120B-A12B", true, nemotron3Super, false, 4096),
		m("nvidia", "NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16", "3", "550B-A55B", true, nemotron3Ultra, false, 8192),
		m("nvidia", "NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16", "3.5", "30B-A3B", true, nemotron3Light, false, 2688),
		// thinkingmachines (tml_v0 is not available in tkx; listed for completeness)
		{"thinkingmachines/Inkling", Attributes{Organization: "thinkingmachines", Version: "Inkling", Size: "Inkling", IsChat: true, RecommendedRenderers: tmlV0, IsVL: true, IsAudioIn: true, HiddenSize: 6144}},
		{"thinkingmachines/Inkling-Small", Attributes{Organization: "thinkingmachines", Version: "Inkling-Small", Size: "Inkling-Small", IsChat: true, RecommendedRenderers: tmlV0, IsVL: true, IsAudioIn: true, HiddenSize: 4096}},
		// tkx's own local models (base models: role_colon over the byte tokenizer)
		{"tkx/local-base", Attributes{Organization: "tkx", Version: "local", Size: "0.8M", IsChat: false, RecommendedRenderers: roleColon, Tokenizer: LocalByteTokenizer, HiddenSize: 128}},
		{"tkx/local-tiny", Attributes{Organization: "tkx", Version: "local", Size: "0.1M", IsChat: false, RecommendedRenderers: roleColon, Tokenizer: LocalByteTokenizer, HiddenSize: 32}},
	}
	out := make(map[string]Attributes, len(es))
	for _, e := range es {
		if e.a.Tokenizer == "" {
			e.a.Tokenizer = e.name
			if e.a.Organization == "meta-llama" {
				e.a.Tokenizer = LlamaTokenizerRepo
			}
		}
		out[e.name] = e.a
	}
	return out
}()

// Names lists every registered model, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UnknownModelError names the closest known models.
type UnknownModelError struct {
	Name    string
	Closest []string
}

func (e *UnknownModelError) Error() string {
	s := fmt.Sprintf("unknown model %q", e.Name)
	if len(e.Closest) > 0 {
		s += fmt.Sprintf("; closest: %s", strings.Join(e.Closest, ", "))
	}
	return s
}

// Get returns a model's attributes (get_model_attributes). A ":suffix"
// (e.g. a checkpoint tag) is ignored, like the cookbook.
func Get(model string) (Attributes, error) {
	name, _, _ := strings.Cut(model, ":")
	if !strings.Contains(name, "/") {
		return Attributes{}, fmt.Errorf("model name must be in 'org/model' format, got %q%s", model, closestSuffix(name))
	}
	if a, ok := registry[name]; ok {
		return a, nil
	}
	if strings.HasPrefix(name, "thinkingmachines/Inkling") {
		_, v, _ := strings.Cut(name, "/")
		return Attributes{Organization: "thinkingmachines", Version: v, Size: v, IsChat: true, RecommendedRenderers: tmlV0, IsVL: true, IsAudioIn: true, Tokenizer: name}, nil
	}
	return Attributes{}, &UnknownModelError{Name: model, Closest: closest(name, 3)}
}

func closestSuffix(name string) string {
	c := closest(name, 3)
	if len(c) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(c, " or ") + "?)"
}

// RecommendedRendererNames is get_recommended_renderer_names.
func RecommendedRendererNames(model string) ([]string, error) {
	a, err := Get(model)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), a.RecommendedRenderers...), nil
}

// RecommendedRendererName is get_recommended_renderer_name: the first
// recommended renderer.
func RecommendedRendererName(model string) (string, error) {
	r, err := RecommendedRendererNames(model)
	if err != nil {
		return "", err
	}
	return r[0], nil
}

// RendererWarning returns the cookbook's warning when renderer is not
// among model's recommended renderers, or "".
func RendererWarning(model, renderer string) string {
	rec, err := RecommendedRendererNames(model)
	if err != nil || renderer == "" {
		return ""
	}
	for _, r := range rec {
		if r == renderer {
			return ""
		}
	}
	q := make([]string, len(rec))
	for i, r := range rec {
		q[i] = fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("renderer %q is not recommended for model %q. Recommended renderer(s): %s. Using an incompatible renderer can silently degrade training quality (e.g., prefilling tokens the model was never trained on)", renderer, model, strings.Join(q, ", "))
}

// uncalibrated are the models get_lr refuses with NotImplementedError.
var uncalibrated = map[string]bool{
	"deepseek-ai/DeepSeek-V3.1": true, "openai/gpt-oss-20b": true, "openai/gpt-oss-120b": true,
	"moonshotai/Kimi-K2.6":                              true,
	"nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16":        true,
	"nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16":     true,
	"nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16":     true,
	"nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16": true,
}

// LR is hyperparam_utils.get_lr: 5e-5 × (10 for LoRA) × (2000/hidden)^e,
// e = 0.781 for Llama and 0.0775 for Qwen; other families are an error
// (uncalibrated or unknown), like the cookbook.
func LR(model string, isLoRA bool) (float64, error) {
	lr := 5e-5
	if isLoRA {
		lr *= 10.0
	}
	lower := strings.ToLower(model)
	var exp float64
	switch {
	case strings.Contains(lower, "llama"):
		exp = 0.781
	case strings.Contains(lower, "qwen"):
		exp = 0.0775
	case strings.HasPrefix(model, "thinkingmachines/Inkling") || uncalibrated[model]:
		return 0, fmt.Errorf("learning rate formula for %s is not yet calibrated; please specify a learning rate manually", model)
	default:
		return 0, fmt.Errorf("get_lr: unknown model %q (the formula covers Llama and Qwen models)%s", model, closestSuffix(model))
	}
	h, err := HiddenSize(model)
	if err != nil {
		return 0, err
	}
	return lr * math.Pow(2000/float64(h), exp), nil
}

// HiddenSize returns the model's hidden size from the registry (the
// cookbook's _KNOWN_HIDDEN_SIZES; it would fall back to the HF config).
func HiddenSize(model string) (int, error) {
	a, ok := registry[model]
	if !ok || a.HiddenSize == 0 {
		return 0, fmt.Errorf("could not determine hidden_size for %s: not in the model registry%s", model, closestSuffix(model))
	}
	return a.HiddenSize, nil
}

// closest is the spell package's did-you-mean over the registry's names.
func closest(name string, n int) []string { return spell.Closest(name, Names(), n) }
