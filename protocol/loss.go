package protocol

import (
	"fmt"
	"sort"
	"strings"
)

// Loss function names.
const (
	LossCrossEntropy       = "cross_entropy"
	LossImportanceSampling = "importance_sampling"
	LossPPO                = "ppo"
	LossCISPO              = "cispo"
	LossDRO                = "dro"
)

// Loss input and config keys.
const (
	InputTargetTokens = "target_tokens"
	InputWeights      = "weights"
	InputLogprobs     = "logprobs"
	InputAdvantages   = "advantages"

	ConfigClipLow  = "clip_low_threshold"
	ConfigClipHigh = "clip_high_threshold"
	ConfigBeta     = "beta"
)

// MetricLossSum is the metric every built-in loss reports.
const MetricLossSum = "loss:sum"

// OutputLogprobs is the per-datum output tensor of every built-in loss.
const OutputLogprobs = "logprobs"

// LossSpec describes a built-in loss function's inputs and config.
type LossSpec struct {
	Name     string
	Required []string           // loss_fn_inputs that must be present
	Optional []string           // loss_fn_inputs that may be present
	Config   map[string]float64 // accepted loss_fn_config keys with defaults
}

var lossSpecs = map[string]LossSpec{
	LossCrossEntropy: {Name: LossCrossEntropy, Required: []string{InputTargetTokens}, Optional: []string{InputWeights}},
	LossImportanceSampling: {Name: LossImportanceSampling,
		Required: []string{InputTargetTokens, InputLogprobs, InputAdvantages}, Optional: []string{InputWeights}},
	LossPPO: {Name: LossPPO, Required: []string{InputTargetTokens, InputLogprobs, InputAdvantages}, Optional: []string{InputWeights},
		Config: map[string]float64{ConfigClipLow: 0.8, ConfigClipHigh: 1.2}},
	LossCISPO: {Name: LossCISPO, Required: []string{InputTargetTokens, InputLogprobs, InputAdvantages}, Optional: []string{InputWeights},
		Config: map[string]float64{ConfigClipLow: 0.0, ConfigClipHigh: 4.0}},
	LossDRO: {Name: LossDRO, Required: []string{InputTargetTokens, InputLogprobs, InputAdvantages}, Optional: []string{InputWeights},
		Config: map[string]float64{ConfigBeta: 0.05}},
}

// LossFunctions lists the built-in loss names, sorted.
func LossFunctions() []string {
	names := make([]string, 0, len(lossSpecs))
	for n := range lossSpecs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupLoss returns the spec of a built-in loss.
func LookupLoss(name string) (LossSpec, bool) {
	s, ok := lossSpecs[name]
	return s, ok
}

// InputDType is the dtype a plain list takes for a loss input key (the
// SDK's rule): target_tokens → int64, everything else → float32.
func InputDType(key string) DType {
	if key == InputTargetTokens {
		return DTypeInt64
	}
	return DTypeFloat32
}

// ResolveLossConfig merges cfg over the loss's defaults and rejects keys
// the loss does not take.
func ResolveLossConfig(lossFn string, cfg map[string]float64) (map[string]float64, error) {
	spec, ok := lossSpecs[lossFn]
	if !ok {
		return nil, fmt.Errorf("unknown loss_fn %q (want one of %s)", lossFn, strings.Join(LossFunctions(), ", "))
	}
	out := make(map[string]float64, len(spec.Config))
	for k, v := range spec.Config {
		out[k] = v
	}
	for k, v := range cfg {
		if _, ok := spec.Config[k]; !ok {
			return nil, fmt.Errorf("loss_fn_config key %q is not used by %s", k, lossFn)
		}
		out[k] = v
	}
	return out, nil
}
