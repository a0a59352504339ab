package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// LoraConfig selects LoRA adapters, as Tinker's LoraConfig does.
//
// Each adapted linear layer y = x·Wᵀ becomes y = x·(W + s·B·A)ᵀ with A
// (rank×in) drawn uniformly from ±1/sqrt(in) (PEFT's Kaiming-uniform
// default), B (out×rank) zero, and s = Alpha/Rank. Alpha defaults to 32 (the
// value Thinking Machines' "LoRA Without Regret" uses with Tinker), so a
// fresh adapter leaves the model unchanged and the effective learning rate
// does not depend on the rank.
type LoraConfig struct {
	Rank         int     `json:"rank"`
	Seed         uint64  `json:"seed"`
	TrainAttn    bool    `json:"train_attn"`
	TrainMLP     bool    `json:"train_mlp"`
	TrainUnembed bool    `json:"train_unembed"`
	Alpha        float64 `json:"alpha,omitempty"`
}

// DefaultLoraAlpha is the LoRA alpha used when LoraConfig.Alpha is 0.
const DefaultLoraAlpha = 32

func (c *LoraConfig) alpha() float64 {
	if c.Alpha == 0 {
		return DefaultLoraAlpha
	}
	return c.Alpha
}

// Validate checks the rank and that something is trained.
func (c *LoraConfig) Validate() error {
	if c.Rank <= 0 {
		return fmt.Errorf("lora_config.rank must be > 0, got %d", c.Rank)
	}
	if c.Rank > 4096 {
		return fmt.Errorf("lora_config.rank %d is too large (max 4096)", c.Rank)
	}
	if !c.TrainAttn && !c.TrainMLP && !c.TrainUnembed {
		return fmt.Errorf("lora_config: at least one of train_attn, train_mlp, train_unembed must be true")
	}
	if c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("lora_config.alpha must be a finite number >= 0")
	}
	return nil
}

// linear is y = x·Weffᵀ with Weff (out×in) = W, or W + s·B·A with LoRA.
type linear[T Float] struct {
	name    string // e.g. "model.layers.0.self_attn.q_proj"
	out, in int
	w       []T // base weight, out×in
	a, b    []T // LoRA A (r×in) and B (out×r); nil without an adapter
	rank    int
	scale   T
	weff    []T // merged weight (aliases w without an adapter)
	train   bool
	gw      []T // gradient w.r.t. Weff (full training: accumulates across calls)
	ga, gb  []T
}

func (l *linear[T]) merge() {
	if l.a == nil {
		l.weff = l.w
		return
	}
	if len(l.weff) != len(l.w) || &l.weff[0] == &l.w[0] {
		l.weff = make([]T, len(l.w))
	}
	copy(l.weff, l.w)
	gemm(false, false, l.out, l.in, l.rank, l.scale, l.b, l.rank, l.a, l.in, 1, l.weff, l.in)
}

type layer[T Float] struct {
	attnNorm, mlpNorm   []T
	gAttnNorm, gMLPNorm []T
	q, k, v, o          *linear[T]
	gate, up, down      *linear[T]
}

func (ly *layer[T]) linears() []*linear[T] {
	return []*linear[T]{ly.q, ly.k, ly.v, ly.o, ly.gate, ly.up, ly.down}
}

// param is one trainable tensor with its gradient and AdamW moments.
type param[T Float] struct {
	name  string
	shape []int
	data  []T
	grad  []T
	m, v  []T
}

// Net is the decoder. It is not safe for concurrent use; Sampler (from
// Net.Sampler) is.
type Net[T Float] struct {
	Cfg       Config
	lora      *LoraConfig // nil: full-weight training
	embed     []T         // V×d
	gEmbed    []T
	layers    []*layer[T]
	finalNorm []T
	gFinal    []T
	head      *linear[T] // W aliases embed when tied
	rope      ropeTable[T]

	params []*param[T]
	step   int64 // optimizer steps taken
	ws     *workspace[T]
	// hasGrad is true when gradients were accumulated since the last step.
	hasGrad bool
	// exactMath uses math.Exp everywhere (the numerics the shipped
	// checkpoint was trained with) instead of the vectorised kernels.Exp.
	exactMath bool
}

// SetExactMath selects scalar math.Exp (true) or the vectorised kernels.Exp
// (false, the default; ~1 ulp in float32) for softmax, SiLU and
// log-softmax. The pretraining command uses exact math so that it
// reproduces the shipped checkpoint bit for bit. float64 networks always use
// math.Exp.
func (n *Net[T]) SetExactMath(exact bool) { n.exactMath = exact }

// Model is the float32 network the engine uses.
type Model = Net[float32]

