package kernels

import (
	"fmt"
	"math"
)

// Dot returns Σ x[i]*y[i]. It panics if the lengths differ. The summation
// order is fixed for a given length and path (vector partial sums in a fixed
// tree), so it is deterministic but not the same as a sequential loop.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels.Dot: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	return current.Load().vdot(x, y)
}

// Axpy computes y += a*x element-wise. It panics if the lengths differ. On
// the SIMD paths every element is one fused multiply-add (one rounding); on
// the generic path a multiply and an add.
func Axpy(a float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels.Axpy: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	current.Load().vaxpy(a, x, y)
}

// Scale computes x *= a element-wise.
func Scale(a float32, x []float32) {
	current.Load().vscale(a, x)
}

// Exp sets dst[i] = e^src[i] (dst and src may be the same slice; it panics
// if the lengths differ). Relative error is below 2e-7 (about 1 ulp) for
// results in the normal float32 range; +Inf above ~88.72, NaN stays NaN.
// Results below the smallest normal float32 (src < -87.34) are subnormal,
// rounded once, and 0 below about -103.3. Every element goes through the same
// arithmetic whatever its position, so Exp is deterministic per path; the
// avx512 and avx2 paths give the same bits, the generic (scalar Go) path can
// differ from them in the last bit.
func Exp(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels.Exp: len(dst)=%d != len(src)=%d", len(dst), len(src)))
	}
	current.Load().vexp(dst, src)
}

// Softmax sets dst to the softmax of src (dst may alias src; lengths must
// match): exp(src[i]-max) / Σ exp(src[j]-max), with the sum taken in a fixed
// order (8 interleaved partial sums), so it is deterministic per path.
// An empty input is a no-op.
func Softmax(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels.Softmax: len(dst)=%d != len(src)=%d", len(dst), len(src)))
	}
	if len(src) == 0 {
		return
	}
	mx := maxF32(src)
	for i, v := range src {
		dst[i] = v - mx
	}
	Exp(dst, dst)
	Scale(1/sumF32(dst), dst)
}

// maxF32 returns the largest element (NaN if any element is NaN).
func maxF32(x []float32) float32 {
	m := x[0]
	var m4 [4]float32
	for i := range m4 {
		m4[i] = m
	}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		m4[0] = max(m4[0], v[0])
		m4[1] = max(m4[1], v[1])
		m4[2] = max(m4[2], v[2])
		m4[3] = max(m4[3], v[3])
	}
	for ; i < len(x); i++ {
		m = max(m, x[i])
	}
	return max(m, m4[0], m4[1], m4[2], m4[3])
}

// sumF32 sums x with 8 interleaved partial sums combined pairwise: a fixed
// order, so deterministic, and ~8x shorter dependency chains than a
// sequential loop.
func sumF32(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	t := ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
	for ; i < len(x); i++ {
		t += x[i]
	}
	return t
}

const (
	expLog2e = 1.44269504
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expHi    = 89
	expLo    = -104
)

// expf is the scalar exp used by the Go paths (Cephes expf: range reduction
// by ln2 in two steps and a degree-5 polynomial).
func expf(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, expLo), expHi)
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	// float32(...) conversions keep each product rounded (no FMA fusion),
	// so results are the same on every architecture.
	r := x - float32(n*expLn2Hi)
	r -= float32(n * expLn2Lo)
	p := float32(1.9875691500e-4)
	p = float32(p*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	p = float32(float32(p*r)*r) + r + 1
	ni := int(n)
	if ni >= -126 && ni <= 127 {
		return p * math.Float32frombits(uint32(ni+127)<<23)
	}
	return float32(math.Ldexp(float64(p), ni))
}

func expGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = expf(v)
	}
}
