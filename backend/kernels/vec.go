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

// Axpy computes y += a*x element-wise. It panics if the lengths differ.
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
// Results below the smallest normal float32 (src < -87.34) are subnormal or
// 0 depending on the path. Every element goes through the same arithmetic
// whatever its position, so Exp is deterministic per path.
func Exp(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels.Exp: len(dst)=%d != len(src)=%d", len(dst), len(src)))
	}
	current.Load().vexp(dst, src)
}

// Softmax sets dst to the softmax of src (dst may alias src; lengths must
// match): exp(src[i]-max) / Σ exp(src[j]-max), summed in index order.
// An empty input is a no-op.
func Softmax(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels.Softmax: len(dst)=%d != len(src)=%d", len(dst), len(src)))
	}
	if len(src) == 0 {
		return
	}
	mx := src[0]
	for _, v := range src[1:] {
		if v > mx {
			mx = v
		}
	}
	for i, v := range src {
		dst[i] = v - mx
	}
	Exp(dst, dst)
	var s float32
	for _, v := range dst {
		s += v
	}
	Scale(1/s, dst)
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
