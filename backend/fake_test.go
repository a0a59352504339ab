package backend

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tokenizer"
)

// fakeProvider is a unigram "model" (logits θ over the vocabulary) with
// real gradients, so engine tests can run fast and under -race without the
// transformer. It records the order in which training calls run.
type fakeProvider struct {
	vocab   int
	context int
	mu      sync.Mutex
	log     []string
	// block, when set, is waited on inside ForwardBackward.
	block chan struct{}
	// saveErr, when set, makes Save fail after writing part of a file.
	saveErr atomic.Pointer[error]
	// inflight counts concurrent ForwardBackward calls across models.
	inflight, maxInflight atomic.Int32
}

func newFakeProvider() *fakeProvider { return &fakeProvider{vocab: 288, context: 64} }

func (p *fakeProvider) record(s string) {
	p.mu.Lock()
	p.log = append(p.log, s)
	p.mu.Unlock()
}

func (p *fakeProvider) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *fakeProvider) Describe(base string) (BaseInfo, error) {
	if base != "fake/unigram" {
		return BaseInfo{}, userErr("unknown base model %q (fake provider serves fake/unigram)", base)
	}
	return BaseInfo{Name: base, Arch: "unigram", VocabSize: p.vocab, MaxContext: p.context, EOS: 256, TokenizerID: base, Tokenizer: tokenizer.NewLocalByte()}, nil
}

func (p *fakeProvider) Supported() []BaseInfo {
	bi, _ := p.Describe("fake/unigram")
	return []BaseInfo{bi}
}

func (p *fakeProvider) NewTrainer(info BaseInfo, lora protocol.LoraConfig) (Trainer, error) {
	return &fakeTrainer{p: p, theta: make([]float64, info.VocabSize), grad: make([]float64, info.VocabSize)}, nil
}

func (p *fakeProvider) NewBaseSampler(info BaseInfo) (SamplerModel, error) {
	return &fakeSampler{theta: make([]float64, info.VocabSize), eos: info.EOS, tok: info.Tokenizer}, nil
}

func (p *fakeProvider) LoadSampler(info BaseInfo, lora protocol.LoraConfig, dir string) (SamplerModel, error) {
	var st fakeState
	b, err := os.ReadFile(filepath.Join(dir, "fake.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &fakeSampler{theta: st.Theta, eos: info.EOS, tok: info.Tokenizer}, nil
}

type fakeState struct {
	Theta []float64 `json:"theta"`
	M     []float64 `json:"m,omitempty"`
}

type fakeTrainer struct {
	p     *fakeProvider
	theta []float64
	grad  []float64
	m     []float64
}

func logSoftmax(theta []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range theta {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range theta {
		s += math.Exp(v - mx)
	}
	lse := mx + math.Log(s)
	out := make([]float64, len(theta))
	for i, v := range theta {
		out[i] = v - lse
	}
	return out
}

func (t *fakeTrainer) ForwardBackward(ctx context.Context, data []TrainExample, lossFn string, cfg map[string]float64, forwardOnly bool) (*FBOutput, error) {
	n := t.p.inflight.Add(1)
	defer t.p.inflight.Add(-1)
	for {
		m := t.p.maxInflight.Load()
		if n <= m || t.p.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if t.p.block != nil {
		<-t.p.block
	}
	t.p.record("fb")
	lp := logSoftmax(t.theta)
	out := &FBOutput{Metrics: map[string]float64{}}
	var loss float64
	for _, ex := range data {
		row := make([]float32, len(ex.Targets))
		for j, tg := range ex.Targets {
			w := 1.0
			if ex.Weights != nil {
				w = float64(ex.Weights[j])
			}
			if ex.Advantages != nil {
				w = float64(ex.Advantages[j])
			}
			row[j] = float32(lp[tg])
			loss -= w * lp[tg]
			if !forwardOnly {
				for v := range t.grad {
					g := math.Exp(lp[v])
					if v == int(tg) {
						g -= 1
					}
					t.grad[v] += w * g
				}
			}
		}
		out.Logprobs = append(out.Logprobs, row)
	}
	out.Metrics["loss:sum"] = loss
	return out, nil
}

func (t *fakeTrainer) OptimStep(p protocol.AdamParams) (map[string]float64, error) {
	t.p.record("optim")
	var norm float64
	for i, g := range t.grad {
		norm += g * g
		t.theta[i] -= p.LearningRate * g
		t.grad[i] = 0
	}
	return map[string]float64{"grad_norm:mean": math.Sqrt(norm)}, nil
}

func (t *fakeTrainer) Save(dir string, withOptimizer bool) error {
	t.p.record("save")
	st := fakeState{Theta: t.theta}
	if withOptimizer {
		st.M = make([]float64, len(t.theta))
	}
	b, _ := json.Marshal(st)
	if ep := t.p.saveErr.Load(); ep != nil {
		// Write half the file, then fail like a full disk would.
		os.WriteFile(filepath.Join(dir, "fake.json"), b[:len(b)/2], 0o644)
		return *ep
	}
	if err := os.WriteFile(filepath.Join(dir, "fake.json"), b, 0o644); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(`{"peft_type":"LORA","r":1}`), 0o644)
	return os.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), []byte("fake-safetensors"), 0o644)
}

func (t *fakeTrainer) Load(dir string, withOptimizer bool) error {
	t.p.record("load")
	b, err := os.ReadFile(filepath.Join(dir, "fake.json"))
	if err != nil {
		return err
	}
	var st fakeState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if withOptimizer && st.M == nil {
		return errors.New("no optimizer state")
	}
	t.theta = st.Theta
	return nil
}

func (t *fakeTrainer) Snapshot() (SamplerModel, error) {
	return &fakeSampler{theta: append([]float64(nil), t.theta...), eos: 256, tok: tokenizer.NewLocalByte()}, nil
}

type fakeSampler struct {
	theta []float64
	eos   int
	tok   tokenizer.Tokenizer
}

func (s *fakeSampler) Sample(ctx context.Context, spec SampleSpec) (*SampleOutput, error) {
	lp := logSoftmax(s.theta)
	rng := rand.New(rand.NewPCG(spec.Seed, 1))
	out := &SampleOutput{}
	for i := 0; i < spec.NumSamples; i++ {
		var seq SampledSequence
		seq.StopReason = protocol.StopReasonLength
		for len(seq.Tokens) < spec.MaxTokens {
			// Inverse-CDF draw over the byte range only, for readable text.
			u := rng.Float64()
			var c float64
			tok := 0
			var z float64
			for v := 32; v < 127; v++ {
				z += math.Exp(lp[v])
			}
			for v := 32; v < 127; v++ {
				c += math.Exp(lp[v]) / z
				if u <= c {
					tok = v
					break
				}
				tok = v
			}
			seq.Tokens = append(seq.Tokens, int32(tok))
			seq.Logprobs = append(seq.Logprobs, float32(lp[tok]))
			if stopHit(s.tok, seq.Tokens, spec.StopTokens, spec.StopStrings) {
				seq.StopReason = protocol.StopReasonStop
				break
			}
		}
		out.Sequences = append(out.Sequences, seq)
	}
	if spec.PromptLogprobs {
		out.PromptLogprobs = make([]float32, len(spec.Prompt))
		for i, t := range spec.Prompt {
			out.PromptLogprobs[i] = float32(lp[t])
		}
	}
	return out, nil
}
