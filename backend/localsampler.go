package backend

import (
	"context"

	"github.com/tkx-dev/tkx/backend/model"
)

// localSampler adapts model.Sampler (frozen, merged weights; safe for
// concurrent use) to SamplerModel.
type localSampler struct {
	s    *model.Sampler[float32]
	info BaseInfo
}

func newLocalSampler(n *model.Model, info BaseInfo) (SamplerModel, error) {
	return &localSampler{s: n.Sampler(), info: info}, nil
}

func (ls *localSampler) Sample(ctx context.Context, spec SampleSpec) (*SampleOutput, error) {
	prompt := make([]int, len(spec.Prompt))
	for i, t := range spec.Prompt {
		prompt[i] = int(t)
	}
	p := model.SamplingParams{MaxTokens: spec.MaxTokens, Temperature: spec.Temperature, TopK: spec.TopK, TopP: spec.TopP, Seed: spec.Seed, HasSeed: true}
	for _, t := range spec.StopTokens {
		p.StopSequences = append(p.StopSequences, []int{int(t)})
	}
	if len(spec.StopStrings) > 0 {
		tok := ls.info.Tokenizer
		stops := spec.StopStrings
		p.StopFunc = func(gen []int) bool {
			g := make([]int32, len(gen))
			for i, t := range gen {
				g[i] = int32(t)
			}
			return stopHit(tok, g, nil, stops)
		}
	}
	want := spec.NumSamples
	if spec.MaxTokens == 0 {
		// max_tokens=0: nothing to generate (prompt logprobs only).
		spec.NumSamples, p.MaxTokens = 0, 0
	}
	res, err := ls.s.Sample(model.SampleRequest{Prompt: prompt, NumSamples: spec.NumSamples, Params: p, PromptLogprobs: spec.PromptLogprobs, TopKPromptLogprobs: spec.TopKPromptLogprobs})
	if err != nil {
		return nil, userErr("%v", err)
	}
	out := &SampleOutput{}
	for _, s := range res.Sequences {
		toks := make([]int32, len(s.Tokens))
		for i, t := range s.Tokens {
			toks[i] = int32(t)
		}
		out.Sequences = append(out.Sequences, SampledSequence{Tokens: toks, Logprobs: s.Logprobs, StopReason: s.StopReason})
	}
	for len(out.Sequences) < want && spec.MaxTokens == 0 {
		out.Sequences = append(out.Sequences, SampledSequence{Tokens: []int32{}, Logprobs: []float32{}, StopReason: "length"})
	}
	if res.PromptLogprobs != nil {
		out.PromptLogprobs = make([]float32, len(res.PromptLogprobs))
		for i, v := range res.PromptLogprobs {
			out.PromptLogprobs[i] = float32(v)
		}
	}
	if res.TopKPromptLogprobs != nil {
		out.TopKIDs = make([][]int32, len(res.TopKPromptLogprobs))
		out.TopKLogprobs = make([][]float32, len(res.TopKPromptLogprobs))
		for i, row := range res.TopKPromptLogprobs {
			for _, tl := range row {
				out.TopKIDs[i] = append(out.TopKIDs[i], int32(tl.Token))
				out.TopKLogprobs[i] = append(out.TopKLogprobs[i], float32(tl.Logprob))
			}
		}
	}
	return out, nil
}
