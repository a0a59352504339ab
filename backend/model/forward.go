package model

import (
	"math"
	"sync"
)

// span is one sequence inside a packed batch.
type span struct{ start, n int }

type layerActs[T Float] struct {
	xin, n1, q, k, v, att, xmid, n2, g, u, h []T
	sg                                       []T // sigmoid(g), kept for the backward pass
	r1, r2                                   []T
	probs                                    []T // attention probabilities (training only)
}

// workspace holds the activations of one packed batch (all sequences of a
// call concatenated; attention stays within each sequence).
type workspace[T Float] struct {
	n      int // tokens
	cap    int
	tokens []int
	pos    []int
	seqs   []span
	// probOff[i] is the offset of sequence i's H·n² attention
	// probabilities in layerActs.probs (kept when training).
	probOff []int
	layers  []layerActs[T]
	xL, rF  []T
	nf      []T
	// backward scratch
	dx, dxmid, dn, datt, dq, dk, dv []T
	dg, du, dh                      []T
	dnf                             []T
}

func (ws *workspace[T]) ensure(cfg Config, n int, backward bool) {
	ws.n = n
	if n <= ws.cap && (!backward || ws.dx != nil) {
		return
	}
	c := max(n, ws.cap)
	d, h := cfg.Dim, cfg.Hidden
	ws.cap = c
	ws.layers = make([]layerActs[T], cfg.Layers)
	for i := range ws.layers {
		ws.layers[i] = layerActs[T]{
			xin: make([]T, c*d), n1: make([]T, c*d), q: make([]T, c*d), k: make([]T, c*d), v: make([]T, c*d),
			att: make([]T, c*d), xmid: make([]T, c*d), n2: make([]T, c*d),
			g: make([]T, c*h), u: make([]T, c*h), h: make([]T, c*h), sg: make([]T, c*h),
			r1: make([]T, c), r2: make([]T, c),
		}
	}
	ws.xL, ws.rF, ws.nf = make([]T, c*d), make([]T, c), make([]T, c*d)
	ws.dx = nil
	if backward {
		ws.dx, ws.dxmid, ws.dn, ws.datt = make([]T, c*d), make([]T, c*d), make([]T, c*d), make([]T, c*d)
		ws.dq, ws.dk, ws.dv, ws.dnf = make([]T, c*d), make([]T, c*d), make([]T, c*d), make([]T, c*d)
		ws.dg, ws.du, ws.dh = make([]T, c*h), make([]T, c*h), make([]T, c*h)
	}
}

// setBatch packs sequences (already validated) into the workspace.
func (ws *workspace[T]) setBatch(cfg Config, seqs [][]int, backward bool) {
	total := 0
	for _, s := range seqs {
		total += len(s)
	}
	ws.ensure(cfg, total, backward)
	ws.tokens = ws.tokens[:0]
	ws.pos = ws.pos[:0]
	ws.seqs = ws.seqs[:0]
	ws.probOff = ws.probOff[:0]
	np := 0
	for _, s := range seqs {
		ws.probOff = append(ws.probOff, np)
		np += cfg.Heads * len(s) * len(s)
		ws.seqs = append(ws.seqs, span{len(ws.tokens), len(s)})
		for i, t := range s {
			ws.tokens = append(ws.tokens, t)
			ws.pos = append(ws.pos, i)
		}
	}
	for i := range ws.layers {
		a := &ws.layers[i]
		if !backward {
			a.probs = nil
		} else if cap(a.probs) >= np {
			a.probs = a.probs[:np]
		} else {
			a.probs = make([]T, np)
		}
	}
}

const rowBlock = 64

