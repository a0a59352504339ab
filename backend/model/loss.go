package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Loss function names (Tinker's).
const (
	LossCrossEntropy       = "cross_entropy"
	LossImportanceSampling = "importance_sampling"
	LossPPO                = "ppo"
	LossCISPO              = "cispo"
	LossDRO                = "dro"
)

// LossFunctions lists the supported losses.
var LossFunctions = []string{LossCrossEntropy, LossImportanceSampling, LossPPO, LossCISPO, LossDRO}

// Datum is one training example: the model input tokens and the loss
// inputs (Tinker's loss_fn_inputs) by name, each with one value per input
// token: "target_tokens" (ids), "weights", "logprobs", "advantages".
type Datum struct {
	Tokens []int
	Inputs map[string][]float64
}

// ForwardResult is what forward_backward returns.
type ForwardResult struct {
	// Logprobs[i][t] is the model's log-probability of target t of datum i.
	Logprobs [][]float32
	// Metrics use Tinker's "name:reduction" keys: "loss:sum".
	Metrics map[string]float64
}

// tokenLoss maps the current log-probability of a target token to the
// token's loss and its derivative with respect to that log-probability.
type tokenLoss func(lp float64) (loss, dlp float64)

// lossSpec builds the per-token losses of one datum.
type lossSpec struct {
	name     string
	required []string
	make     func(in map[string][]float64, cfg map[string]float64, t int) tokenLoss
}

func lossFor(name string, cfg map[string]float64) (*lossSpec, error) {
	get := func(key string, def float64) float64 {
		if v, ok := cfg[key]; ok {
			return v
		}
		return def
	}
	switch name {
	case LossCrossEntropy:
		if err := onlyKeys(name, cfg); err != nil {
			return nil, err
		}
		return &lossSpec{name: name, required: []string{"target_tokens", "weights"},
			make: func(in map[string][]float64, _ map[string]float64, t int) tokenLoss {
				w := in["weights"][t]
				return func(lp float64) (float64, float64) { return -w * lp, -w }
			}}, nil
	case LossImportanceSampling:
		if err := onlyKeys(name, cfg); err != nil {
			return nil, err
		}
		return &lossSpec{name: name, required: []string{"target_tokens", "logprobs", "advantages"},
			make: func(in map[string][]float64, _ map[string]float64, t int) tokenLoss {
				q, A := in["logprobs"][t], in["advantages"][t]
				return func(lp float64) (float64, float64) {
					r := math.Exp(lp - q)
					return -r * A, -r * A
				}
			}}, nil
	case LossPPO, LossCISPO:
		lo, hi := 0.8, 1.2
		if name == LossCISPO {
			lo, hi = 0.0, 4.0
		}
		if err := onlyKeys(name, cfg, "clip_low_threshold", "clip_high_threshold"); err != nil {
			return nil, err
		}
		lo, hi = get("clip_low_threshold", lo), get("clip_high_threshold", hi)
		if !(lo <= hi) {
			return nil, fmt.Errorf("loss_fn_config: clip_low_threshold %g must be <= clip_high_threshold %g", lo, hi)
		}
		if name == LossPPO {
			return &lossSpec{name: name, required: []string{"target_tokens", "logprobs", "advantages"},
				make: func(in map[string][]float64, _ map[string]float64, t int) tokenLoss {
					q, A := in["logprobs"][t], in["advantages"][t]
					return func(lp float64) (float64, float64) {
						r := math.Exp(lp - q)
						c := min(max(r, lo), hi)
						un, cl := r*A, c*A
						if un <= cl {
							return -un, -r * A
						}
						// The clipped term is the minimum: its gradient flows
						// only where the clamp is inactive.
						if r >= lo && r <= hi {
							return -cl, -r * A
						}
						return -cl, 0
					}
				}}, nil
		}
		return &lossSpec{name: name, required: []string{"target_tokens", "logprobs", "advantages"},
			make: func(in map[string][]float64, _ map[string]float64, t int) tokenLoss {
				q, A := in["logprobs"][t], in["advantages"][t]
				return func(lp float64) (float64, float64) {
					c := min(max(math.Exp(lp-q), lo), hi)
					return -c * lp * A, -c * A
				}
			}}, nil
	case LossDRO:
		if err := onlyKeys(name, cfg, "beta"); err != nil {
			return nil, err
		}
		beta, ok := cfg["beta"]
		if !ok {
			return nil, fmt.Errorf("loss_fn_config: dro needs beta (e.g. 0.05)")
		}
		return &lossSpec{name: name, required: []string{"target_tokens", "logprobs", "advantages"},
			make: func(in map[string][]float64, _ map[string]float64, t int) tokenLoss {
				q, A := in["logprobs"][t], in["advantages"][t]
				return func(lp float64) (float64, float64) {
					dq := lp - q
					return -(lp*A - 0.5*beta*dq*dq), -(A - beta*dq)
				}
			}}, nil
	}
	return nil, fmt.Errorf("unknown loss_fn %q (supported: %s)", name, strings.Join(LossFunctions, ", "))
}

func onlyKeys(loss string, cfg map[string]float64, allowed ...string) error {
	var bad []string
	for k := range cfg {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("loss_fn_config: %s does not take %s", loss, strings.Join(bad, ", "))
	}
	return nil
}

// validateTokens checks one sequence against the vocabulary and context.
func (c Config) validateTokens(what string, toks []int) error {
	if len(toks) > c.MaxSeq {
		return fmt.Errorf("%s: %d tokens exceed the context length %d of %s", what, len(toks), c.MaxSeq, c.Name)
	}
	for i, t := range toks {
		if t < 0 || t >= c.Vocab {
			return fmt.Errorf("%s: token %d at position %d is outside the vocabulary [0, %d) of %s", what, t, i, c.Vocab, c.Name)
		}
	}
	return nil
}

// MaxPassTokens bounds the tokens of one forward/backward pass; larger
// batches are processed in several passes (gradients add up in order).
var MaxPassTokens = 8192

// ForwardBackward runs the loss over data; unless forwardOnly it adds the
// gradient of the summed loss to the accumulated gradients (which
// OptimStep applies and clears). Errors leave the gradients unchanged.
func (n *Net[T]) ForwardBackward(data []Datum, lossFn string, lossCfg map[string]float64, forwardOnly bool) (*ForwardResult, error) {
	spec, err := lossFor(lossFn, lossCfg)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("forward_backward: no data")
	}
	seqs := make([][]int, len(data))
	targets := make([]int, 0)
	var losses []tokenLoss
	for i, dm := range data {
		if len(dm.Tokens) == 0 {
			return nil, fmt.Errorf("datum %d: model_input is empty", i)
		}
		if err := n.Cfg.validateTokens(fmt.Sprintf("datum %d: model_input", i), dm.Tokens); err != nil {
			return nil, err
		}
		for _, key := range spec.required {
			v, ok := dm.Inputs[key]
			if !ok {
				return nil, fmt.Errorf("datum %d: loss_fn_inputs.%s is required by %s", i, key, spec.name)
			}
			if len(v) != len(dm.Tokens) {
				return nil, fmt.Errorf("datum %d: loss_fn_inputs.%s has %d values but model_input has %d tokens", i, key, len(v), len(dm.Tokens))
			}
			for t, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, fmt.Errorf("datum %d: loss_fn_inputs.%s[%d] is not finite", i, key, t)
				}
			}
		}
		for key, v := range dm.Inputs {
			if len(v) != len(dm.Tokens) && (key == "weights" || key == "target_tokens" || key == "logprobs" || key == "advantages") {
				return nil, fmt.Errorf("datum %d: loss_fn_inputs.%s has %d values but model_input has %d tokens", i, key, len(v), len(dm.Tokens))
			}
		}
		for t, x := range dm.Inputs["target_tokens"] {
			id := int(x)
			if float64(id) != x || id < 0 || id >= n.Cfg.Vocab {
				return nil, fmt.Errorf("datum %d: loss_fn_inputs.target_tokens[%d] = %v is not a token id in [0, %d)", i, t, x, n.Cfg.Vocab)
			}
			targets = append(targets, id)
			losses = append(losses, spec.make(dm.Inputs, lossCfg, t))
		}
		seqs[i] = dm.Tokens
	}
	if n.ws == nil {
		n.ws = &workspace[T]{}
	}
	ws := n.ws
	res := &ForwardResult{Metrics: map[string]float64{}}
	var total float64
	// Large batches run as consecutive passes of at most MaxPassTokens
	// tokens (whole datums), in order, so activation memory stays bounded.
	for lo, tok0 := 0, 0; lo < len(seqs); {
		hi, ntok := lo, 0
		for hi < len(seqs) && (hi == lo || ntok+len(seqs[hi]) <= MaxPassTokens) {
			ntok += len(seqs[hi])
			hi++
		}
		ws.setBatch(n.Cfg, seqs[lo:hi], !forwardOnly)
		n.forward(ws)
		if !forwardOnly {
			n.prepareGrads()
		}
		lps, lossVals := n.headLoss(ws, ws.nf, targets[tok0:tok0+ntok], losses[tok0:tok0+ntok], !forwardOnly)
		if !forwardOnly {
			n.backward(ws)
			n.finishGrads()
			n.hasGrad = true
		}
		for _, l := range lossVals {
			total += l
		}
		for _, s := range ws.seqs {
			out := make([]float32, s.n)
			for t := range out {
				out[t] = float32(lps[s.start+t])
			}
			res.Logprobs = append(res.Logprobs, out)
		}
		lo, tok0 = hi, tok0+ntok
	}
	res.Metrics["loss:sum"] = total
	return res, nil
}