// NewRandom builds a base network with random weights (normal, std 0.02;
// residual output projections scaled by 1/sqrt(2L); norm gains 1).
func NewRandom[T Float](cfg Config, seed uint64) (*Net[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := alloc[T](cfg)
	rng := rand.New(rand.NewPCG(seed, 0x746b78))
	normal := func(x []T, std float64) {
		for i := range x {
			x[i] = T(rng.NormFloat64() * std)
		}
	}
	normal(n.embed, 0.02)
	proj := 0.02 / math.Sqrt(2*float64(cfg.Layers))
	for _, ly := range n.layers {
		normal(ly.q.w, 0.02)
		normal(ly.k.w, 0.02)
		normal(ly.v.w, 0.02)
		normal(ly.o.w, proj)
		normal(ly.gate.w, 0.02)
		normal(ly.up.w, 0.02)
		normal(ly.down.w, proj)
	}
	if !cfg.Tied {
		normal(n.head.w, 0.02)
	}
	n.setTraining(nil)
	return n, nil
}

func alloc[T Float](cfg Config) *Net[T] {
	d, h, V := cfg.Dim, cfg.Hidden, cfg.Vocab
	n := &Net[T]{Cfg: cfg}
	n.embed = make([]T, V*d)
	n.finalNorm = ones[T](d)
	lin := func(name string, out, in int) *linear[T] {
		l := &linear[T]{name: name, out: out, in: in, w: make([]T, out*in)}
		l.weff = l.w
		return l
	}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		n.layers = append(n.layers, &layer[T]{
			attnNorm: ones[T](d), mlpNorm: ones[T](d),
			q: lin(p+"self_attn.q_proj", d, d), k: lin(p+"self_attn.k_proj", d, d),
			v: lin(p+"self_attn.v_proj", d, d), o: lin(p+"self_attn.o_proj", d, d),
			gate: lin(p+"mlp.gate_proj", h, d), up: lin(p+"mlp.up_proj", h, d), down: lin(p+"mlp.down_proj", d, h),
		})
	}
	if cfg.Tied {
		n.head = &linear[T]{name: "lm_head", out: V, in: d, w: n.embed}
		n.head.weff = n.head.w
	} else {
		n.head = lin("lm_head", V, d)
	}
	n.rope = newRope[T](cfg)
	return n
}

func ones[T Float](n int) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = 1
	}
	return x
}

func (n *Net[T]) linears() []*linear[T] {
	var ls []*linear[T]
	for _, ly := range n.layers {
		ls = append(ls, ly.linears()...)
	}
	return append(ls, n.head)
}

// baseTensors lists the base weights in a fixed order with HF names.
func (n *Net[T]) baseTensors() []namedTensor[T] {
	d := n.Cfg.Dim
	ts := []namedTensor[T]{{"model.embed_tokens.weight", []int{n.Cfg.Vocab, d}, n.embed}}
	for i, ly := range n.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts, namedTensor[T]{p + "input_layernorm.weight", []int{d}, ly.attnNorm})
		for _, l := range ly.linears() {
			ts = append(ts, namedTensor[T]{l.name + ".weight", []int{l.out, l.in}, l.w})
		}
		ts = append(ts, namedTensor[T]{p + "post_attention_layernorm.weight", []int{d}, ly.mlpNorm})
	}
	ts = append(ts, namedTensor[T]{"model.norm.weight", []int{d}, n.finalNorm})
	if !n.Cfg.Tied {
		ts = append(ts, namedTensor[T]{"lm_head.weight", []int{n.Cfg.Vocab, d}, n.head.w})
	}
	return ts
}

type namedTensor[T Float] struct {
	name  string
	shape []int
	data  []T
}