// forward runs the decoder body over the packed batch, leaving the final
// normalised hidden states in ws.nf.
func (n *Net[T]) forward(ws *workspace[T]) {
	cfg := n.Cfg
	d, hid, N := cfg.Dim, cfg.Hidden, ws.n
	x := ws.layers[0].xin
	parallelRows(N, rowBlock, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			copy(x[t*d:(t+1)*d], n.embed[ws.tokens[t]*d:])
		}
	})
	for li, ly := range n.layers {
		a := &ws.layers[li]
		rmsNorm(a.xin[:N*d], a.n1, a.r1, ly.attnNorm, d, T(cfg.NormEps))
		gemm(false, true, N, d, d, 1, a.n1, d, ly.q.weff, d, 0, a.q, d)
		gemm(false, true, N, d, d, 1, a.n1, d, ly.k.weff, d, 0, a.k, d)
		gemm(false, true, N, d, d, 1, a.n1, d, ly.v.weff, d, 0, a.v, d)
		n.applyRope(ws, a.q, a.k, false)
		n.attention(ws, a.q, a.k, a.v, a.att, a.probs)
		copy(a.xmid[:N*d], a.xin[:N*d])
		gemm(false, true, N, d, d, 1, a.att, d, ly.o.weff, d, 1, a.xmid, d)
		rmsNorm(a.xmid[:N*d], a.n2, a.r2, ly.mlpNorm, d, T(cfg.NormEps))
		gemm(false, true, N, hid, d, 1, a.n2, d, ly.gate.weff, d, 0, a.g, hid)
		gemm(false, true, N, hid, d, 1, a.n2, d, ly.up.weff, d, 0, a.u, hid)
		fast := !n.exactMath
		parallelRows(N*hid, rowBlock*hid, func(lo, hi int) {
			if fast {
				silu(a.g[lo:hi], a.u[lo:hi], a.sg[lo:hi], a.h[lo:hi])
				return
			}
			for i := lo; i < hi; i++ {
				g := a.g[i]
				sg := 1 / (1 + exp(-g))
				a.sg[i] = sg
				a.h[i] = g * sg * a.u[i]
			}
		})
		out := ws.xL
		if li+1 < len(n.layers) {
			out = ws.layers[li+1].xin
		}
		copy(out[:N*d], a.xmid[:N*d])
		gemm(false, true, N, d, hid, 1, a.h, hid, ly.down.weff, hid, 1, out, d)
	}
	rmsNorm(ws.xL[:N*d], ws.nf, ws.rF, n.finalNorm, d, T(cfg.NormEps))
}

// backward propagates ws.dnf (gradient w.r.t. the final normalised hidden
// states) through the body, accumulating weight gradients.
func (n *Net[T]) backward(ws *workspace[T]) {
	cfg := n.Cfg
	d, hid, N := cfg.Dim, cfg.Hidden, ws.n
	dx := ws.dx[:N*d]
	clear(dx)
	rmsNormBack(ws.dnf, ws.xL, ws.rF, n.finalNorm, n.gFinal, dx, d)
	for li := len(n.layers) - 1; li >= 0; li-- {
		ly, a := n.layers[li], &ws.layers[li]
		// MLP: out = xmid + (silu(g)*u)·Wdᵀ
		gemm(false, false, N, hid, d, 1, dx, d, ly.down.weff, hid, 0, ws.dh, hid)
		if ly.down.train {
			gemm(true, false, d, hid, N, 1, dx, d, a.h, hid, 1, ly.down.gw, hid)
		}
		parallelRows(N*hid, rowBlock*hid, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				g, sg := a.g[i], a.sg[i]
				ws.du[i] = ws.dh[i] * g * sg
				ws.dg[i] = ws.dh[i] * a.u[i] * sg * (1 + g*(1-sg))
			}
		})
		gemm(false, false, N, d, hid, 1, ws.dg, hid, ly.gate.weff, d, 0, ws.dn, d)
		gemm(false, false, N, d, hid, 1, ws.du, hid, ly.up.weff, d, 1, ws.dn, d)
		if ly.gate.train {
			gemm(true, false, hid, d, N, 1, ws.dg, hid, a.n2, d, 1, ly.gate.gw, d)
		}
		if ly.up.train {
			gemm(true, false, hid, d, N, 1, ws.du, hid, a.n2, d, 1, ly.up.gw, d)
		}
		dxmid := ws.dxmid[:N*d]
		copy(dxmid, dx)
		rmsNormBack(ws.dn, a.xmid, a.r2, ly.mlpNorm, ly.gMLPNorm, dxmid, d)
		// Attention: xmid = xin + att·Woᵀ
		gemm(false, false, N, d, d, 1, dxmid, d, ly.o.weff, d, 0, ws.datt, d)
		if ly.o.train {
			gemm(true, false, d, d, N, 1, dxmid, d, a.att, d, 1, ly.o.gw, d)
		}
		n.attentionBack(ws, a.q, a.k, a.v, a.probs, ws.datt, ws.dq, ws.dk, ws.dv)
		n.applyRope(ws, ws.dq, ws.dk, true)
		gemm(false, false, N, d, d, 1, ws.dq, d, ly.q.weff, d, 0, ws.dn, d)
		gemm(false, false, N, d, d, 1, ws.dk, d, ly.k.weff, d, 1, ws.dn, d)
		gemm(false, false, N, d, d, 1, ws.dv, d, ly.v.weff, d, 1, ws.dn, d)
		for _, p := range []struct {
			l  *linear[T]
			dy []T
		}{{ly.q, ws.dq}, {ly.k, ws.dk}, {ly.v, ws.dv}} {
			if p.l.train {
				gemm(true, false, d, d, N, 1, p.dy, d, a.n1, d, 1, p.l.gw, d)
			}
		}
		copy(dx, dxmid)
		rmsNormBack(ws.dn, a.xin, a.r1, ly.attnNorm, ly.gAttnNorm, dx, d)
	}
	if n.gEmbed != nil {
		for t := 0; t < N; t++ {
			g := n.gEmbed[ws.tokens[t]*d : (ws.tokens[t]+1)*d]
			for j, v := range dx[t*d : (t+1)*d] {
				g[j] += v
			}
		}
	}
}

