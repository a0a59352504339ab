package model

import (
	"math/rand/v2"
	"time"
)

// BenchResult is one throughput measurement.
type BenchResult struct {
	Tokens  int
	Seconds float64
	// TokensPerSec is Tokens/Seconds for the best trial.
	TokensPerSec float64
}

// BenchTrain measures training throughput (forward + backward + AdamW) of
// cfg with random weights on random token sequences: batch sequences of
// seqLen tokens per step, full-weight training when lora is nil. It runs
// one warm-up step, then trials×steps timed steps, and reports the best
// trial.
func BenchTrain(cfg Config, lora *LoraConfig, batch, seqLen, steps, trials int) (BenchResult, error) {
	base, err := NewRandom[float32](cfg, 1)
	if err != nil {
		return BenchResult{}, err
	}
	m, err := base.NewLoRA(lora)
	if err != nil {
		return BenchResult{}, err
	}
	seqLen = min(seqLen, cfg.MaxSeq)
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]Datum, batch)
	for i := range data {
		toks, tg, w := make([]int, seqLen), make([]float64, seqLen), make([]float64, seqLen)
		for t := range toks {
			toks[t], tg[t], w[t] = rng.IntN(256), float64(rng.IntN(256)), 1/float64(batch*seqLen)
		}
		data[i] = Datum{Tokens: toks, Inputs: map[string][]float64{"target_tokens": tg, "weights": w}}
	}
	p := AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}
	step := func() error {
		if _, err := m.ForwardBackward(data, LossCrossEntropy, nil, false); err != nil {
			return err
		}
		_, err := m.OptimStep(p)
		return err
	}
	if err := step(); err != nil {
		return BenchResult{}, err
	}
	best := BenchResult{}
	for tr := 0; tr < max(1, trials); tr++ {
		t0 := time.Now()
		for s := 0; s < steps; s++ {
			if err := step(); err != nil {
				return BenchResult{}, err
			}
		}
		r := BenchResult{Tokens: steps * batch * seqLen, Seconds: time.Since(t0).Seconds()}
		r.TokensPerSec = float64(r.Tokens) / r.Seconds
		if r.TokensPerSec > best.TokensPerSec {
			best = r
		}
	}
	return best, nil
}

// BenchSample measures sampling throughput: batch samples of newTokens
// tokens each after a promptLen-token prompt (one request, decoded as one
// batch with the KV cache), best of trials.
func BenchSample(cfg Config, batch, promptLen, newTokens, trials int) (BenchResult, error) {
	n, err := NewRandom[float32](cfg, 1)
	if err != nil {
		return BenchResult{}, err
	}
	s := n.Sampler()
	rng := rand.New(rand.NewPCG(3, 4))
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = rng.IntN(256)
	}
	req := SampleRequest{Prompt: prompt, NumSamples: batch, Params: SamplingParams{MaxTokens: newTokens, Temperature: 1,
		Seed: 1, HasSeed: true, IgnoreEOS: true}}
	best := BenchResult{}
	for tr := 0; tr < max(1, trials); tr++ {
		t0 := time.Now()
		res, err := s.Sample(req)
		if err != nil {
			return BenchResult{}, err
		}
		r := BenchResult{Seconds: time.Since(t0).Seconds()}
		for _, sq := range res.Sequences {
			r.Tokens += len(sq.Tokens)
		}
		r.TokensPerSec = float64(r.Tokens) / r.Seconds
		if r.TokensPerSec > best.TokensPerSec {
			best = r
		}
	}
	return best, nil
}

// BackendFigures are the local backend's headline throughputs for the
// default model (tkx/local-base, random weights).
type BackendFigures struct {
	// TrainTokensPerSec: full-weight forward+backward+AdamW, batch 8×256.
	TrainTokensPerSec float64 `json:"train_tokens_per_s"`
	// TrainLoRATokensPerSec: the same with rank-32 LoRA on every layer.
	TrainLoRATokensPerSec float64 `json:"train_lora_tokens_per_s"`
	// SampleTokensPerSecB1/B16: 128 new tokens after a 32-token prompt,
	// one request with 1 or 16 samples.
	SampleTokensPerSecB1  float64 `json:"sample_tokens_per_s_b1"`
	SampleTokensPerSecB16 float64 `json:"sample_tokens_per_s_b16"`
}

// Bench measures BackendFigures, best of trials (quick: one short trial
// each, for smoke tests).
func Bench(quick bool) (BackendFigures, error) {
	cfg := LocalBase()
	steps, trials, newTok := 3, 3, 128
	if quick {
		steps, trials, newTok = 1, 1, 16
	}
	var f BackendFigures
	r, err := BenchTrain(cfg, nil, 8, 256, steps, trials)
	if err != nil {
		return f, err
	}
	f.TrainTokensPerSec = r.TokensPerSec
	r, err = BenchTrain(cfg, &LoraConfig{Rank: 32, TrainAttn: true, TrainMLP: true, TrainUnembed: true}, 8, 256, steps, trials)
	if err != nil {
		return f, err
	}
	f.TrainLoRATokensPerSec = r.TokensPerSec
	r, err = BenchSample(cfg, 1, 32, newTok, trials)
	if err != nil {
		return f, err
	}
	f.SampleTokensPerSecB1 = r.TokensPerSec
	r, err = BenchSample(cfg, 16, 32, newTok, trials)
	if err != nil {
		return f, err
	}
	f.SampleTokensPerSecB16 = r.TokensPerSec
	return f, nil
}
