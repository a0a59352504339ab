package model

import (
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
)

// The shipped checkpoint of tkx/local-base (base weights only, float32
// safetensors), made by ./cmd/pretrain; see pretrained/README.md.
//
//go:embed pretrained
var pretrainedFS embed.FS

// PretrainedFile is the embedded checkpoint's path inside pretrainedFS.
const PretrainedFile = "pretrained/local-base.safetensors"

// PretrainedBytes returns the embedded checkpoint of tkx/local-base.
func PretrainedBytes() ([]byte, error) {
	b, err := fs.ReadFile(pretrainedFS, PretrainedFile)
	if err != nil {
		return nil, fmt.Errorf("model: the pretrained %s checkpoint is not built into this binary (run go run ./backend/model/cmd/pretrain): %v", LocalBaseName, err)
	}
	return b, nil
}

// NewBase returns the base network of a local model name, set up for
// full-weight training (call NewLoRA on it for a LoRA training copy, or
// Sampler to sample from it):
//   - "tkx/local-base": the embedded pretrained checkpoint;
//   - "tkx/local-tiny": random weights (seed 0), for tests.
//
// Other names are an error; use NewBaseForVocab for a real model's name
// with its tokenizer's vocabulary.
func NewBase(name string) (*Model, error) {
	cfg, err := ConfigFor(name)
	if err != nil {
		return nil, err
	}
	switch cfg.Name {
	case LocalBaseName:
		raw, err := PretrainedBytes()
		if err != nil {
			return nil, err
		}
		n, err := LoadBase[float32](raw)
		if err != nil {
			return nil, fmt.Errorf("model: embedded %s checkpoint: %v", LocalBaseName, err)
		}
		return n, nil
	default:
		return NewRandom[float32](cfg, 0)
	}
}

// NewBaseForVocab returns an untrained local-base-shaped network over a real
// tokenizer's vocabulary (e.g. "Qwen/Qwen3-8B", vocab 151,936), with random
// weights seeded from the name, so a recipe configured for a production
// model runs locally. It is slower than tkx/local-base: at V=151,936 the
// unembedding is ~20x the rest of the model per token (see README.md).
func NewBaseForVocab(name string, vocab, eos int) (*Model, error) {
	if vocab <= 0 || vocab > 1<<22 {
		return nil, fmt.Errorf("model: vocabulary size %d for %q out of range", vocab, name)
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return NewRandom[float32](ForVocab(name, vocab, eos), h.Sum64())
}
