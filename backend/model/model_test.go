package model

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/backend/kernels"
)

func ceData(tokens []int, weights float64) Datum {
	L := len(tokens) - 1
	tg, w := make([]float64, L), make([]float64, L)
	for i := 0; i < L; i++ {
		tg[i], w[i] = float64(tokens[i+1]), weights
	}
	return Datum{Tokens: tokens[:L], Inputs: map[string][]float64{"target_tokens": tg, "weights": w}}
}

func tinyLoRA(t *testing.T, seed uint64) *Model {
	t.Helper()
	base, err := NewRandom[float32](LocalTiny(), seed)
	if err != nil {
		t.Fatal(err)
	}
	m, err := base.NewLoRA(&LoraConfig{Rank: 8, Seed: seed, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// perturbB sets random non-zero LoRA B matrices (a fresh adapter is a no-op).
func perturbB[T Float](n *Net[T], seed uint64, std float64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	for _, l := range n.linears() {
		for i := range l.b {
			l.b[i] = T(rng.NormFloat64() * std)
		}
	}
	n.remerge()
}

func TestMemorize(t *testing.T) {
	m := tinyLoRA(t, 1)
	seq := []int(nil)
	for _, c := range []byte("User: What is 12 + 30?\n\nAssistant: 42\n\nUser: Thanks!\n\nAssistant: Happy to help!") {
		seq = append(seq, int(c))
	}
	seq = seq[:65]
	d := []Datum{ceData(seq, 1.0/64)}
	var loss float64
	for step := 0; step < 100; step++ {
		r, err := m.ForwardBackward(d, LossCrossEntropy, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		loss = r.Metrics["loss:sum"]
		if loss < 0.05 {
			t.Logf("memorised after %d steps (mean CE %.4f)", step, loss)
			return
		}
		if _, err := m.OptimStep(AdamParams{LearningRate: 3e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("mean cross-entropy %.4f after 100 steps, want < 0.05", loss)
}

func TestLogprobsAgree(t *testing.T) {
	m := tinyLoRA(t, 2)
	perturbB(m, 3, 0.05)
	s := m.Sampler()
	prompt := []int{72, 101, 108, 108, 111, 32}
	res, err := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 3, Params: SamplingParams{MaxTokens: 20, Temperature: 1, Seed: 5, HasSeed: true, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sq := range res.Sequences {
		if len(sq.Tokens) != 20 || sq.StopReason != "length" {
			t.Fatalf("got %d tokens, reason %q", len(sq.Tokens), sq.StopReason)
		}
		full := append(append([]int(nil), prompt...), sq.Tokens...)
		cl, err := s.ComputeLogprobs(full)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(cl[0]) {
			t.Fatalf("first compute_logprobs = %v, want NaN", cl[0])
		}
		fw, err := m.ForwardBackward([]Datum{ceData(full, 0)}, LossCrossEntropy, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, lp := range sq.Logprobs {
			p := len(prompt) + i
			if math.Abs(float64(lp)-cl[p]) > 1e-4 || math.Abs(float64(fw.Logprobs[0][p-1])-cl[p]) > 1e-4 {
				t.Fatalf("token %d: sampler %v, compute_logprobs %v, forward %v", i, lp, cl[p], fw.Logprobs[0][p-1])
			}
		}
	}
}

// decodeLogits runs prefill + KV-cache decode and returns the logits of
// every position after the prompt.
func decodeLogits[T Float](n *Net[T], prompt, cont []int) [][]T {
	s := n.Sampler()
	net := s.net
	cfg := net.Cfg
	d, V := cfg.Dim, cfg.Vocab
	ws := &workspace[T]{}
	ws.setBatch(cfg, [][]int{prompt}, false)
	net.forward(ws)
	c := kvCache[T]{k: make([][]T, cfg.Layers), v: make([][]T, cfg.Layers)}
	for l := range cfg.Layers {
		c.k[l], c.v[l] = make([]T, cfg.MaxSeq*d), make([]T, cfg.MaxSeq*d)
		copy(c.k[l], ws.layers[l].k[:len(prompt)*d])
		copy(c.v[l], ws.layers[l].v[:len(prompt)*d])
	}
	dec := newDecoder[T](cfg, 1)
	s.ensureTransposed()
	var out [][]T
	for i, tok := range cont {
		lg := make([]T, V)
		dec.step(s, []int{tok}, []int{len(prompt) + i}, []kvCache[T]{c}, []int{0}, lg)
		out = append(out, lg)
	}
	return out
}

func fullLogits[T Float](n *Net[T], seq []int) [][]T {
	cfg := n.Cfg
	ws := &workspace[T]{}
	ws.setBatch(cfg, [][]int{seq}, false)
	n.forward(ws)
	var out [][]T
	for t := range seq {
		lg := make([]T, cfg.Vocab)
		gemm(false, true, 1, cfg.Vocab, cfg.Dim, 1, ws.nf[t*cfg.Dim:], cfg.Dim, n.head.weff, cfg.Dim, 0, lg, cfg.Vocab)
		out = append(out, lg)
	}
	return out
}

func TestKVCacheEqualsRecompute(t *testing.T) {
	prompt := []int{1, 5, 9, 2}
	cont := []int{7, 3, 3, 11, 0, 4, 8}
	seq := append(append([]int(nil), prompt...), cont...)
	check := func(name string, dec, full [][]float64, tol float64) {
		for i := range dec {
			for j := range dec[i] {
				if math.Abs(dec[i][j]-full[len(prompt)+i][j]) > tol {
					t.Fatalf("%s: position %d logit %d: decode %v, recompute %v", name, i, j, dec[i][j], full[len(prompt)+i][j])
				}
			}
		}
	}
	n64 := mustRandom[float64](t, microConfig(false), 4)
	check("float64", decodeLogits(n64, prompt, cont), fullLogits(n64, seq), 1e-12)
	n32, err := NewRandom[float32](LocalTiny(), 4)
	if err != nil {
		t.Fatal(err)
	}
	to64 := func(x [][]float32) [][]float64 {
		var o [][]float64
		for _, r := range x {
			row := make([]float64, len(r))
			for j, v := range r {
				row[j] = float64(v)
			}
			o = append(o, row)
		}
		return o
	}
	check("float32", to64(decodeLogits(n32, prompt, cont)), to64(fullLogits(n32, seq)), 1e-5)
}

func TestFreshLoRAIsBitwiseBase(t *testing.T) {
	base, err := NewRandom[float32](LocalTiny(), 6)
	if err != nil {
		t.Fatal(err)
	}
	m, err := base.NewLoRA(&LoraConfig{Rank: 4, Seed: 3, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
	if err != nil {
		t.Fatal(err)
	}
	seq := []int{10, 20, 30, 40, 50, 60, 70, 80, 90}
	a, b := fullLogits(base, seq), fullLogits(m, seq)
	for i := range a {
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				t.Fatalf("logit [%d][%d]: base %v, fresh LoRA %v", i, j, a[i][j], b[i][j])
			}
		}
	}
	fa, _ := base.ForwardBackward([]Datum{ceData(seq, 1)}, LossCrossEntropy, nil, true)
	fb, _ := m.ForwardBackward([]Datum{ceData(seq, 1)}, LossCrossEntropy, nil, true)
	for i := range fa.Logprobs[0] {
		if math.Float32bits(fa.Logprobs[0][i]) != math.Float32bits(fb.Logprobs[0][i]) {
			t.Fatalf("logprob %d differs", i)
		}
	}
}

func TestISGradientEqualsCE(t *testing.T) {
	base := mustRandom[float64](t, microConfig(true), 7)
	n, _ := base.NewLoRA(&LoraConfig{Rank: 2, Seed: 1, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
	perturbB(n, 2, 0.05)
	data := randomData(rand.New(rand.NewPCG(2, 3)), n.Cfg, 6, 9)
	fw := exactLogprobs(n, data)
	is := make([]Datum, len(data))
	ce := make([]Datum, len(data))
	ppo := make([]Datum, len(data))
	for i, d := range data {
		q := make([]float64, len(d.Tokens))
		qn := make([]float64, len(d.Tokens))
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		for j := range q {
			q[j] = fw[i][j]
			qn[j] = q[j] + 0.15*(rng.Float64()-0.5) // ratios within [0.93, 1.08]
		}
		A := d.Inputs["advantages"]
		is[i] = Datum{Tokens: d.Tokens, Inputs: map[string][]float64{"target_tokens": d.Inputs["target_tokens"], "logprobs": q, "advantages": A}}
		ce[i] = Datum{Tokens: d.Tokens, Inputs: map[string][]float64{"target_tokens": d.Inputs["target_tokens"], "weights": A}}
		ppo[i] = Datum{Tokens: d.Tokens, Inputs: map[string][]float64{"target_tokens": d.Inputs["target_tokens"], "logprobs": qn, "advantages": A}}
	}
	assertGradsClose(t, "importance_sampling vs cross_entropy", gradsOf(t, n, is, LossImportanceSampling, nil), gradsOf(t, n, ce, LossCrossEntropy, nil), 1e-12)
	assertGradsClose(t, "ppo vs importance_sampling inside the clip range", gradsOf(t, n, ppo, LossPPO, nil), gradsOf(t, n, ppo, LossImportanceSampling, nil), 1e-12)
	// Clipped in the advantage's direction: ratio 1.65 with A > 0 and 0.6
	// with A < 0 give no gradient.
	for i, d := range ppo {
		for j := range d.Tokens {
			A := math.Abs(d.Inputs["advantages"][j]) + 0.1
			if j%2 == 0 {
				d.Inputs["advantages"][j] = A
				d.Inputs["logprobs"][j] = fw[i][j] - 0.5
			} else {
				d.Inputs["advantages"][j] = -A
				d.Inputs["logprobs"][j] = fw[i][j] + 0.5
			}
		}
	}
	for _, g := range gradsOf(t, n, ppo, LossPPO, nil) {
		for _, v := range g {
			if v != 0 {
				t.Fatalf("ppo gradient %v for tokens clipped in the advantage's direction", v)
			}
		}
	}
}

// exactLogprobs is a forward pass returning unrounded logprobs.
func exactLogprobs[T Float](n *Net[T], data []Datum) [][]float64 {
	var seqs [][]int
	var targets []int
	for _, d := range data {
		seqs = append(seqs, d.Tokens)
		for _, x := range d.Inputs["target_tokens"] {
			targets = append(targets, int(x))
		}
	}
	ws := &workspace[T]{}
	ws.setBatch(n.Cfg, seqs, false)
	n.forward(ws)
	lps, _ := n.headLoss(ws, ws.nf, targets, nil, false)
	var out [][]float64
	for _, s := range ws.seqs {
		out = append(out, lps[s.start:s.start+s.n])
	}
	return out
}

func TestLossValues(t *testing.T) {
	n := mustRandom[float64](t, microConfig(true), 8)
	d := randomData(rand.New(rand.NewPCG(9, 9)), n.Cfg, 5)
	fw, _ := n.ForwardBackward(d, LossCrossEntropy, nil, true)
	lp := fw.Logprobs[0]
	in := d[0].Inputs
	want := map[string]float64{}
	for j := range lp {
		l, q, A, w := float64(lp[j]), in["logprobs"][j], in["advantages"][j], in["weights"][j]
		r := math.Exp(l - q)
		want[LossCrossEntropy] += -w * l
		want[LossImportanceSampling] += -r * A
		want[LossPPO] += -math.Min(r*A, math.Min(math.Max(r, 0.8), 1.2)*A)
		want[LossCISPO] += -math.Min(math.Max(r, 0), 4) * l * A
		want[LossDRO] += -(l*A - 0.5*0.05*(l-q)*(l-q))
	}
	for name, w := range want {
		var cfg map[string]float64
		if name == LossDRO {
			cfg = map[string]float64{"beta": 0.05}
		}
		r, err := n.ForwardBackward(d, name, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Metrics["loss:sum"]; math.Abs(got-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: loss:sum %v, want %v", name, got, w)
		}
		for k := range r.Metrics {
			if strings.Count(k, ":") != 1 {
				t.Errorf("metric key %q is not name:reduction", k)
			}
		}
	}
}

func TestGradAccumulationAndLinearity(t *testing.T) {
	n := mustRandom[float64](t, microConfig(false), 9)
	n, _ = n.NewLoRA(nil)
	data := randomData(rand.New(rand.NewPCG(4, 4)), n.Cfg, 5, 7)
	both := gradsOf(t, n, data, LossCrossEntropy, nil)
	n.ZeroGrad()
	n.ForwardBackward(data[:1], LossCrossEntropy, nil, false)
	n.ForwardBackward(data[1:], LossCrossEntropy, nil, false)
	var acc [][]float64
	for _, p := range n.params {
		acc = append(acc, append([]float64(nil), p.grad...))
	}
	assertGradsClose(t, "two calls vs one", acc, both, 1e-12)
	// Doubling the weights doubles the gradient; zero weights give none.
	for _, d := range data {
		for j := range d.Inputs["weights"] {
			d.Inputs["weights"][j] *= 2
		}
	}
	dbl := gradsOf(t, n, data, LossCrossEntropy, nil)
	for i := range both {
		for j := range both[i] {
			both[i][j] *= 2
		}
	}
	assertGradsClose(t, "linear in weights", dbl, both, 1e-12)
	for _, d := range data {
		clear(d.Inputs["weights"])
	}
	for _, g := range gradsOf(t, n, data, LossCrossEntropy, nil) {
		for _, v := range g {
			if v != 0 {
				t.Fatal("zero weights gave a non-zero gradient")
			}
		}
	}
}

func weightsHash[T Float](t *testing.T, n *Net[T]) []byte {
	t.Helper()
	b, err := n.SaveBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOptimStep(t *testing.T) {
	m := tinyLoRA(t, 3)
	perturbB(m, 1, 0.01)
	d := []Datum{ceData([]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1)}
	// lr = 0 changes no weight (even with weight decay).
	before := weightsHash(t, m.Sampler().net)
	m.ForwardBackward(d, LossCrossEntropy, nil, false)
	if _, err := m.OptimStep(AdamParams{LearningRate: 0, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, weightsHash(t, m.Sampler().net)) {
		t.Fatal("optim_step with learning_rate 0 changed the weights")
	}
	// The first step is -lr·g/(|g|+eps): -lr·sign(g) for |g| ≫ eps.
	m.ForwardBackward(d, LossCrossEntropy, nil, false)
	old := make([][]float32, len(m.params))
	grads := make([][]float32, len(m.params))
	for i, p := range m.params {
		old[i] = append([]float32(nil), p.data...)
		grads[i] = append([]float32(nil), p.grad...)
	}
	fresh := tinyLoRA(t, 3)
	perturbB(fresh, 1, 0.01)
	for i, p := range fresh.params {
		copy(p.grad, grads[i])
		copy(p.data, old[i])
	}
	const lr = 1e-3
	if _, err := fresh.OptimStep(AdamParams{LearningRate: lr, Beta1: 0.9, Beta2: 0.95, Eps: 1e-12}); err != nil {
		t.Fatal(err)
	}
	for i, p := range fresh.params {
		for j := range p.data {
			g := float64(grads[i][j])
			want := float64(old[i][j]) - lr*g/(math.Abs(g)+1e-12)
			if math.Abs(float64(p.data[j])-want) > 1e-6 {
				t.Fatalf("%s[%d]: %v, want %v (grad %v)", p.name, j, p.data[j], want, g)
			}
		}
	}
	// Gradients are cleared by the step.
	for _, p := range fresh.params {
		for _, g := range p.grad {
			if g != 0 {
				t.Fatal("gradient not cleared after optim_step")
			}
		}
	}
}

func TestGradClip(t *testing.T) {
	m := tinyLoRA(t, 4)
	perturbB(m, 1, 0.01)
	m.ForwardBackward([]Datum{ceData([]int{1, 2, 3, 4, 5, 6}, 1)}, LossCrossEntropy, nil, false)
	r, err := m.OptimStep(AdamParams{LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, GradClipNorm: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if r.GradNorm <= 1e-3 {
		t.Fatalf("grad norm %v too small for the test", r.GradNorm)
	}
	// After clipping, v = (1-β2)·g_clipped², so ‖sqrt(v/(1-β2))‖ = clip.
	var ss float64
	for _, p := range m.params {
		for _, v := range p.v {
			ss += float64(v) / (1 - 0.95)
		}
	}
	if math.Abs(math.Sqrt(ss)-1e-3) > 1e-6 {
		t.Fatalf("clipped gradient norm %v, want 1e-3", math.Sqrt(ss))
	}
}

func trainSteps(t *testing.T, m *Model, steps int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for s := 0; s < steps; s++ {
		seq := make([]int, 20)
		for i := range seq {
			seq[i] = rng.IntN(260)
		}
		if _, err := m.ForwardBackward([]Datum{ceData(seq, 0.1)}, LossCrossEntropy, nil, false); err != nil {
			t.Fatal(err)
		}
		if _, err := m.OptimStep(AdamParams{LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01, GradClipNorm: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSaveLoadContinueBitwise(t *testing.T) {
	for _, lora := range []bool{true, false} {
		var a *Model
		if lora {
			a = tinyLoRA(t, 5)
		} else {
			base, _ := NewRandom[float32](LocalTiny(), 5)
			a, _ = base.NewLoRA(nil)
		}
		trainSteps(t, a, 3, 1)
		ck, err := a.SaveBytes(true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load[float32](ck)
		if err != nil {
			t.Fatal(err)
		}
		if b.Step() != 3 {
			t.Fatalf("loaded step %d, want 3", b.Step())
		}
		if again, _ := b.SaveBytes(true); !bytes.Equal(ck, again) {
			t.Fatal("save(load(x)) != x")
		}
		trainSteps(t, a, 3, 2)
		trainSteps(t, b, 3, 2)
		if !bytes.Equal(weightsHash(t, a), weightsHash(t, b)) {
			t.Fatalf("lora=%v: continuing after save/load differs from uninterrupted training", lora)
		}
	}
}

func TestSamplingDeterminism(t *testing.T) {
	m := tinyLoRA(t, 6)
	s := m.Sampler()
	req := SampleRequest{Prompt: []int{1, 2, 3}, NumSamples: 4, Params: SamplingParams{MaxTokens: 16, Temperature: 1, Seed: 42, HasSeed: true, IgnoreEOS: true}}
	a, err := s.Sample(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Sample(req)
	ja, _ := json.Marshal(a.Sequences)
	jb, _ := json.Marshal(b.Sequences)
	if !bytes.Equal(ja, jb) {
		t.Fatal("same seed gave different samples")
	}
	if equalInts(a.Sequences[0].Tokens, a.Sequences[1].Tokens) {
		t.Fatal("two samples of one request are identical (they should be distinct draws)")
	}
	req.Params.Seed = 43
	c, _ := s.Sample(req)
	if equalInts(a.Sequences[0].Tokens, c.Sequences[0].Tokens) {
		t.Fatal("different seeds gave the same sample")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGreedyAndTopK(t *testing.T) {
	m := tinyLoRA(t, 7)
	s := m.Sampler()
	prompt := []int{5, 6, 7, 8}
	topk1, err := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 2, Params: SamplingParams{MaxTokens: 12, Temperature: 1, TopK: 1, Seed: 1, HasSeed: true, IgnoreEOS: true}})
	if err != nil {
		t.Fatal(err)
	}
	greedy, _ := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 1, Params: SamplingParams{MaxTokens: 12, Temperature: 0, IgnoreEOS: true}})
	seq := append([]int(nil), prompt...)
	for i, tok := range greedy.Sequences[0].Tokens {
		lg := fullLogits(s.net, seq)
		last := lg[len(lg)-1]
		arg := 0
		for j, v := range last {
			if v > last[arg] {
				arg = j
			}
		}
		if tok != arg || topk1.Sequences[0].Tokens[i] != arg || topk1.Sequences[1].Tokens[i] != arg {
			t.Fatalf("step %d: greedy %d, top_k=1 %d, argmax %d", i, tok, topk1.Sequences[0].Tokens[i], arg)
		}
		seq = append(seq, tok)
	}
	// top_k=3: every token is among the 3 most likely.
	r, _ := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 8, Params: SamplingParams{MaxTokens: 1, Temperature: 1, TopK: 3, Seed: 3, HasSeed: true}})
	top := fullLogits(s.net, prompt)
	last := top[len(top)-1]
	for _, sq := range r.Sequences {
		better := 0
		for _, v := range last {
			if v > last[sq.Tokens[0]] {
				better++
			}
		}
		if better >= 3 {
			t.Fatalf("top_k=3 sampled token %d ranked %d", sq.Tokens[0], better+1)
		}
	}
	// top_p = 0.3: only the smallest set of likeliest tokens reaching 0.3.
	{
		lp := make([]float64, len(last))
		var z float64
		for j, v := range last {
			lp[j] = math.Exp(float64(v))
			z += lp[j]
		}
		idx := make([]int, len(lp))
		for j := range idx {
			idx[j] = j
		}
		sort.Slice(idx, func(a, b int) bool { return lp[idx[a]] > lp[idx[b]] })
		allowed := map[int]bool{}
		var c float64
		for _, j := range idx {
			allowed[j] = true
			c += lp[j] / z
			if c >= 0.3 {
				break
			}
		}
		r, _ := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 64, Params: SamplingParams{MaxTokens: 1, Temperature: 1, TopP: 0.3, Seed: 4, HasSeed: true}})
		for _, sq := range r.Sequences {
			if !allowed[sq.Tokens[0]] {
				t.Fatalf("top_p=0.3 sampled %d outside the nucleus %v", sq.Tokens[0], allowed)
			}
		}
	}
	// top_p tiny: only the argmax survives.
	r, _ = s.Sample(SampleRequest{Prompt: prompt, NumSamples: 4, Params: SamplingParams{MaxTokens: 1, Temperature: 1, TopP: 1e-6, Seed: 3, HasSeed: true}})
	for _, sq := range r.Sequences {
		if sq.Tokens[0] != greedy.Sequences[0].Tokens[0] {
			t.Fatal("top_p=1e-6 did not pick the argmax")
		}
	}
}

func TestStopAndLength(t *testing.T) {
	m := tinyLoRA(t, 8)
	s := m.Sampler()
	prompt := []int{5, 6, 7}
	g, _ := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 1, Params: SamplingParams{MaxTokens: 10, IgnoreEOS: true}})
	toks := g.Sequences[0].Tokens
	if len(toks) != 10 || g.Sequences[0].StopReason != "length" {
		t.Fatalf("max_tokens not honoured: %d tokens, %q", len(toks), g.Sequences[0].StopReason)
	}
	stop := toks[3:5]
	r, _ := s.Sample(SampleRequest{Prompt: prompt, NumSamples: 1, Params: SamplingParams{MaxTokens: 10, IgnoreEOS: true, StopSequences: [][]int{{999 % 288}, stop}}})
	got := r.Sequences[0]
	if got.StopReason != "stop" || len(got.Tokens) > 5 || !equalInts(got.Tokens[len(got.Tokens)-2:], stop) {
		t.Fatalf("stop sequence %v: got %v (%s), full %v", stop, got.Tokens, got.StopReason, toks)
	}
	calls := 0
	r, _ = s.Sample(SampleRequest{Prompt: prompt, NumSamples: 1, Params: SamplingParams{MaxTokens: 10, IgnoreEOS: true,
		StopFunc: func(gen []int) bool { calls++; return len(gen) == 2 }}})
	if len(r.Sequences[0].Tokens) != 2 || r.Sequences[0].StopReason != "stop" || calls != 2 {
		t.Fatalf("stop hook: %v %s after %d calls", r.Sequences[0].Tokens, r.Sequences[0].StopReason, calls)
	}
	// The context length bounds generation.
	long := make([]int, LocalTiny().MaxSeq-3)
	r, err := s.Sample(SampleRequest{Prompt: long, NumSamples: 1, Params: SamplingParams{MaxTokens: 50, IgnoreEOS: true}})
	if err != nil || len(r.Sequences[0].Tokens) != 3 || r.Sequences[0].StopReason != "length" {
		t.Fatalf("context bound: %v %v", r, err)
	}
}

func TestPromptLogprobs(t *testing.T) {
	m := tinyLoRA(t, 9)
	s := m.Sampler()
	prompt := []int{3, 1, 4, 1, 5, 9, 2, 6}
	r, err := s.Sample(SampleRequest{Prompt: prompt, PromptLogprobs: true, TopKPromptLogprobs: m.Cfg.Vocab})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.PromptLogprobs[0]) || r.TopKPromptLogprobs[0] != nil || len(r.PromptLogprobs) != len(prompt) {
		t.Fatal("position 0 must be NaN / nil")
	}
	for i := 1; i < len(prompt); i++ {
		var sum float64
		found := false
		prev := math.Inf(1)
		for _, tl := range r.TopKPromptLogprobs[i] {
			sum += math.Exp(tl.Logprob)
			if tl.Logprob > prev {
				t.Fatal("top-k not sorted")
			}
			prev = tl.Logprob
			if tl.Token == prompt[i] {
				found = true
				if math.Abs(tl.Logprob-r.PromptLogprobs[i]) > 1e-12 {
					t.Fatal("top-k and prompt logprob disagree")
				}
			}
		}
		if math.Abs(sum-1) > 1e-5 || !found {
			t.Fatalf("position %d: Σexp(logprobs) = %v, found %v", i, sum, found)
		}
	}
}

func TestFloat32MatchesFloat64(t *testing.T) {
	for _, path := range kernels.Paths() {
		prev, err := kernels.SetPath(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(path, testFloat32MatchesFloat64)
		kernels.SetPath(prev)
	}
}

func testFloat32MatchesFloat64(t *testing.T) {
	cfg := LocalTiny()
	n64, err := NewRandom[float64](cfg, 10)
	if err != nil {
		t.Fatal(err)
	}
	n64, _ = n64.NewLoRA(&LoraConfig{Rank: 4, Seed: 2, TrainAttn: true, TrainMLP: true, TrainUnembed: true})
	perturbB(n64, 4, 0.02)
	ck, _ := n64.SaveBytes(false)
	n32, err := Load[float32](ck)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var data []Datum
	for _, L := range []int{37, 70, 5} {
		seq := make([]int, L+1)
		for i := range seq {
			seq[i] = rng.IntN(cfg.Vocab)
		}
		data = append(data, ceData(seq, 1))
	}
	r64, _ := n64.ForwardBackward(data, LossCrossEntropy, nil, false)
	r32, _ := n32.ForwardBackward(data, LossCrossEntropy, nil, false)
	for i := range r64.Logprobs {
		for j := range r64.Logprobs[i] {
			if d := math.Abs(float64(r64.Logprobs[i][j] - r32.Logprobs[i][j])); d > 1e-4 {
				t.Fatalf("logprob [%d][%d]: float64 %v float32 %v", i, j, r64.Logprobs[i][j], r32.Logprobs[i][j])
			}
		}
	}
	for i, p := range n64.params {
		var num, den float64
		for j, g := range p.grad {
			d := g - float64(n32.params[i].grad[j])
			num += d * d
			den += g * g
		}
		if rel := math.Sqrt(num / den); rel > 1e-3 {
			t.Errorf("%s: relative gradient error %g > 1e-3", p.name, rel)
		}
	}
}

func TestBadInput(t *testing.T) {
	m := tinyLoRA(t, 11)
	ok := ceData([]int{1, 2, 3, 4}, 1)
	cases := map[string]struct {
		data []Datum
		loss string
		cfg  map[string]float64
		want string
	}{
		"oov token":       {[]Datum{{Tokens: []int{1, 288, 3}, Inputs: ok.Inputs}}, LossCrossEntropy, nil, "outside the vocabulary"},
		"negative token":  {[]Datum{{Tokens: []int{1, -1, 3}, Inputs: ok.Inputs}}, LossCrossEntropy, nil, "outside the vocabulary"},
		"oov target":      {[]Datum{{Tokens: ok.Tokens, Inputs: map[string][]float64{"target_tokens": {1, 2, 300}, "weights": {1, 1, 1}}}}, LossCrossEntropy, nil, "target_tokens[2]"},
		"too long":        {[]Datum{ceData(make([]int, 200), 1)}, LossCrossEntropy, nil, "exceed the context length"},
		"mismatched":      {[]Datum{{Tokens: ok.Tokens, Inputs: map[string][]float64{"target_tokens": {1, 2}, "weights": {1, 1, 1}}}}, LossCrossEntropy, nil, "target_tokens has 2 values"},
		"missing weights": {[]Datum{{Tokens: ok.Tokens, Inputs: map[string][]float64{"target_tokens": {1, 2, 3}}}}, LossCrossEntropy, nil, "weights is required"},
		"unknown loss":    {[]Datum{ok}, "mse", nil, "unknown loss_fn"},
		"bad config":      {[]Datum{ok}, LossPPO, map[string]float64{"beta": 1}, "does not take beta"},
		"dro no beta":     {[]Datum{ok}, LossDRO, nil, "needs beta"},
		"nan input":       {[]Datum{{Tokens: ok.Tokens, Inputs: map[string][]float64{"target_tokens": {1, 2, 3}, "weights": {1, math.NaN(), 1}}}}, LossCrossEntropy, nil, "not finite"},
		"empty":           {nil, LossCrossEntropy, nil, "no data"},
		"empty input":     {[]Datum{{Tokens: nil, Inputs: map[string][]float64{}}}, LossCrossEntropy, nil, "empty"},
	}
	for name, c := range cases {
		_, err := m.ForwardBackward(c.data, c.loss, c.cfg, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
	for _, p := range m.params {
		for _, g := range p.grad {
			if g != 0 {
				t.Fatal("a rejected call left gradients behind")
			}
		}
	}
	if _, err := m.OptimStep(AdamParams{LearningRate: -1}); err == nil {
		t.Error("negative learning rate accepted")
	}
	if _, err := m.OptimStep(AdamParams{LearningRate: 1e-3, Beta1: 1}); err == nil {
		t.Error("beta1 = 1 accepted")
	}
	s := m.Sampler()
	for name, req := range map[string]SampleRequest{
		"empty prompt": {NumSamples: 1},
		"oov prompt":   {Prompt: []int{1, 500}, NumSamples: 1},
		"full prompt":  {Prompt: make([]int, 128), NumSamples: 1},
		"neg samples":  {Prompt: []int{1}, NumSamples: -1},
		"bad temp":     {Prompt: []int{1}, NumSamples: 1, Params: SamplingParams{Temperature: -1}},
		"bad stop":     {Prompt: []int{1}, NumSamples: 1, Params: SamplingParams{StopSequences: [][]int{{}}}},
		"bad topk lp":  {Prompt: []int{1}, TopKPromptLogprobs: 1000},
	} {
		if _, err := s.Sample(req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, lc := range []LoraConfig{{Rank: 0, TrainAttn: true}, {Rank: 4}} {
		if _, err := m.NewLoRA(&lc); err == nil {
			t.Errorf("lora %+v accepted", lc)
		}
	}
	big := LocalBase()
	big.Vocab = 1 << 30
	if _, err := NewRandom[float32](big, 1); err == nil {
		t.Error("huge config accepted")
	}
	if _, err := ConfigFor("nope/model"); err == nil {
		t.Error("unknown base model accepted")
	}
	ck, _ := m.SaveBytes(true)
	for name, raw := range map[string][]byte{
		"short":     ck[:5],
		"truncated": ck[:len(ck)-4],
		"garbage":   append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, []byte("{{{{{{{{")...),
		"huge hdr":  {255, 255, 255, 255, 255, 255, 255, 255, 0},
	} {
		if _, err := Load[float32](raw); err == nil {
			t.Errorf("checkpoint %s accepted", name)
		}
	}
}

func TestAdapterExport(t *testing.T) {
	m := tinyLoRA(t, 12)
	var b bytes.Buffer
	if err := m.ExportAdapter(&b); err != nil {
		t.Fatal(err)
	}
	st, err := readSafetensors(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	e, ok := st.entries["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
	if !ok || e.DType != "F32" || e.Shape[0] != 8 || e.Shape[1] != 64 {
		t.Fatalf("lora_A entry %+v %v", e, ok)
	}
	if len(st.entries) != 2*(7*2+1) {
		t.Fatalf("%d adapter tensors", len(st.entries))
	}
	cj, err := m.AdapterConfig()
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(cj, &cfg); err != nil || cfg["r"].(float64) != 8 || cfg["lora_alpha"].(float64) != 32 {
		t.Fatalf("adapter_config %s %v", cj, err)
	}
}

func TestConfigs(t *testing.T) {
	if n := LocalBase().NumParams(); n < 800_000 || n > 900_000 {
		t.Errorf("local-base has %d params", n)
	}
	if n := LocalTiny().NumParams(); n < 80_000 || n > 150_000 {
		t.Errorf("local-tiny has %d params", n)
	}
	q := ForVocab("Qwen/Qwen3-8B", 151936, 151645)
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	m := alloc[float32](q) // zero weights: uniform logprobs
	r, err := m.ForwardBackward([]Datum{ceData([]int{151000, 5, 151935, 7}, 1)}, LossCrossEntropy, nil, true)
	if err != nil || len(r.Logprobs[0]) != 3 || math.Abs(float64(r.Logprobs[0][1])+math.Log(151936)) > 1e-4 {
		t.Fatal(r, err)
	}
}

func TestSampleManyMatchesAlone(t *testing.T) {
	m := tinyLoRA(t, 13)
	perturbB(m, 2, 0.05)
	s := m.Sampler()
	reqs := []SampleRequest{
		{Prompt: []int{1, 2, 3}, NumSamples: 3, Params: SamplingParams{MaxTokens: 9, Temperature: 1, Seed: 1, HasSeed: true, IgnoreEOS: true}},
		{Prompt: []int{9, 8, 7, 6, 5, 4}, NumSamples: 20, Params: SamplingParams{MaxTokens: 5, Temperature: 0.7, TopP: 0.9, Seed: 2, HasSeed: true}, PromptLogprobs: true},
		{Prompt: []int{400}, NumSamples: 1},
		{Prompt: []int{4}, NumSamples: 2, Params: SamplingParams{MaxTokens: 12, Temperature: 1, TopK: 5, Seed: 3, HasSeed: true, IgnoreEOS: true}},
	}
	many, errs := s.SampleMany(reqs)
	if errs[2] == nil || many[2] != nil {
		t.Fatal("the bad request was not rejected on its own")
	}
	for i, r := range reqs {
		if i == 2 {
			continue
		}
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		alone, err := s.Sample(r)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(alone.Sequences)
		jm, _ := json.Marshal(many[i].Sequences)
		if !bytes.Equal(ja, jm) {
			t.Fatalf("request %d: batched result differs from the request alone:\n%s\n%s", i, ja, jm)
		}
	}
}

func TestMultiPassEqualsOnePass(t *testing.T) {
	n := mustRandom[float64](t, microConfig(true), 21)
	n, _ = n.NewLoRA(&LoraConfig{Rank: 2, TrainAttn: true, TrainMLP: true})
	perturbB(n, 1, 0.1)
	data := randomData(rand.New(rand.NewPCG(7, 7)), n.Cfg, 5, 9, 3, 12, 7)
	one := gradsOf(t, n, data, LossCrossEntropy, nil)
	r1, _ := n.ForwardBackward(data, LossCrossEntropy, nil, true)
	old := MaxPassTokens
	MaxPassTokens = 10
	defer func() { MaxPassTokens = old }()
	many := gradsOf(t, n, data, LossCrossEntropy, nil)
	r2, _ := n.ForwardBackward(data, LossCrossEntropy, nil, true)
	assertGradsClose(t, "passes of 10 tokens vs one pass", many, one, 1e-12)
	if math.Abs(r1.Metrics["loss:sum"]-r2.Metrics["loss:sum"]) > 1e-12 || len(r2.Logprobs) != 5 || len(r2.Logprobs[3]) != 12 {
		t.Fatal("multi-pass results differ")
	}
}

func TestFastExpMatchesExact(t *testing.T) {
	m := tinyLoRA(t, 31)
	perturbB(m, 5, 0.05)
	rng := rand.New(rand.NewPCG(2, 2))
	var data []Datum
	for _, L := range []int{50, 17} {
		seq := make([]int, L+1)
		for i := range seq {
			seq[i] = rng.IntN(288)
		}
		data = append(data, ceData(seq, 0.1))
	}
	grads := func(exact bool) ([][]float32, [][]float32) {
		m.SetExactMath(exact)
		m.ZeroGrad()
		r, err := m.ForwardBackward(data, LossCrossEntropy, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		var g [][]float32
		for _, p := range m.params {
			g = append(g, append([]float32(nil), p.grad...))
		}
		m.ZeroGrad()
		return r.Logprobs, g
	}
	lf, gf := grads(false)
	le, ge := grads(true)
	for i := range lf {
		for j := range lf[i] {
			if math.Abs(float64(lf[i][j]-le[i][j])) > 1e-5 {
				t.Fatalf("logprob: fast %v exact %v", lf[i][j], le[i][j])
			}
		}
	}
	for i := range gf {
		var num, den float64
		for j := range gf[i] {
			d := float64(gf[i][j] - ge[i][j])
			num += d * d
			den += float64(ge[i][j]) * float64(ge[i][j])
		}
		if den > 0 && math.Sqrt(num/den) > 1e-4 {
			t.Fatalf("%s: relative gradient difference %g", m.params[i].name, math.Sqrt(num/den))
		}
	}
}
