package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
)

// Sampler generates from a frozen copy of a network's weights with LoRA
// merged in (W + s·B·A). It is safe for concurrent use: each call has its
// own activations and KV cache.
type Sampler[T Float] struct {
	net  *Net[T]
	once sync.Once
	wT   map[*linear[T]][]T // transposed weights for decoding
}

// Sampler snapshots the current weights for sampling; later training does
// not affect the snapshot.
func (n *Net[T]) Sampler() *Sampler[T] {
	cfg := n.Cfg
	headMerged := n.head.a != nil
	if headMerged {
		cfg.Tied = false
	}
	s := alloc[T](cfg)
	s.exactMath = n.exactMath
	copy(s.embed, n.embed)
	copy(s.finalNorm, n.finalNorm)
	for i, ly := range n.layers {
		sl := s.layers[i]
		copy(sl.attnNorm, ly.attnNorm)
		copy(sl.mlpNorm, ly.mlpNorm)
		src, dst := ly.linears(), sl.linears()
		for j := range src {
			copy(dst[j].w, src[j].weff)
		}
	}
	if !cfg.Tied {
		copy(s.head.w, n.head.weff)
	}
	for _, l := range s.linears() {
		l.weff = l.w
	}
	return &Sampler[T]{net: s}
}

// Config is the sampled model's configuration.
func (s *Sampler[T]) Config() Config { return s.net.Cfg }

// SamplingParams control generation.
//
// Logprobs of generated tokens are log-probabilities under the
// temperature-scaled distribution softmax(logits/temperature) before top-k
// and top-p truncation (at temperature 1: the model's own distribution, the
// one forward_backward and compute_logprobs report). Temperature 0 means
// greedy decoding, and its logprobs are the model's (temperature 1).
type SamplingParams struct {
	// MaxTokens bounds the generated tokens; 0 means up to the context end.
	MaxTokens int
	// Temperature scales the logits (0: greedy).
	Temperature float64
	// TopK keeps the k most likely tokens (<= 0: off).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches TopP, after top-k (>= 1 or <= 0: off).
	TopP float64
	// Seed makes sampling reproducible when HasSeed; sample i of a request
	// uses the stream (Seed, i).
	Seed    uint64
	HasSeed bool
	// StopSequences: generation stops (stop_reason "stop") when the output
	// ends with one of these token sequences; the stop tokens are kept in the
	// output. A stop token id is a sequence of length 1.
	StopSequences [][]int
	// StopFunc, when set, is called with the tokens generated so far after
	// each token; returning true stops with reason "stop". The engine uses it
	// for stop strings that do not map to fixed token sequences.
	StopFunc func(generated []int) bool
	// IgnoreEOS disables stopping at the config's end-of-text token.
	IgnoreEOS bool
}

// SampleRequest is one sampling call.
type SampleRequest struct {
	Prompt     []int
	NumSamples int
	Params     SamplingParams
	// PromptLogprobs asks for the log-probability of every prompt token
	// (NaN for the first); TopKPromptLogprobs > 0 also returns the k most
	// likely tokens at every prompt position (nil for the first).
	PromptLogprobs     bool
	TopKPromptLogprobs int
}

// TokenLogprob is a (token, logprob) pair.
type TokenLogprob struct {
	Token   int
	Logprob float64
}

// SampledSequence is one generated continuation.
type SampledSequence struct {
	Tokens     []int
	Logprobs   []float32
	StopReason string // "stop" or "length"
}

// SampleResult is the answer to a SampleRequest.
type SampleResult struct {
	Sequences          []SampledSequence
	PromptLogprobs     []float64        // NaN at position 0
	TopKPromptLogprobs [][]TokenLogprob // nil at position 0
}

// MaxNumSamples bounds num_samples per request.
const MaxNumSamples = 1024