// setTraining chooses what trains: lora == nil trains every base weight
// (pretraining); otherwise only LoRA adapters train and the base is frozen.
// It (re)creates adapters, gradients and optimizer state.
func (n *Net[T]) setTraining(lora *LoraConfig) {
	n.lora = lora
	n.params = nil
	n.step = 0
	n.hasGrad = false
	for _, l := range n.linears() {
		l.a, l.b, l.ga, l.gb, l.gw, l.train = nil, nil, nil, nil, nil, false
	}
	n.gEmbed, n.gFinal = nil, nil
	for _, ly := range n.layers {
		ly.gAttnNorm, ly.gMLPNorm = nil, nil
	}
	add := func(name string, shape []int, data, grad []T) {
		n.params = append(n.params, &param[T]{name: name, shape: shape, data: data, grad: grad,
			m: make([]T, len(data)), v: make([]T, len(data))})
	}
	if lora == nil {
		d := n.Cfg.Dim
		n.gEmbed = make([]T, len(n.embed))
		n.gFinal = make([]T, d)
		add("model.embed_tokens.weight", []int{n.Cfg.Vocab, d}, n.embed, n.gEmbed)
		for i, ly := range n.layers {
			p := fmt.Sprintf("model.layers.%d.", i)
			ly.gAttnNorm, ly.gMLPNorm = make([]T, d), make([]T, d)
			add(p+"input_layernorm.weight", []int{d}, ly.attnNorm, ly.gAttnNorm)
			for _, l := range ly.linears() {
				l.train = true
				l.gw = make([]T, len(l.w))
				add(l.name+".weight", []int{l.out, l.in}, l.w, l.gw)
			}
			add(p+"post_attention_layernorm.weight", []int{d}, ly.mlpNorm, ly.gMLPNorm)
		}
		add("model.norm.weight", []int{d}, n.finalNorm, n.gFinal)
		n.head.train = true
		if n.Cfg.Tied {
			n.head.gw = n.gEmbed
		} else {
			n.head.gw = make([]T, len(n.head.w))
			add("lm_head.weight", []int{n.Cfg.Vocab, d}, n.head.w, n.head.gw)
		}
		for _, l := range n.linears() {
			l.merge()
		}
		return
	}
	rng := rand.New(rand.NewPCG(lora.Seed, 0x6c6f7261))
	scale := T(lora.alpha() / float64(lora.Rank))
	adapt := func(l *linear[T]) {
		r := lora.Rank
		l.rank, l.scale, l.train = r, scale, true
		l.a = make([]T, r*l.in)
		bound := 1 / math.Sqrt(float64(l.in))
		for i := range l.a {
			l.a[i] = T((2*rng.Float64() - 1) * bound)
		}
		l.b = make([]T, l.out*r)
		l.ga, l.gb = make([]T, len(l.a)), make([]T, len(l.b))
		l.gw = make([]T, len(l.w))
		add(l.name+".lora_A.weight", []int{r, l.in}, l.a, l.ga)
		add(l.name+".lora_B.weight", []int{l.out, r}, l.b, l.gb)
	}
	for _, ly := range n.layers {
		if lora.TrainAttn {
			adapt(ly.q)
			adapt(ly.k)
			adapt(ly.v)
			adapt(ly.o)
		}
		if lora.TrainMLP {
			adapt(ly.gate)
			adapt(ly.up)
			adapt(ly.down)
		}
	}
	if lora.TrainUnembed {
		adapt(n.head)
	}
	for _, l := range n.linears() {
		l.merge()
	}
}

// NewLoRA returns a copy of the base network's weights with fresh LoRA
// adapters (lora != nil) or set up for full-weight training (lora == nil).
func (n *Net[T]) NewLoRA(lora *LoraConfig) (*Net[T], error) {
	if lora != nil {
		if err := lora.Validate(); err != nil {
			return nil, err
		}
		c := *lora
		lora = &c
	}
	m := alloc[T](n.Cfg)
	src, dst := n.baseTensors(), m.baseTensors()
	for i := range src {
		copy(dst[i].data, src[i].data)
	}
	m.setTraining(lora)
	return m, nil
}

// Lora reports the adapter configuration (nil for full-weight training).
func (n *Net[T]) Lora() *LoraConfig {
	if n.lora == nil {
		return nil
	}
	c := *n.lora
	return &c
}

// Step is the number of optimizer steps taken.
func (n *Net[T]) Step() int64 { return n.step }

// NumTrainable counts trainable parameters.
func (n *Net[T]) NumTrainable() int {
	s := 0
	for _, p := range n.params {
		s += len(p.data)
	}
	return s
}

// ropeTable holds cos/sin for every position and frequency (HF rotate_half
// convention: pairs (i, i+hd/2)).
type ropeTable[T Float] struct {
	half     int
	cos, sin []T // MaxSeq×half
}

func newRope[T Float](cfg Config) ropeTable[T] {
	hd := cfg.HeadDim()
	half := hd / 2
	r := ropeTable[T]{half: half, cos: make([]T, cfg.MaxSeq*half), sin: make([]T, cfg.MaxSeq*half)}
	for p := 0; p < cfg.MaxSeq; p++ {
		for i := 0; i < half; i++ {
			f := float64(p) * math.Pow(cfg.RopeTheta, -2*float64(i)/float64(hd))
			r.cos[p*half+i] = T(math.Cos(f))
			r.sin[p*half+i] = T(math.Sin(f))
		}
	}
	return r
}

// apply rotates one head vector in place at position pos (inverse: the
// backward pass, rotating by -angle).
func (r *ropeTable[T]) apply(x []T, pos int, inverse bool) {
	h := r.half
	c, s := r.cos[pos*h:pos*h+h], r.sin[pos*h:pos*h+h]
	for i := 0; i < h; i++ {
		x1, x2 := x[i], x[i+h]
		si := s[i]
		if inverse {
			si = -si
		}
		x[i] = x1*c[i] - x2*si
		x[i+h] = x2*c[i] + x1*si
	}
}