// rmsNorm: y = gain ⊙ x / sqrt(mean(x²) + eps); r keeps 1/rms per row.
func rmsNorm[T Float](x, y, r, gain []T, d int, eps T) {
	rows := len(x) / d
	parallelRows(rows, rowBlock, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr := x[t*d : (t+1)*d]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			inv := T(1 / math.Sqrt(ss/float64(d)+float64(eps)))
			r[t] = inv
			yr := y[t*d : (t+1)*d]
			for j, v := range xr {
				yr[j] = gain[j] * (v * inv)
			}
		}
	})
}

// rmsNormBack adds dL/dx to dst and, when gGain != nil, dL/dgain to gGain.
func rmsNormBack[T Float](dy, x, r, gain, gGain, dst []T, d int) {
	rows := len(dst) / d
	parallelRows(rows, rowBlock, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xr, dyr := x[t*d:(t+1)*d], dy[t*d:(t+1)*d]
			inv := float64(r[t])
			var dot float64
			for j := range xr {
				dot += float64(gain[j]) * float64(dyr[j]) * float64(xr[j])
			}
			c := inv * inv * inv * dot / float64(d)
			dr := dst[t*d : (t+1)*d]
			for j := range xr {
				dr[j] += T(inv*float64(gain[j])*float64(dyr[j]) - c*float64(xr[j]))
			}
		}
	})
	if gGain != nil {
		for t := 0; t < rows; t++ {
			xr, dyr := x[t*d:(t+1)*d], dy[t*d:(t+1)*d]
			for j := range xr {
				gGain[j] += dyr[j] * (xr[j] * r[t])
			}
		}
	}
}

func (n *Net[T]) applyRope(ws *workspace[T], q, k []T, inverse bool) {
	d, hd := n.Cfg.Dim, n.Cfg.HeadDim()
	parallelRows(ws.n, rowBlock, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p := ws.pos[t]
			for h := 0; h < n.Cfg.Heads; h++ {
				o := t*d + h*hd
				n.rope.apply(q[o:o+hd], p, inverse)
				n.rope.apply(k[o:o+hd], p, inverse)
			}
		}
	})
}

var scratchPools sync.Map // element type name → *sync.Pool

func getScratch[T Float](size int) *[]T {
	var zero T
	key := any(zero)
	pi, _ := scratchPools.LoadOrStore(key, &sync.Pool{})
	p := pi.(*sync.Pool)
	if v, ok := p.Get().(*[]T); ok && cap(*v) >= size {
		*v = (*v)[:size]
		return v
	}
	s := make([]T, size)
	return &s
}

func putScratch[T Float](s *[]T) {
	var zero T
	pi, _ := scratchPools.Load(any(zero))
	pi.(*sync.Pool).Put(s)
}

