// Package model is the local backend's transformer: a Llama/Qwen-style
// decoder (token embedding, RMSNorm, rotary positions, causal multi-head
// attention, SwiGLU MLP, tied or untied unembedding) with a hand-written
// backward pass for every layer, LoRA adapters, AdamW, the Tinker losses,
// a KV-cache sampler and a safetensors checkpoint format.
//
// The numeric code is generic over float32 and float64: the engine uses
// float32 (Model = Net[float32], matrix products through kernels.Sgemm); the
// float64 instantiation of the same code is the reference for the
// finite-difference gradient checks.
//
// Determinism: every parallel loop writes disjoint outputs, work partitions
// depend only on the problem shape (never on the number of cores), and every
// reduction runs in a fixed order, so results are bitwise reproducible for a
// given binary and CPU path.
package model

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tkx-dev/tkx/backend/kernels"
)

// Float is the element type of the model's tensors.
type Float interface {
	~float32 | ~float64
}

// gemm computes C = alpha*op(A)*op(B) + beta*C (row-major, BLAS semantics).
// float32 goes through kernels.Sgemm (which splits the work over the cores
// deterministically), float64 through a plain loop split into row blocks
// whose boundaries depend only on the shape.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if av, ok := any(a).([]float32); ok {
		kernels.Sgemm(transA, transB, m, n, k, float32(alpha), av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	const block = 16
	if m <= block || m*n*k < 1<<16 {
		gemm1(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallelRows(m, block, func(i0, i1 int) {
		ao := i0 * lda
		if transA {
			ao = i0
		}
		gemm1(transA, transB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
	})
}

// gemm1 is gemm on the calling goroutine (for callers that already run in
// parallel, e.g. per attention head).
func gemm1[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	switch av := any(a).(type) {
	case []float32:
		kernels.SgemmSerial(transA, transB, m, n, k, float32(alpha), av, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		dgemm(transA, transB, m, n, k, float64(alpha), av, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		panic("model: unsupported float type")
	}
}

// dgemm is the float64 reference product (fixed k order).
func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	row := make([]float64, n)
	for i := 0; i < m; i++ {
		for j := range row {
			row[j] = 0
		}
		for p := 0; p < k; p++ {
			var av float64
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if av == 0 {
				continue
			}
			if transB {
				for j := 0; j < n; j++ {
					row[j] += av * b[j*ldb+p]
				}
			} else {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					row[j] += av * bv
				}
			}
		}
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for j := range ci {
				ci[j] = alpha * row[j]
			}
		} else {
			for j := range ci {
				ci[j] = alpha*row[j] + beta*ci[j]
			}
		}
	}
}

// parallelFor runs fn(0..n-1) on up to GOMAXPROCS goroutines. Each index
// must write disjoint memory, so the result does not depend on scheduling.
func parallelFor(n int, fn func(i int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(w)
	for g := 0; g < w; g++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// parallelRows runs fn over [lo,hi) row blocks of fixed size.
func parallelRows(n, block int, fn func(lo, hi int)) {
	nb := (n + block - 1) / block
	parallelFor(nb, func(p int) {
		lo := p * block
		fn(lo, min(n, lo+block))
	})
}

func exp[T Float](x T) T { return T(math.Exp(float64(x))) }

// vexp sets x[i] = e^x[i]: kernels.Exp (vectorised, about 1 ulp) for
// float32 when fast, math.Exp element by element otherwise.
func vexp[T Float](x []T, fast bool) {
	if fast {
		if x32, ok := any(x).([]float32); ok {
			kernels.Exp(x32, x32)
			return
		}
	}
	for i, v := range x {
		x[i] = T(math.Exp(float64(v)))
	}
}
func sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }
