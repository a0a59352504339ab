package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// microConfig is a very small model for finite-difference checks.
func microConfig(tied bool) Config {
	return Config{Name: "test/micro", Vocab: 13, Dim: 8, Layers: 2, Heads: 2, Hidden: 12, MaxSeq: 16,
		Tied: tied, RopeTheta: 10000, NormEps: 1e-5, EOS: 12}
}

// randomData builds datums of the given lengths with every loss input.
func randomData(rng *rand.Rand, cfg Config, lens ...int) []Datum {
	var out []Datum
	for _, L := range lens {
		d := Datum{Tokens: make([]int, L), Inputs: map[string][]float64{}}
		tg, w, lp, adv := make([]float64, L), make([]float64, L), make([]float64, L), make([]float64, L)
		for t := 0; t < L; t++ {
			d.Tokens[t] = rng.IntN(cfg.Vocab)
			tg[t] = float64(rng.IntN(cfg.Vocab))
			w[t] = rng.Float64()*2 - 0.5
			lp[t] = -math.Log(float64(cfg.Vocab)) + rng.NormFloat64()*0.3
			adv[t] = rng.NormFloat64()
		}
		d.Inputs["target_tokens"], d.Inputs["weights"], d.Inputs["logprobs"], d.Inputs["advantages"] = tg, w, lp, adv
		out = append(out, d)
	}
	return out
}

func mustRandom[T Float](t *testing.T, cfg Config, seed uint64) *Net[T] {
	t.Helper()
	n, err := NewRandom[T](cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial norm gains so their gradients are exercised.
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, ly := range n.layers {
		for i := range ly.attnNorm {
			ly.attnNorm[i] = T(1 + 0.3*rng.NormFloat64())
			ly.mlpNorm[i] = T(1 + 0.3*rng.NormFloat64())
		}
	}
	for i := range n.finalNorm {
		n.finalNorm[i] = T(1 + 0.3*rng.NormFloat64())
	}
	// Larger weights than the init so attention is not uniform.
	for _, l := range n.linears() {
		for i := range l.w {
			l.w[i] *= 10
		}
	}
	for i := range n.embed {
		n.embed[i] *= 20
	}
	return n
}

func (n *Net[T]) remerge() {
	for _, l := range n.linears() {
		l.merge()
	}
}

// fdCheck compares analytic gradients with central differences on sampled
// entries of every trainable tensor.
func fdCheck(t *testing.T, n *Net[float64], data []Datum, loss string, cfg map[string]float64) {
	t.Helper()
	n.ZeroGrad()
	if _, err := n.ForwardBackward(data, loss, cfg, false); err != nil {
		t.Fatal(err)
	}
	grads := make([][]float64, len(n.params))
	for i, p := range n.params {
		grads[i] = append([]float64(nil), p.grad...)
	}
	n.ZeroGrad()
	f := func() float64 {
		n.remerge()
		r, err := n.ForwardBackward(data, loss, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		return r.Metrics["loss:sum"]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const eps = 1e-6
	checked := 0
	for i, p := range n.params {
		idx := rng.Perm(len(p.data))
		if len(idx) > 12 {
			idx = idx[:12]
		}
		var maxAbs float64
		for _, g := range grads[i] {
			maxAbs = max(maxAbs, math.Abs(g))
		}
		if maxAbs == 0 {
			t.Errorf("%s: %s gradient is identically zero", loss, p.name)
		}
		for _, j := range idx {
			old := p.data[j]
			p.data[j] = old + eps
			fp := f()
			p.data[j] = old - eps
			fm := f()
			p.data[j] = old
			fd := (fp - fm) / (2 * eps)
			an := grads[i][j]
			if math.Abs(fd-an) > 1e-5*math.Max(math.Abs(fd), math.Abs(an))+1e-7*math.Max(1, maxAbs) {
				t.Errorf("%s: %s[%d]: analytic %.10g, finite difference %.10g", loss, p.name, j, an, fd)
			}
			checked++
		}
	}
	n.remerge()
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

func TestGradFullWeights(t *testing.T) {
	for _, tied := range []bool{true, false} {
		t.Run(fmt.Sprintf("tied=%v", tied), func(t *testing.T) {
			cfg := microConfig(tied)
			n := mustRandom[float64](t, cfg, 1)
			data := randomData(rand.New(rand.NewPCG(5, 6)), cfg, 7, 4, 9)
			fdCheck(t, n, data, LossCrossEntropy, nil)
		})
	}
}

func TestGradLoRA(t *testing.T) {
	for _, tied := range []bool{true, false} {
		t.Run(fmt.Sprintf("tied=%v", tied), func(t *testing.T) {
			cfg := microConfig(tied)
			base := mustRandom[float64](t, cfg, 2)
			n, err := base.NewLoRA(&LoraConfig{Rank: 3, Seed: 9, TrainAttn: true, TrainMLP: true, TrainUnembed: true, Alpha: 6})
			if err != nil {
				t.Fatal(err)
			}
			// B ≠ 0, or A's gradient is zero.
			rng := rand.New(rand.NewPCG(8, 8))
			for _, l := range n.linears() {
				for i := range l.b {
					l.b[i] = rng.NormFloat64() * 0.3
				}
			}
			n.remerge()
			if got := len(n.params); got != 2*(7*cfg.Layers+1) {
				t.Fatalf("LoRA params = %d", got)
			}
			data := randomData(rand.New(rand.NewPCG(5, 7)), cfg, 6, 8)
			fdCheck(t, n, data, LossCrossEntropy, nil)
		})
	}
}

func TestGradLosses(t *testing.T) {
	cfg := microConfig(true)
	cases := []struct {
		loss string
		cfg  map[string]float64
	}{
		{LossImportanceSampling, nil},
		{LossPPO, nil},
		{LossPPO, map[string]float64{"clip_low_threshold": 0.5, "clip_high_threshold": 1.5}},
		{LossDRO, map[string]float64{"beta": 0.05}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s%v", c.loss, c.cfg), func(t *testing.T) {
			base := mustRandom[float64](t, cfg, 3)
			n, err := base.NewLoRA(&LoraConfig{Rank: 2, Seed: 1, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(8, 9))
			for _, l := range n.linears() {
				for i := range l.b {
					l.b[i] = rng.NormFloat64() * 0.05
				}
			}
			n.remerge()
			data := randomData(rand.New(rand.NewPCG(1, 2)), cfg, 5, 7)
			fdCheck(t, n, data, c.loss, c.cfg)
		})
	}
}

// gradsOf returns copies of the accumulated gradients after one call.
func gradsOf(t *testing.T, n *Net[float64], data []Datum, loss string, cfg map[string]float64) [][]float64 {
	t.Helper()
	n.ZeroGrad()
	if _, err := n.ForwardBackward(data, loss, cfg, false); err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, p := range n.params {
		out = append(out, append([]float64(nil), p.grad...))
	}
	n.ZeroGrad()
	return out
}

func assertGradsClose(t *testing.T, what string, a, b [][]float64, tol float64) {
	t.Helper()
	for i := range a {
		for j := range a[i] {
			if d := math.Abs(a[i][j] - b[i][j]); d > tol*math.Max(1, math.Abs(a[i][j])) {
				t.Fatalf("%s: tensor %d elem %d: %g vs %g", what, i, j, a[i][j], b[i][j])
			}
		}
	}
}

// CISPO stops the gradient through the clipped ratio, so finite differences
// of its loss do not apply; its gradient must equal cross_entropy's with
// weights = clamp(ratio)·A evaluated at the current logprobs.
func TestGradCISPO(t *testing.T) {
	cfg := microConfig(true)
	for _, th := range [][2]float64{{0, 4}, {0.9, 1.1}} {
		base := mustRandom[float64](t, cfg, 3)
		n, _ := base.NewLoRA(&LoraConfig{Rank: 2, Seed: 1, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
		rng := rand.New(rand.NewPCG(8, 9))
		for _, l := range n.linears() {
			for i := range l.b {
				l.b[i] = rng.NormFloat64() * 0.05
			}
		}
		n.remerge()
		data := randomData(rand.New(rand.NewPCG(1, 2)), cfg, 5, 7)
		lc := map[string]float64{"clip_low_threshold": th[0], "clip_high_threshold": th[1]}
		fwd, err := n.ForwardBackward(data, LossCISPO, lc, true)
		if err != nil {
			t.Fatal(err)
		}
		clipped := 0
		ce := make([]Datum, len(data))
		for i, d := range data {
			w := make([]float64, len(d.Tokens))
			for j := range w {
				r := math.Exp(float64(fwd.Logprobs[i][j]) - d.Inputs["logprobs"][j])
				c := min(max(r, th[0]), th[1])
				if c != r {
					clipped++
				}
				w[j] = c * d.Inputs["advantages"][j]
			}
			ce[i] = Datum{Tokens: d.Tokens, Inputs: map[string][]float64{"target_tokens": d.Inputs["target_tokens"], "weights": w}}
		}
		if th[0] > 0 && clipped == 0 {
			t.Fatal("no ratio was clipped; the test does not cover the clamp")
		}
		assertGradsClose(t, "cispo vs ce", gradsOf(t, n, data, LossCISPO, lc), gradsOf(t, n, ce, LossCrossEntropy, nil), 1e-9)
	}
}