// attention computes softmax(QKᵀ/sqrt(hd) + causal mask)·V per sequence and
// head; each (sequence, head) task writes its own rows and columns. When
// probs is not nil the probabilities are kept there for the backward pass.
func (n *Net[T]) attention(ws *workspace[T], q, k, v, out, probs []T) {
	d, hd, H := n.Cfg.Dim, n.Cfg.HeadDim(), n.Cfg.Heads
	scale := T(1 / math.Sqrt(float64(hd)))
	parallelFor(len(ws.seqs)*H, func(task int) {
		sq, h := ws.seqs[task/H], task%H
		Tn := sq.n
		o := sq.start*d + h*hd
		var P []T
		var sp *[]T
		if probs != nil {
			po := ws.probOff[task/H] + h*Tn*Tn
			P = probs[po : po+Tn*Tn]
		} else {
			sp = getScratch[T](Tn * Tn)
			P = *sp
		}
		gemm1(false, true, Tn, Tn, hd, scale, q[o:], d, k[o:], d, 0, P, Tn)
		if n.exactMath {
			causalSoftmax(P, Tn)
		} else {
			causalSoftmaxFast(P, Tn)
		}
		gemm1(false, false, Tn, hd, Tn, 1, P, Tn, v[o:], d, 0, out[o:], d)
		if sp != nil {
			putScratch(sp)
		}
	})
}

// silu sets sg = sigmoid(g) and h = g·sg·u with the vectorised exp.
func silu[T Float](g, u, sg, h []T) {
	for i, v := range g {
		sg[i] = -v
	}
	vexp(sg, true)
	for i, e := range sg {
		s := 1 / (1 + e)
		sg[i] = s
		h[i] = g[i] * s * u[i]
	}
}

// causalSoftmaxFast is causalSoftmax with the vectorised exp.
func causalSoftmaxFast[T Float](P []T, Tn int) {
	for i := 0; i < Tn; i++ {
		row := P[i*Tn : i*Tn+i+1]
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		for j := range row {
			row[j] -= mx
		}
		vexp(row, true)
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		inv := T(1 / s)
		for j := range row {
			row[j] *= inv
		}
		clear(P[i*Tn+i+1 : (i+1)*Tn])
	}
}

// causalSoftmax turns scores into probabilities row by row over j <= i and
// zeroes j > i.
func causalSoftmax[T Float](P []T, Tn int) {
	for i := 0; i < Tn; i++ {
		row := P[i*Tn : (i+1)*Tn]
		mx := row[0]
		for j := 1; j <= i; j++ {
			if row[j] > mx {
				mx = row[j]
			}
		}
		var s float64
		for j := 0; j <= i; j++ {
			e := math.Exp(float64(row[j] - mx))
			row[j] = T(e)
			s += e
		}
		inv := 1 / s
		for j := 0; j <= i; j++ {
			row[j] = T(float64(row[j]) * inv)
		}
		for j := i + 1; j < Tn; j++ {
			row[j] = 0
		}
	}
}

// attentionBack uses the kept probabilities and produces dq, dk, dv.
func (n *Net[T]) attentionBack(ws *workspace[T], q, k, v, probs, dout, dq, dk, dv []T) {
	d, hd, H := n.Cfg.Dim, n.Cfg.HeadDim(), n.Cfg.Heads
	scale := T(1 / math.Sqrt(float64(hd)))
	parallelFor(len(ws.seqs)*H, func(task int) {
		sq, h := ws.seqs[task/H], task%H
		Tn := sq.n
		o := sq.start*d + h*hd
		po := ws.probOff[task/H] + h*Tn*Tn
		P := probs[po : po+Tn*Tn]
		sp := getScratch[T](Tn * Tn)
		dP := *sp
		gemm1(false, true, Tn, Tn, hd, 1, dout[o:], d, v[o:], d, 0, dP, Tn)
		gemm1(true, false, Tn, hd, Tn, 1, P, Tn, dout[o:], d, 0, dv[o:], d)
		for i := 0; i < Tn; i++ {
			pr, dr := P[i*Tn:(i+1)*Tn], dP[i*Tn:(i+1)*Tn]
			var s float64
			for j := 0; j <= i; j++ {
				s += float64(pr[j]) * float64(dr[j])
			}
			for j := 0; j <= i; j++ {
				dr[j] = T(float64(pr[j]) * (float64(dr[j]) - s))
			}
			for j := i + 1; j < Tn; j++ {
				dr[j] = 0
			}
		}
		gemm1(false, false, Tn, hd, Tn, scale, dP, Tn, k[o:], d, 0, dq[o:], d)
		gemm1(true, false, Tn, hd, Tn, scale, dP, Tn, q[o:], d, 0, dk[o:], d)
		putScratch(sp)
	})
}