func (s *Sampler[T]) validate(req *SampleRequest) error {
	cfg := s.net.Cfg
	if len(req.Prompt) == 0 {
		return fmt.Errorf("sample: the prompt is empty")
	}
	if err := cfg.validateTokens("sample: prompt", req.Prompt); err != nil {
		return err
	}
	if req.NumSamples < 0 || req.NumSamples > MaxNumSamples {
		return fmt.Errorf("sample: num_samples %d must be in [0, %d]", req.NumSamples, MaxNumSamples)
	}
	p := req.Params
	if p.MaxTokens < 0 {
		return fmt.Errorf("sample: max_tokens %d must be >= 0", p.MaxTokens)
	}
	if math.IsNaN(p.Temperature) || p.Temperature < 0 || math.IsInf(p.Temperature, 0) {
		return fmt.Errorf("sample: temperature %g must be a finite number >= 0", p.Temperature)
	}
	if math.IsNaN(p.TopP) {
		return fmt.Errorf("sample: top_p is NaN")
	}
	if req.TopKPromptLogprobs < 0 || req.TopKPromptLogprobs > cfg.Vocab {
		return fmt.Errorf("sample: topk_prompt_logprobs %d must be in [0, %d]", req.TopKPromptLogprobs, cfg.Vocab)
	}
	for i, seq := range p.StopSequences {
		if len(seq) == 0 {
			return fmt.Errorf("sample: stop sequence %d is empty", i)
		}
		if err := cfg.validateTokens(fmt.Sprintf("sample: stop sequence %d", i), seq); err != nil {
			return err
		}
	}
	if req.NumSamples > 0 && len(req.Prompt) >= cfg.MaxSeq {
		return fmt.Errorf("sample: the prompt has %d tokens, which leaves no room to generate within the context length %d of %s", len(req.Prompt), cfg.MaxSeq, cfg.Name)
	}
	return nil
}

// kvCache is one sequence's keys and values per layer (MaxSeq×d each).
type kvCache[T Float] struct {
	k, v [][]T
}

// Sample generates NumSamples continuations of the prompt, decoding them as
// one batch (one matrix product per layer for all live samples).
func (s *Sampler[T]) Sample(req SampleRequest) (*SampleResult, error) {
	res, errs := s.SampleMany([]SampleRequest{req})
	return res[0], errs[0]
}

// reqState is one request during decoding.
type reqState[T Float] struct {
	req    *SampleRequest
	res    *SampleResult
	p      int // prompt length
	maxNew int
	first  []T // logits after the prompt
	rngs   []*rand.Rand
	cache0 int // index of sample 0's cache
}

