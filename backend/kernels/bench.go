package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"
)

// Shape is one GEMM problem: op(A) is M×K, op(B) is K×N.
type Shape struct {
	Name           string
	TransA, TransB bool
	M, N, K        int
}

// Flops is the multiply-add count ×2.
func (s Shape) Flops() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

func (s Shape) String() string {
	return fmt.Sprintf("%s/%s/M%dxK%dxN%d", s.Name, transName(s.TransA, s.TransB), s.M, s.K, s.N)
}

func transName(tA, tB bool) string {
	n := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	return n(tA) + n(tB)
}

// TransformerShapes are the forward GEMMs of the default local model
// (d=128, byte vocabulary 288) over `tokens` rows, weights stored [out,in]
// so the products are NT: qkv d→3d, attention output d→d, MLP up d→4d,
// MLP down 4d→d and the head d→288.
func TransformerShapes(tokens int) []Shape {
	return []Shape{
		{Name: "qkv", TransB: true, M: tokens, K: 128, N: 384},
		{Name: "proj", TransB: true, M: tokens, K: 128, N: 128},
		{Name: "fc", TransB: true, M: tokens, K: 128, N: 512},
		{Name: "fc2", TransB: true, M: tokens, K: 512, N: 128},
		{Name: "head", TransB: true, M: tokens, K: 128, N: 288},
	}
}

// TrainingShapes adds, for each forward shape, the two backward products:
// dX = dY·W (NN, M×N → M×K) and dW = dYᵀ·X (TN, the token dimension is the
// reduction).
func TrainingShapes(tokens int) []Shape {
	var out []Shape
	for _, s := range TransformerShapes(tokens) {
		out = append(out, s,
			Shape{Name: s.Name + "-dx", M: s.M, K: s.N, N: s.K},
			Shape{Name: s.Name + "-dw", TransA: true, M: s.N, K: s.M, N: s.K})
	}
	return out
}

// AttentionShapes are the per-head products of causal attention over T
// positions with head dimension hd (the model calls these per head, usually
// with SgemmSerial): scores S = Q·Kᵀ (NT), output O = P·V (NN), and the
// backward products dP = dO·Vᵀ (NT), dV = Pᵀ·dO (TN), dQ = dS·K (NN) and
// dK = dSᵀ·Q (TN).
func AttentionShapes(t, hd int) []Shape {
	return []Shape{
		{Name: "scores", TransB: true, M: t, K: hd, N: t},
		{Name: "pv", M: t, K: t, N: hd},
		{Name: "dp", TransB: true, M: t, K: hd, N: t},
		{Name: "dv", TransA: true, M: t, K: t, N: hd},
		{Name: "dq", M: t, K: t, N: hd},
		{Name: "dk", TransA: true, M: t, K: t, N: hd},
	}
}

// Measurement is the best-of-trials timing of one shape on one path.
type Measurement struct {
	Shape
	Path    string
	Threads int     // GOMAXPROCS during the run
	Seconds float64 // best time per call
	GFLOPS  float64 // Flops / Seconds / 1e9
}

// MeasureGFLOPS times Sgemm on s with the active path: `trials` trials (at
// least 1), each repeating the call for at least minTime, and reports the
// best trial. Operands are random and allocated once; the first call (buffer
// pool warm-up) is not timed. On a shared machine take the best of several
// trials: other processes only ever make a trial slower.
func MeasureGFLOPS(s Shape, trials int, minTime time.Duration) Measurement {
	trials = max(1, trials)
	r := rand.New(rand.NewPCG(1, 2))
	ar, ac := s.M, s.K
	if s.TransA {
		ar, ac = s.K, s.M
	}
	br, bc := s.K, s.N
	if s.TransB {
		br, bc = s.N, s.K
	}
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	a, b, c := fill(ar*ac), fill(br*bc), fill(s.M*s.N)
	call := func() { Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, ac, b, bc, 0, c, s.N) }
	call()
	best := 0.0
	for t := 0; t < trials; t++ {
		n := 0
		start := time.Now()
		var el time.Duration
		for {
			call()
			n++
			if el = time.Since(start); el >= minTime {
				break
			}
		}
		if per := el.Seconds() / float64(n); best == 0 || per < best {
			best = per
		}
	}
	return Measurement{Shape: s, Path: Path(), Threads: runtime.GOMAXPROCS(0), Seconds: best, GFLOPS: s.Flops() / best / 1e9}
}

// MatmulSummary is what `tkx bench backend` reports as matmul_gflops and
// matmul_peak_share.
type MatmulSummary struct {
	Path       string
	Threads    int
	CPU        CPUInfo
	PeakGFLOPS float64 // PeakGFLOPS() for the path
	// GFLOPS is the aggregate rate over Results: total flops divided by the
	// sum of the best per-call times (a flop-weighted harmonic mean).
	GFLOPS    float64
	PeakShare float64 // GFLOPS / PeakGFLOPS
	Results   []Measurement
}

// MeasureMatmul measures the given shapes (TransformerShapes(2048) when nil)
// on the active path with MeasureGFLOPS and summarises them.
func MeasureMatmul(shapes []Shape, trials int, minTime time.Duration) MatmulSummary {
	if shapes == nil {
		shapes = TransformerShapes(2048)
	}
	sum := MatmulSummary{Path: Path(), Threads: runtime.GOMAXPROCS(0), CPU: CPU(), PeakGFLOPS: PeakGFLOPS()}
	var flops, secs float64
	for _, s := range shapes {
		m := MeasureGFLOPS(s, trials, minTime)
		sum.Results = append(sum.Results, m)
		flops += s.Flops()
		secs += m.Seconds
	}
	if secs > 0 {
		sum.GFLOPS = flops / secs / 1e9
	}
	if sum.PeakGFLOPS > 0 {
		sum.PeakShare = sum.GFLOPS / sum.PeakGFLOPS
	}
	return sum
}
