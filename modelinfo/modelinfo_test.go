package modelinfo

import (
	"math"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/renderers"
	"github.com/tkx-dev/tkx/tokenizer"
)

func TestRecommendedRenderer(t *testing.T) {
	for model, want := range map[string]string{
		"meta-llama/Llama-3.1-8B-Instruct":              "llama3",
		"meta-llama/Llama-3.2-1B":                       "role_colon",
		"Qwen/Qwen3-8B":                                 "qwen3",
		"Qwen/Qwen3-30B-A3B-Instruct-2507":              "qwen3_instruct",
		"Qwen/Qwen3-VL-30B-A3B-Instruct":                "qwen3_vl_instruct",
		"Qwen/Qwen3.5-9B":                               "qwen3_5",
		"Qwen/Qwen3.6-35B-A3B":                          "qwen3_5",
		"Qwen/Qwen3.8-27B":                              "qwen3_8_xhigh_reasoning",
		"Qwen/Qwen3.5-9B-Base":                          "role_colon",
		"deepseek-ai/DeepSeek-V3.1":                     "deepseekv3",
		"openai/gpt-oss-20b":                            "gpt_oss_no_sysprompt",
		"moonshotai/Kimi-K2.6":                          "kimi_k26",
		"nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16": "nemotron3_ultra",
		"tkx/local-base":                                "role_colon",
		"tkx/local-tiny:step-10":                        "role_colon",
	} {
		got, err := RecommendedRendererName(model)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", model, got, err, want)
		}
	}
	a, _ := Get("tkx/local-tiny")
	if a.Tokenizer != LocalByteTokenizer {
		t.Errorf("local tokenizer %q", a.Tokenizer)
	}
	a, _ = Get("meta-llama/Llama-3.1-8B")
	if a.Tokenizer != LlamaTokenizerRepo {
		t.Errorf("llama tokenizer %q", a.Tokenizer)
	}
}

// Every recommended renderer exists in the renderer registry (except tml_v0).
func TestRenderersExist(t *testing.T) {
	tok := tokenizer.NewLocalByte()
	for _, n := range Names() {
		a, _ := Get(n)
		for _, r := range a.RecommendedRenderers {
			if r == "tml_v0" {
				continue
			}
			if _, err := renderers.Get(r, tok); err != nil {
				t.Errorf("%s recommends %s: %v", n, r, err)
			}
		}
	}
}

func TestUnknownModel(t *testing.T) {
	_, err := Get("Qwen/Qwen3-8b")
	if err == nil || !strings.Contains(err.Error(), "Qwen/Qwen3-8B") {
		t.Errorf("closest: %v", err)
	}
	_, err = Get("Qwen3-8B")
	if err == nil || !strings.Contains(err.Error(), "org/model") || !strings.Contains(err.Error(), "Qwen/Qwen3-8B") {
		t.Errorf("no org: %v", err)
	}
	// The hints are the spell package's, as everywhere else: a prefix of a
	// name finds it.
	_, err = Get("tkx/local")
	if err == nil || !strings.Contains(err.Error(), "closest: tkx/local-base, tkx/local-tiny") {
		t.Errorf("prefix: %v", err)
	}
}

func TestLR(t *testing.T) {
	for model, want := range map[string]float64{
		"meta-llama/Llama-3.1-8B": 5e-4 * math.Pow(2000.0/4096, 0.781),
		"Qwen/Qwen3-8B":           5e-4 * math.Pow(2000.0/4096, 0.0775),
		"Qwen/Qwen3-30B-A3B":      5e-4 * math.Pow(2000.0/2048, 0.0775),
	} {
		got, err := LR(model, true)
		if err != nil || math.Abs(got-want) > 1e-15 {
			t.Errorf("%s: %v %v, want %v", model, got, err, want)
		}
	}
	// The cookbook's documented examples.
	if lr, _ := LR("meta-llama/Llama-3.1-8B", true); math.Abs(lr-2.86e-4) > 0.01e-4 {
		t.Errorf("Llama-8B %v, want ≈2.86e-4", lr)
	}
	if lr, _ := LR("Qwen/Qwen3-8B", true); math.Abs(lr-4.73e-4) > 0.01e-4 {
		t.Errorf("Qwen3-8B %v, want ≈4.73e-4", lr)
	}
	full, _ := LR("Qwen/Qwen3-8B", false)
	lora, _ := LR("Qwen/Qwen3-8B", true)
	if math.Abs(lora/full-10) > 1e-12 {
		t.Errorf("lora multiplier %v", lora/full)
	}
	if _, err := LR("openai/gpt-oss-20b", true); err == nil || !strings.Contains(err.Error(), "not yet calibrated") {
		t.Errorf("gpt-oss: %v", err)
	}
	if _, err := LR("mistral/Foo", true); err == nil {
		t.Errorf("unknown family accepted")
	}
}

// The tokenizer package's list of known models (for its suggestions) and
// this registry must not drift apart.
func TestRegistryMatchesTokenizerKnownModels(t *testing.T) {
	known := map[string]bool{}
	for _, n := range tokenizer.KnownModels {
		known[n] = true
	}
	for _, n := range Names() {
		if strings.HasPrefix(n, "thinkingmachines/") {
			continue // tml_v0 models: no tokenizer in tkx
		}
		if !known[n] {
			t.Errorf("%s is in model_info but not in tokenizer.KnownModels", n)
		}
		delete(known, n)
	}
	for n := range known {
		t.Errorf("%s is in tokenizer.KnownModels but not in model_info", n)
	}
}
