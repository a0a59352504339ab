package backend

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/backend/model"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tokenizer"
)

// Files a local checkpoint directory holds.
const (
	fileModel         = "model.safetensors" // full state (model.Net.Save)
	fileAdapterConfig = "adapter_config.json"
	fileAdapter       = "adapter_model.safetensors"
)

// LocalProvider serves the built-in local models ("tkx/local-base",
// "tkx/local-tiny") and, when a tokenizer for it can be loaded, a small model
// over a real base model's vocabulary.
type LocalProvider struct {
	// TokenizerFor loads the tokenizer of a non-local base model name (nil:
	// real names are refused).
	TokenizerFor func(name string) (tokenizer.Tokenizer, error)

	mu    sync.Mutex
	bases map[string]*model.Model
}

// NewLocalProvider returns the provider of the built-in models. Real base
// model names resolve through tokenizer.ForModel (the Hugging Face cache,
// downloading with HF_TOKEN when allowed).
func NewLocalProvider() *LocalProvider {
	return &LocalProvider{bases: map[string]*model.Model{}, TokenizerFor: func(name string) (tokenizer.Tokenizer, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return tokenizer.ForModel(ctx, name)
	}}
}

func stripSuffix(name string) string {
	if i := strings.Index(name, ":"); i >= 0 {
		return name[:i]
	}
	return name
}

// Describe resolves a base model name.
func (p *LocalProvider) Describe(base string) (BaseInfo, error) {
	if base == "" {
		return BaseInfo{}, userErr("base_model is required (local models: %s, %s)", model.LocalBaseName, model.LocalTinyName)
	}
	name := stripSuffix(base)
	if cfg, err := model.ConfigFor(name); err == nil {
		return BaseInfo{Name: cfg.Name, Arch: "llama", VocabSize: cfg.Vocab, MaxContext: cfg.MaxSeq, EOS: cfg.EOS,
			TokenizerID: cfg.Name, Tokenizer: tokenizer.NewLocalByte()}, nil
	}
	if p.TokenizerFor != nil {
		tok, err := p.TokenizerFor(name)
		if err == nil && tok.VocabSize() > maxLocalVocab {
			return BaseInfo{}, userErr("base model %q: its vocabulary of %d tokens is larger than the local backend supports (%d)", base, tok.VocabSize(), maxLocalVocab)
		}
		if err == nil {
			cfg := model.ForVocab(name, tok.VocabSize(), tok.EOS())
			return BaseInfo{Name: name, Arch: "llama", VocabSize: cfg.Vocab, MaxContext: cfg.MaxSeq, EOS: cfg.EOS, TokenizerID: name, Tokenizer: tok}, nil
		}
		return BaseInfo{}, userErr("unknown base model %q: it is not a local model (%s, %s) and its tokenizer is not available (%v)", base, model.LocalBaseName, model.LocalTinyName, err)
	}
	return BaseInfo{}, userErr("unknown base model %q (local models: %s, %s; a Hugging Face model name works when its tokenizer is in the local Hugging Face cache)", base, model.LocalBaseName, model.LocalTinyName)
}

// maxLocalVocab bounds the vocabulary of a stand-in model for a real base
// model name (the head is vocab×128 floats, ~400 MB of weights, gradients
// and optimizer state at this size).
const maxLocalVocab = 300000

// Supported lists the local models.
func (p *LocalProvider) Supported() []BaseInfo {
	var out []BaseInfo
	for _, n := range []string{model.LocalBaseName, model.LocalTinyName} {
		if bi, err := p.Describe(n); err == nil {
			out = append(out, bi)
		}
	}
	return out
}

func (p *LocalProvider) configFor(info BaseInfo) (model.Config, error) {
	if cfg, err := model.ConfigFor(info.Name); err == nil {
		return cfg, nil
	}
	return model.ForVocab(info.Name, info.VocabSize, info.EOS), nil
}

// base returns the shared base network (read-only).
func (p *LocalProvider) base(info BaseInfo) (*model.Model, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.bases[info.Name]; ok {
		return n, nil
	}
	cfg, err := p.configFor(info)
	if err != nil {
		return nil, err
	}
	n, err := loadBaseNet(cfg)
	if err != nil {
		return nil, serverErr("building base model %s: %v", info.Name, err)
	}
	p.bases[info.Name] = n
	return n, nil
}

// loadBaseNet returns the base weights: the shipped pretrained checkpoint
// for tkx/local-base, seeded random weights for tkx/local-tiny and for
// stand-ins of real model names. If this binary lacks the pretrained
// checkpoint, local-base falls back to random weights with a warning.
func loadBaseNet(cfg model.Config) (*model.Model, error) {
	if _, err := model.ConfigFor(cfg.Name); err != nil {
		return model.NewBaseForVocab(cfg.Name, cfg.Vocab, cfg.EOS)
	}
	n, err := model.NewBase(cfg.Name)
	if err != nil && cfg.Name == model.LocalBaseName {
		if _, perr := model.PretrainedBytes(); perr != nil {
			log.Printf("tkx backend: WARNING: %v; %s starts from random weights", perr, cfg.Name)
			return model.NewRandom[float32](cfg, 0)
		}
	}
	return n, err
}