// SampleMany serves several requests at once: each prompt is prefilled on
// its own, then the samples of all requests decode together, one matrix
// product per layer per step. The decode products use transposed weights
// (NN products, whose rows do not depend on the other rows of the batch),
// so every request gets bitwise the same result as alone. A request that
// fails validation gets its error and the others still run.
func (s *Sampler[T]) SampleMany(reqs []SampleRequest) ([]*SampleResult, []error) {
	net := s.net
	cfg := net.Cfg
	d, V := cfg.Dim, cfg.Vocab
	results := make([]*SampleResult, len(reqs))
	errs := make([]error, len(reqs))
	var states []*reqState[T]
	var caches []kvCache[T]
	var owner []*reqState[T] // per cache
	for ri := range reqs {
		req := &reqs[ri]
		if err := s.validate(req); err != nil {
			errs[ri] = err
			continue
		}
		st := &reqState[T]{req: req, res: &SampleResult{}, p: len(req.Prompt)}
		results[ri] = st.res
		ws := s.prefill(st)
		if req.NumSamples == 0 {
			continue
		}
		p := req.Params
		st.maxNew = cfg.MaxSeq - st.p
		if p.MaxTokens > 0 && p.MaxTokens < st.maxNew {
			st.maxNew = p.MaxTokens
		}
		seed := p.Seed
		if !p.HasSeed {
			seed = rand.Uint64()
		}
		st.cache0 = len(caches)
		st.res.Sequences = make([]SampledSequence, req.NumSamples)
		for i := 0; i < req.NumSamples; i++ {
			st.rngs = append(st.rngs, rand.New(rand.NewPCG(seed, uint64(i))))
			c := kvCache[T]{k: make([][]T, cfg.Layers), v: make([][]T, cfg.Layers)}
			for l := range cfg.Layers {
				c.k[l] = make([]T, (st.p+st.maxNew)*d)
				c.v[l] = make([]T, (st.p+st.maxNew)*d)
				copy(c.k[l], ws.layers[l].k[:st.p*d])
				copy(c.v[l], ws.layers[l].v[:st.p*d])
			}
			caches = append(caches, c)
			owner = append(owner, st)
		}
		states = append(states, st)
	}
	if len(caches) == 0 {
		return results, errs
	}
	s.ensureTransposed()
	active := make([]int, len(caches)) // cache index of each batch row
	logits := make([]T, len(caches)*V)
	for r := range active {
		active[r] = r
		copy(logits[r*V:(r+1)*V], owner[r].first)
	}
	dec := newDecoder[T](cfg, len(caches))
	for len(active) > 0 {
		var next, toks, pos []int
		for r, ci := range active {
			st := owner[ci]
			i := ci - st.cache0
			p := st.req.Params
			tok, lp := pickToken(logits[r*V:(r+1)*V], p, st.rngs[i])
			sq := &st.res.Sequences[i]
			sq.Tokens = append(sq.Tokens, tok)
			sq.Logprobs = append(sq.Logprobs, float32(lp))
			switch {
			case stopped(sq.Tokens, tok, cfg, p):
				sq.StopReason = "stop"
			case len(sq.Tokens) >= st.maxNew:
				sq.StopReason = "length"
			default:
				next = append(next, ci)
				toks = append(toks, tok)
				pos = append(pos, st.p+len(sq.Tokens)-1)
			}
		}
		active = next
		if len(active) == 0 {
			break
		}
		dec.step(s, toks, pos, caches, active, logits)
	}
	return results, errs
}

// prefill runs the prompt, fills prompt logprobs and the logits after the
// prompt, and returns the workspace holding the prompt's keys and values.
func (s *Sampler[T]) prefill(st *reqState[T]) *workspace[T] {
	net := s.net
	cfg := net.Cfg
	d, V, P := cfg.Dim, cfg.Vocab, st.p
	req, res := st.req, st.res
	ws := &workspace[T]{}
	ws.setBatch(cfg, [][]int{req.Prompt}, false)
	net.forward(ws)
	wantAll := req.PromptLogprobs || req.TopKPromptLogprobs > 0
	first := P - 1
	if wantAll {
		first = 0
		res.PromptLogprobs = make([]float64, P)
		res.PromptLogprobs[0] = math.NaN()
		if req.TopKPromptLogprobs > 0 {
			res.TopKPromptLogprobs = make([][]TokenLogprob, P)
		}
	}
	st.first = make([]T, V)
	chunk := headChunk(V)
	buf := make([]T, chunk*V)
	for c0 := first; c0 < P; c0 += chunk {
		c := min(chunk, P-c0)
		gemm(false, true, c, V, d, 1, ws.nf[c0*d:], d, net.head.weff, d, 0, buf, V)
		if wantAll {
			parallelRows(c, 16, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := c0 + r
					if t+1 >= P {
						continue
					}
					row := buf[r*V : (r+1)*V]
					lse := logSumExp(row)
					res.PromptLogprobs[t+1] = float64(row[req.Prompt[t+1]]) - lse
					if req.TopKPromptLogprobs > 0 {
						res.TopKPromptLogprobs[t+1] = topK(row, lse, req.TopKPromptLogprobs)
					}
				}
			})
		}
		if c0+c == P {
			copy(st.first, buf[(c-1)*V:c*V])
		}
	}
	return ws
}

// ensureTransposed builds the in×out copies of the weights that decoding
// multiplies with (NN products).
func (s *Sampler[T]) ensureTransposed() {
	s.once.Do(func() {
		s.wT = map[*linear[T]][]T{}
		for _, l := range s.net.linears() {
			t := make([]T, len(l.weff))
			for o := 0; o < l.out; o++ {
				for i := 0; i < l.in; i++ {
					t[i*l.out+o] = l.weff[o*l.in+i]
				}
			}
			s.wT[l] = t
		}
	})
}