// prepareGrads clears the per-call Weff gradient scratch of LoRA layers.
func (n *Net[T]) prepareGrads() {
	if n.lora == nil {
		return
	}
	for _, l := range n.linears() {
		if l.a != nil {
			clear(l.gw)
		}
	}
}

// finishGrads projects dL/dWeff onto the adapters: with Weff = W + s·B·A,
// dA += s·Bᵀ·G and dB += s·G·Aᵀ.
func (n *Net[T]) finishGrads() {
	if n.lora == nil {
		return
	}
	ls := n.linears()
	parallelFor(len(ls), func(i int) {
		l := ls[i]
		if l.a == nil {
			return
		}
		gemm1(true, false, l.rank, l.in, l.out, l.scale, l.b, l.rank, l.gw, l.in, 1, l.ga, l.in)
		gemm1(false, true, l.out, l.rank, l.in, l.scale, l.gw, l.in, l.a, l.in, 1, l.gb, l.rank)
	})
}

// headLoss computes logits chunk by chunk (never all at once, so large
// vocabularies fit), each target's log-probability, the token losses and,
// when backward, dL/dnf in ws.dnf and the head weight gradient.
func (n *Net[T]) headLoss(ws *workspace[T], nf []T, targets []int, losses []tokenLoss, backward bool) (lps, lossVals []float64) {
	d, V, N := n.Cfg.Dim, n.Cfg.Vocab, ws.n
	lps = make([]float64, N)
	lossVals = make([]float64, N)
	chunk := headChunk(V)
	logits := make([]T, chunk*V)
	W := n.head.weff
	for c0 := 0; c0 < N; c0 += chunk {
		c := min(chunk, N-c0)
		gemm(false, true, c, V, d, 1, nf[c0*d:], d, W, d, 0, logits, V)
		parallelRows(c, 16, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				t := c0 + r
				row := logits[r*V : (r+1)*V]
				if !n.exactMath {
					headRowFast(row, targets[t], t, lps, lossVals, losses, backward)
					continue
				}
				lse := logSumExp(row)
				lp := float64(row[targets[t]]) - lse
				lps[t] = lp
				var dlp float64
				if losses != nil {
					lossVals[t], dlp = losses[t](lp)
				}
				if !backward {
					continue
				}
				// dL/dlogit_j = dlp·(1[j=target] − p_j)
				for j, x := range row {
					row[j] = T(-dlp * math.Exp(float64(x)-lse))
				}
				row[targets[t]] += T(dlp)
			}
		})
		if backward {
			gemm(false, false, c, d, V, 1, logits, V, W, d, 0, ws.dnf[c0*d:], d)
			if n.head.train {
				gemm(true, false, V, d, c, 1, logits, V, nf[c0*d:], d, 1, n.head.gw, d)
			}
		}
	}
	return lps, lossVals
}

// headRowFast is one row of headLoss with the vectorised exp: it computes
// the target's logprob and loss and, when backward, leaves dL/dlogits in
// the row.
func headRowFast[T Float](row []T, target, t int, lps, lossVals []float64, losses []tokenLoss, backward bool) {
	tv := row[target]
	mx := row[0]
	for _, x := range row[1:] {
		mx = max(mx, x)
	}
	for j := range row {
		row[j] -= mx
	}
	vexp(row, true)
	var z float64
	for _, e := range row {
		z += float64(e)
	}
	lp := float64(tv) - (float64(mx) + math.Log(z))
	lps[t] = lp
	var dlp float64
	if losses != nil {
		lossVals[t], dlp = losses[t](lp)
	}
	if !backward {
		return
	}
	c := T(-dlp / z)
	for j := range row {
		row[j] *= c
	}
	row[target] += T(dlp)
}

func headChunk(V int) int {
	c := (1 << 21) / V
	return max(16, min(256, c))
}

func logSumExp[T Float](row []T) float64 {
	mx := row[0]
	for _, x := range row[1:] {
		if x > mx {
			mx = x
		}
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x - mx))
	}
	return float64(mx) + math.Log(s)
}
