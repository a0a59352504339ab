package rollout

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/tinker"
)

// TinkerCompleter is the cookbook's TinkerTokenCompleter: it samples from a
// tinker SamplingClient with max_tokens capped so that prompt + completion
// fit the model's context window, and at most MaxConcurrency sample
// requests in flight. The sampling client can be swapped between steps
// (SetClient) while rollouts run; each request uses the client current when
// it starts, and Version says which one that was.
type TinkerCompleter struct {
	MaxTokens     int
	Temperature   float64
	ContextWindow int // 0: no cap
	sem           chan struct{}

	mu      sync.RWMutex
	client  *tinker.SamplingClient
	version int

	requests atomic.Int64
}

// NewTinkerCompleter returns a completer over client (policy version 0).
func NewTinkerCompleter(client *tinker.SamplingClient, maxTokens int, temperature float64, contextWindow, maxConcurrency int) (*TinkerCompleter, error) {
	if client == nil {
		return nil, fmt.Errorf("token completer: no sampling client")
	}
	if maxTokens < 1 {
		return nil, fmt.Errorf("token completer: max_tokens = %d must be ≥ 1", maxTokens)
	}
	if temperature < 0 || math.IsNaN(temperature) {
		return nil, fmt.Errorf("token completer: temperature = %v must be ≥ 0", temperature)
	}
	if maxConcurrency < 1 {
		maxConcurrency = 64
	}
	return &TinkerCompleter{MaxTokens: maxTokens, Temperature: temperature, ContextWindow: contextWindow, client: client, sem: make(chan struct{}, maxConcurrency)}, nil
}

// SetClient replaces the sampling client and records its policy version
// (the training step whose weights it serves).
func (c *TinkerCompleter) SetClient(client *tinker.SamplingClient, version int) {
	c.mu.Lock()
	c.client, c.version = client, version
	c.mu.Unlock()
}

// Client returns the current sampling client and its version.
func (c *TinkerCompleter) Client() (*tinker.SamplingClient, int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.client, c.version
}

// Requests is the number of sample requests sent.
func (c *TinkerCompleter) Requests() int64 { return c.requests.Load() }

// Complete samples one action.
func (c *TinkerCompleter) Complete(ctx context.Context, ob []int, stop StopCondition) (Action, error) {
	acts, err := c.CompleteN(ctx, ob, stop, 1)
	if err != nil {
		return Action{}, err
	}
	return acts[0], nil
}

// CompleteN samples n actions of one prompt in one request. When the
// prompt leaves no room in the context window it returns n empty actions
// with stop reason context_overflow instead of failing.
func (c *TinkerCompleter) CompleteN(ctx context.Context, ob []int, stop StopCondition, n int) ([]Action, error) {
	maxTok := c.MaxTokens
	if c.ContextWindow > 0 {
		maxTok = min(maxTok, c.ContextWindow-len(ob))
	}
	if maxTok <= 0 {
		out := make([]Action, n)
		for i := range out {
			out[i] = Action{Tokens: []int{}, Logprobs: []float64{}, StopReason: rl.StopContextOverflow}
		}
		return out, nil
	}
	toks := make([]int32, len(ob))
	for i, t := range ob {
		toks[i] = int32(t)
	}
	p := protocol.DefaultSamplingParams()
	p.MaxTokens = &maxTok
	p.Temperature = c.Temperature
	switch {
	case len(stop.Tokens) > 0:
		st := &protocol.Stop{Tokens: make([]int32, len(stop.Tokens))}
		for i, t := range stop.Tokens {
			st.Tokens[i] = int32(t)
		}
		p.Stop = st
	case len(stop.Strings) > 0:
		p.Stop = &protocol.Stop{Strings: stop.Strings}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-c.sem }()
	client, _ := c.Client()
	c.requests.Add(1)
	f, err := client.Sample(ctx, protocol.FromTokens(toks), n, p, tinker.SampleOptions{})
	if err != nil {
		return nil, err
	}
	res, err := f.Result(ctx)
	if err != nil {
		return nil, err
	}
	if len(res.Sequences) != n {
		return nil, fmt.Errorf("sampler returned %d sequences, asked for %d", len(res.Sequences), n)
	}
	out := make([]Action, n)
	for i, s := range res.Sequences {
		a := Action{Tokens: make([]int, len(s.Tokens)), Logprobs: make([]float64, len(s.Tokens)), StopReason: s.StopReason}
		for j, t := range s.Tokens {
			a.Tokens[j] = int(t)
		}
		if len(s.Logprobs) != len(s.Tokens) {
			return nil, fmt.Errorf("sampler returned %d logprobs for %d tokens", len(s.Logprobs), len(s.Tokens))
		}
		for j, lp := range s.Logprobs {
			a.Logprobs[j] = float64(lp)
		}
		out[i] = a
	}
	return out, nil
}