func stopped(out []int, tok int, cfg Config, p SamplingParams) bool {
	if !p.IgnoreEOS && cfg.EOS >= 0 && tok == cfg.EOS {
		return true
	}
	for _, sq := range p.StopSequences {
		if len(sq) <= len(out) {
			match := true
			for j := range sq {
				if out[len(out)-len(sq)+j] != sq[j] {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return p.StopFunc != nil && p.StopFunc(out)
}

// pickToken draws the next token and returns it with its logprob (see
// SamplingParams for what the logprob means).
func pickToken[T Float](row []T, p SamplingParams, rng *rand.Rand) (int, float64) {
	greedy := p.Temperature == 0 || p.TopK == 1
	temp := p.Temperature
	if temp == 0 {
		temp = 1
	}
	mx := row[0]
	arg := 0
	for j, x := range row {
		if x > mx {
			mx, arg = x, j
		}
	}
	// Scaled log-normaliser.
	var z float64
	for _, x := range row {
		z += math.Exp(float64(x-mx) / temp)
	}
	logZ := math.Log(z)
	lpOf := func(j int) float64 { return float64(row[j]-mx)/temp - logZ }
	if greedy {
		return arg, lpOf(arg)
	}
	topK := p.TopK
	topP := p.TopP
	if topK <= 0 || topK >= len(row) {
		topK = 0
	}
	if topP <= 0 || topP >= 1 {
		topP = 0
	}
	if topK == 0 && topP == 0 {
		u := rng.Float64() * z
		var c float64
		for j, x := range row {
			c += math.Exp(float64(x-mx) / temp)
			if u < c {
				return j, lpOf(j)
			}
		}
		return arg, lpOf(arg)
	}
	idx := make([]int, len(row))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	if topK > 0 {
		idx = idx[:topK]
	}
	probs := make([]float64, len(idx))
	var kept float64
	for i, j := range idx {
		probs[i] = math.Exp(float64(row[j]-mx) / temp)
		kept += probs[i]
	}
	if topP > 0 {
		// top-p applies to the distribution left after top-k (as in vLLM).
		target := topP * kept
		var c float64
		for i := range idx {
			c += probs[i]
			if c >= target {
				idx, probs = idx[:i+1], probs[:i+1]
				kept = c
				break
			}
		}
	}
	u := rng.Float64() * kept
	var c float64
	for i, j := range idx {
		c += probs[i]
		if u < c {
			return j, lpOf(j)
		}
	}
	return idx[0], lpOf(idx[0])
}

func topK[T Float](row []T, lse float64, k int) []TokenLogprob {
	idx := make([]int, len(row))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	out := make([]TokenLogprob, k)
	for i := range out {
		out[i] = TokenLogprob{Token: idx[i], Logprob: float64(row[idx[i]]) - lse}
	}
	return out
}

// decoder holds the activations of one decode step for up to B sequences.
type decoder[T Float] struct {
	x, n, q, k, v, att, g, u, h, sg []T
	r                               []T
}

func newDecoder[T Float](cfg Config, B int) *decoder[T] {
	d, h := cfg.Dim, cfg.Hidden
	return &decoder[T]{x: make([]T, B*d), n: make([]T, B*d), q: make([]T, B*d), k: make([]T, B*d),
		v: make([]T, B*d), att: make([]T, B*d), g: make([]T, B*h), u: make([]T, B*h), h: make([]T, B*h), sg: make([]T, B*h), r: make([]T, B)}
}

// step feeds one token per live sequence (toks at positions pos, caches of
// sample rows[i]) and writes the next-token logits of sequence i to row i of
// logits.
func (dc *decoder[T]) step(s *Sampler[T], toks, pos []int, caches []kvCache[T], rows []int, logits []T) {
	net := s.net
	cfg := net.Cfg
	d, hid, V, H, hd := cfg.Dim, cfg.Hidden, cfg.Vocab, cfg.Heads, cfg.HeadDim()
	B := len(toks)
	x := dc.x[:B*d]
	for i, t := range toks {
		copy(x[i*d:(i+1)*d], net.embed[t*d:])
	}
	scale := 1 / math.Sqrt(float64(hd))
	eps := T(cfg.NormEps)
	for li, ly := range net.layers {
		rmsNorm(x, dc.n, dc.r, ly.attnNorm, d, eps)
		gemm(false, false, B, d, d, 1, dc.n, d, s.wT[ly.q], d, 0, dc.q, d)
		gemm(false, false, B, d, d, 1, dc.n, d, s.wT[ly.k], d, 0, dc.k, d)
		gemm(false, false, B, d, d, 1, dc.n, d, s.wT[ly.v], d, 0, dc.v, d)
		for i := 0; i < B; i++ {
			for h := 0; h < H; h++ {
				o := i*d + h*hd
				net.rope.apply(dc.q[o:o+hd], pos[i], false)
				net.rope.apply(dc.k[o:o+hd], pos[i], false)
			}
			c := caches[rows[i]]
			copy(c.k[li][pos[i]*d:(pos[i]+1)*d], dc.k[i*d:(i+1)*d])
			copy(c.v[li][pos[i]*d:(pos[i]+1)*d], dc.v[i*d:(i+1)*d])
		}
		parallelFor(B*H, func(task int) {
			i, h := task/H, task%H
			c := caches[rows[i]]
			kc, vc := c.k[li], c.v[li]
			np := pos[i] + 1
			q := dc.q[i*d+h*hd : i*d+h*hd+hd]
			sp := getScratch[T](np)
			sc := *sp
			// Scores for every cached position (a row times Kᵀ), then the
			// causal softmax row and the weighted sum of values (a row times V).
			gemm1(false, true, 1, np, hd, T(scale), q, hd, kc[h*hd:], d, 0, sc, np)
			causalSoftmaxRow(sc, !net.exactMath)
			gemm1(false, false, 1, hd, np, 1, sc, np, vc[h*hd:], d, 0, dc.att[i*d+h*hd:], hd)
			putScratch(sp)
		})
		gemm(false, false, B, d, d, 1, dc.att, d, s.wT[ly.o], d, 1, x, d)
		rmsNorm(x, dc.n, dc.r, ly.mlpNorm, d, eps)
		gemm(false, false, B, hid, d, 1, dc.n, d, s.wT[ly.gate], hid, 0, dc.g, hid)
		gemm(false, false, B, hid, d, 1, dc.n, d, s.wT[ly.up], hid, 0, dc.u, hid)
		if net.exactMath {
			for i := 0; i < B*hid; i++ {
				g := dc.g[i]
				dc.h[i] = g / (1 + exp(-g)) * dc.u[i]
			}
		} else {
			silu(dc.g[:B*hid], dc.u[:B*hid], dc.sg[:B*hid], dc.h[:B*hid])
		}
		gemm(false, false, B, d, hid, 1, dc.h, hid, s.wT[ly.down], d, 1, x, d)
	}
	rmsNorm(x, dc.n, dc.r, net.finalNorm, d, eps)
	gemm(false, false, B, V, d, 1, dc.n, d, s.wT[net.head], V, 0, logits[:B*V], V)
}

// causalSoftmaxRow normalises one row of scores in place.
func causalSoftmaxRow[T Float](sc []T, fast bool) {
	mx := sc[0]
	for _, v := range sc[1:] {
		mx = max(mx, v)
	}
	for j := range sc {
		sc[j] -= mx
	}
	vexp(sc, fast)
	var z float64
	for _, v := range sc {
		z += float64(v)
	}
	inv := T(1 / z)
	for j := range sc {
		sc[j] *= inv
	}
}

// ComputeLogprobs returns the log-probability of every token given the ones
// before it (NaN at position 0), as compute_logprobs does.
func (s *Sampler[T]) ComputeLogprobs(tokens []int) ([]float64, error) {
	r, err := s.Sample(SampleRequest{Prompt: tokens, PromptLogprobs: true})
	if err != nil {
		return nil, err
	}
	return r.PromptLogprobs, nil
}
