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
	Seconds float64 // best wall time per call
	GFLOPS  float64 // Flops / Seconds / 1e9
	// CPUSeconds is the best process CPU time (user+system, all threads)
	// per call, 0 where the OS does not report it. On a machine shared with
	// other busy processes the wall-clock rate mostly measures them, while
	// Flops/CPUSeconds is the rate per core actually obtained.
	CPUSeconds    float64
	GFLOPSPerCore float64 // Flops / CPUSeconds / 1e9 (0 if unknown)
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
	best, bestCPU := 0.0, 0.0
	for t := 0; t < trials; t++ {
		n := 0
		cpu0 := processCPUSeconds()
		start := time.Now()
		var el time.Duration
		for {
			call()
			n++
			if el = time.Since(start); el >= minTime {
				break
			}
		}
		cpu := (processCPUSeconds() - cpu0) / float64(n)
		if per := el.Seconds() / float64(n); best == 0 || per < best {
			best = per
		}
		if cpu > 0 && (bestCPU == 0 || cpu < bestCPU) {
			bestCPU = cpu
		}
	}
	m := Measurement{Shape: s, Path: Path(), Threads: runtime.GOMAXPROCS(0), Seconds: best, GFLOPS: s.Flops() / best / 1e9, CPUSeconds: bestCPU}
	if bestCPU > 0 {
		m.GFLOPSPerCore = s.Flops() / bestCPU / 1e9
	}
	return m
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
	// GFLOPSPerCore is the aggregate rate per CPU-second (total flops over
	// the sum of the best CPU times), 0 if the OS does not report CPU time.
	// PeakSharePerCore compares it with the one-core peak. On a busy shared
	// machine these are the meaningful efficiency figures; GFLOPS is what a
	// caller actually got.
	GFLOPSPerCore    float64
	PeakSharePerCore float64
	Results          []Measurement
}

// MeasureMatmul measures the given shapes (TransformerShapes(2048) when nil)
// on the active path with MeasureGFLOPS and summarises them.
func MeasureMatmul(shapes []Shape, trials int, minTime time.Duration) MatmulSummary {
	if shapes == nil {
		shapes = TransformerShapes(2048)
	}
	sum := MatmulSummary{Path: Path(), Threads: runtime.GOMAXPROCS(0), CPU: CPU(), PeakGFLOPS: PeakGFLOPS()}
	var flops, secs, cpu float64
	cpuKnown := true
	for _, s := range shapes {
		m := MeasureGFLOPS(s, trials, minTime)
		sum.Results = append(sum.Results, m)
		flops += s.Flops()
		secs += m.Seconds
		cpu += m.CPUSeconds
		cpuKnown = cpuKnown && m.CPUSeconds > 0
	}
	if secs > 0 {
		sum.GFLOPS = flops / secs / 1e9
	}
	if sum.PeakGFLOPS > 0 {
		sum.PeakShare = sum.GFLOPS / sum.PeakGFLOPS
	}
	if cpuKnown && cpu > 0 {
		sum.GFLOPSPerCore = flops / cpu / 1e9
		if sum.CPU.Cores > 0 && sum.PeakGFLOPS > 0 {
			sum.PeakSharePerCore = sum.GFLOPSPerCore / (sum.PeakGFLOPS / float64(sum.CPU.Cores))
		}
	}
	return sum
}
