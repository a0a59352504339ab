package backend

import (
	"context"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tokenizer"
)

// The engine talks to models through these small interfaces, so it can be
// tested with a fake and so the model package stays free of protocol
// concerns. localmodels.go adapts backend/model to them.

// BaseInfo describes a base model the provider can build.
type BaseInfo struct {
	Name       string // canonical name, e.g. "tkx/local-base"
	Arch       string // e.g. "llama"
	VocabSize  int    // token ids must be in [0, VocabSize)
	MaxContext int    // longest sequence a datum or prompt+completion may have
	EOS        int    // end-of-text id, -1 if none
	// TokenizerID is reported by get_info; Tokenizer decodes samples for
	// stop strings.
	TokenizerID string
	Tokenizer   tokenizer.Tokenizer
}

// ModelProvider builds models.
type ModelProvider interface {
	// Describe resolves a base model name; a name it cannot serve is a
	// *RequestError of category user naming the known models.
	Describe(base string) (BaseInfo, error)
	// NewTrainer builds a trainable LoRA model over the base.
	NewTrainer(info BaseInfo, lora protocol.LoraConfig) (Trainer, error)
	// NewBaseSampler returns a sampler over the base weights.
	NewBaseSampler(info BaseInfo) (SamplerModel, error)
	// LoadSampler builds a sampler from a checkpoint directory written by
	// Trainer.Save.
	LoadSampler(info BaseInfo, lora protocol.LoraConfig, dir string) (SamplerModel, error)
	// Supported lists the models get_server_capabilities advertises.
	Supported() []BaseInfo
}

// TrainExample is one validated datum.
type TrainExample struct {
	Tokens     []int32   // model input, N positions
	Targets    []int32   // target_tokens, N
	Weights    []float32 // weights, N (nil: all ones)
	Logprobs   []float32 // sampler logprobs q, N (RL losses)
	Advantages []float32 // advantages, N (RL losses)
}

// FBOutput is the result of a forward(_backward) pass.
type FBOutput struct {
	Logprobs [][]float32 // per datum, logprob of each target token
	Metrics  map[string]float64
}

// Trainer is one model being trained. The engine calls it from one
// goroutine at a time (the model's sequencer).
type Trainer interface {
	// ForwardBackward computes the loss and, unless forwardOnly,
	// accumulates gradients (they add up until OptimStep).
	ForwardBackward(ctx context.Context, data []TrainExample, lossFn string, cfg map[string]float64, forwardOnly bool) (*FBOutput, error)
	// OptimStep applies AdamW to the accumulated gradients and clears them.
	OptimStep(p protocol.AdamParams) (map[string]float64, error)
	// Save writes the adapter (adapter_config.json,
	// adapter_model.safetensors) and, when withOptimizer, the optimizer
	// state into dir.
	Save(dir string, withOptimizer bool) error
	// Load reads what Save wrote; withOptimizer also restores the
	// optimizer state (and fails if dir has none).
	Load(dir string, withOptimizer bool) error
	// Snapshot returns an independent sampler over the current weights;
	// later training does not change it.
	Snapshot() (SamplerModel, error)
}

// SampleSpec is one validated asample request.
type SampleSpec struct {
	Prompt             []int32
	NumSamples         int
	MaxTokens          int
	Temperature        float64
	TopK               int // -1 = off
	TopP               float64
	Seed               uint64
	StopTokens         []int32
	StopStrings        []string
	PromptLogprobs     bool
	TopKPromptLogprobs int
}

// SampledSequence is one completion.
type SampledSequence struct {
	Tokens     []int32
	Logprobs   []float32
	StopReason string // "stop" or "length"
}

// SampleOutput is the result of a SampleSpec.
type SampleOutput struct {
	Sequences      []SampledSequence
	PromptLogprobs []float32 // len(prompt), NaN first; nil unless asked
	TopKIDs        [][]int32 // len(prompt) × K; nil unless asked
	TopKLogprobs   [][]float32
}

// SamplerModel samples from frozen weights. It must be safe for
// concurrent use.
type SamplerModel interface {
	Sample(ctx context.Context, spec SampleSpec) (*SampleOutput, error)
}