func toModelLora(c protocol.LoraConfig) *model.LoraConfig {
	lc := &model.LoraConfig{Rank: c.Rank, TrainAttn: c.TrainAttn, TrainMLP: c.TrainMLP, TrainUnembed: c.TrainUnembed}
	if c.Seed != nil {
		lc.Seed = uint64(*c.Seed)
	}
	return lc
}

// NewTrainer builds a LoRA model over the base.
func (p *LocalProvider) NewTrainer(info BaseInfo, lora protocol.LoraConfig) (Trainer, error) {
	b, err := p.base(info)
	if err != nil {
		return nil, err
	}
	n, err := b.NewLoRA(toModelLora(lora))
	if err != nil {
		return nil, userErr("%v", err)
	}
	return &localTrainer{net: n, info: info}, nil
}

// NewBaseSampler samples from the base weights.
func (p *LocalProvider) NewBaseSampler(info BaseInfo) (SamplerModel, error) {
	b, err := p.base(info)
	if err != nil {
		return nil, err
	}
	return newLocalSampler(b, info)
}

// LoadSampler samples from a saved checkpoint.
func (p *LocalProvider) LoadSampler(info BaseInfo, lora protocol.LoraConfig, dir string) (SamplerModel, error) {
	raw, err := os.ReadFile(filepath.Join(dir, fileModel))
	if err != nil {
		return nil, err
	}
	n, err := model.Load[float32](raw)
	if err != nil {
		return nil, err
	}
	if n.Cfg.Name != info.Name {
		return nil, fmt.Errorf("checkpoint holds model %s, not %s", n.Cfg.Name, info.Name)
	}
	return newLocalSampler(n, info)
}

// localTrainer adapts model.Model to Trainer.
type localTrainer struct {
	net  *model.Model
	info BaseInfo
}

func (t *localTrainer) ForwardBackward(ctx context.Context, data []TrainExample, lossFn string, cfg map[string]float64, forwardOnly bool) (*FBOutput, error) {
	md := make([]model.Datum, len(data))
	for i, ex := range data {
		toks := make([]int, len(ex.Tokens))
		for j, v := range ex.Tokens {
			toks[j] = int(v)
		}
		in := map[string][]float64{}
		tt := make([]float64, len(ex.Targets))
		for j, v := range ex.Targets {
			tt[j] = float64(v)
		}
		in["target_tokens"] = tt
		for k, v := range map[string][]float32{"weights": ex.Weights, "logprobs": ex.Logprobs, "advantages": ex.Advantages} {
			if v == nil {
				continue
			}
			f := make([]float64, len(v))
			for j, x := range v {
				f[j] = float64(x)
			}
			in[k] = f
		}
		if _, ok := in["weights"]; !ok && lossFn == "cross_entropy" {
			w := make([]float64, len(toks))
			for j := range w {
				w[j] = 1
			}
			in["weights"] = w
		}
		md[i] = model.Datum{Tokens: toks, Inputs: in}
	}
	res, err := t.net.ForwardBackward(md, lossFn, cfg, forwardOnly)
	if err != nil {
		return nil, userErr("%v", err)
	}
	return &FBOutput{Logprobs: res.Logprobs, Metrics: res.Metrics}, nil
}

func (t *localTrainer) OptimStep(p protocol.AdamParams) (map[string]float64, error) {
	r, err := t.net.OptimStep(model.AdamParams{LearningRate: p.LearningRate, Beta1: p.Beta1, Beta2: p.Beta2, Eps: p.Eps, WeightDecay: p.WeightDecay, GradClipNorm: p.GradClipNorm})
	if err != nil {
		return nil, userErr("%v", err)
	}
	return map[string]float64{"grad_norm:mean": r.GradNorm, "step:max": float64(r.Step)}, nil
}

func (t *localTrainer) Save(dir string, withOptimizer bool) error {
	var buf bytes.Buffer
	if err := t.net.Save(&buf, withOptimizer); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, fileModel), buf.Bytes(), 0o644); err != nil {
		return err
	}
	cfg, err := t.net.AdapterConfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, fileAdapterConfig), cfg, 0o644); err != nil {
		return err
	}
	buf.Reset()
	if err := t.net.ExportAdapter(&buf); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fileAdapter), buf.Bytes(), 0o644)
}

func (t *localTrainer) Load(dir string, withOptimizer bool) error {
	raw, err := os.ReadFile(filepath.Join(dir, fileModel))
	if err != nil {
		return err
	}
	n, err := model.Load[float32](raw)
	if err != nil {
		return err
	}
	if n.Cfg.Name != t.net.Cfg.Name {
		return fmt.Errorf("checkpoint holds model %s, not %s", n.Cfg.Name, t.net.Cfg.Name)
	}
	if !withOptimizer {
		// Drop the optimizer state: round-trip through a save without it.
		b, err := n.SaveBytes(false)
		if err != nil {
			return err
		}
		if n, err = model.Load[float32](b); err != nil {
			return err
		}
	}
	t.net = n
	return nil
}

func (t *localTrainer) Snapshot() (SamplerModel, error) {
	return newLocalSampler(t.net, t.info)
}
