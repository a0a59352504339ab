package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

var vecLens = []int{0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 288, 1000}

func TestDotAxpyScale(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range vecLens {
			x, y := randSlice(r, n), randSlice(r, n)
			var want, bound float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
				bound += math.Abs(float64(x[i]) * float64(y[i]))
			}
			got := Dot(x, y)
			if err := math.Abs(float64(got) - want); err > float64(n+1)*0x1p-24*bound {
				t.Errorf("Dot n=%d: %g, want %g", n, got, want)
			}
			if again := Dot(x, y); math.Float32bits(again) != math.Float32bits(got) {
				t.Errorf("Dot n=%d not deterministic: %g then %g", n, got, again)
			}

			a := float32(r.NormFloat64())
			y0 := append([]float32(nil), y...)
			Axpy(a, x, y)
			for i := range y {
				w := float64(y0[i]) + float64(a)*float64(x[i])
				if err := math.Abs(float64(y[i]) - w); err > 2*0x1p-24*(math.Abs(float64(y0[i]))+math.Abs(float64(a*x[i]))) {
					t.Fatalf("Axpy n=%d: y[%d] = %g, want %g", n, i, y[i], w)
				}
			}

			x0 := append([]float32(nil), x...)
			Scale(a, x)
			for i := range x {
				if x[i] != a*x0[i] {
					t.Fatalf("Scale n=%d: x[%d] = %g, want %g", n, i, x[i], a*x0[i])
				}
			}
		}
	})
}

// TestAxpyPositionIndependent: identical inputs give identical bits at every
// index (vector body or tail).
func TestAxpyPositionIndependent(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		for _, n := range []int{5, 21, 47} {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				// Values where a*x+y rounds differently with and without FMA.
				x[i], y[i] = 1.3897349834442139, 1.055098533630371
			}
			Axpy(-1.46254301071167, x, y)
			for i := range y {
				if math.Float32bits(y[i]) != math.Float32bits(y[0]) {
					t.Fatalf("n=%d: y[%d] = %g differs from y[0] = %g", n, i, y[i], y[0])
				}
			}
		}
	})
}

func TestVecLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Dot":     func() { Dot(make([]float32, 3), make([]float32, 4)) },
		"Axpy":    func() { Axpy(1, make([]float32, 3), make([]float32, 4)) },
		"Exp":     func() { Exp(make([]float32, 3), make([]float32, 4)) },
		"Softmax": func() { Softmax(make([]float32, 3), make([]float32, 4)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with mismatched lengths did not panic", name)
				}
			}()
			f()
		}()
	}
}

// expRelTol is the documented accuracy of Exp in the normal range.
const expRelTol = 2e-7

func TestExp(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		// A dense sweep of the normal range plus random points.
		var xs []float32
		for x := -87.3; x <= 88.7; x += 0.0137 {
			xs = append(xs, float32(x))
		}
		r := rand.New(rand.NewPCG(1, 3))
		for i := 0; i < 2000; i++ {
			xs = append(xs, float32(r.NormFloat64()*3))
		}
		got := make([]float32, len(xs))
		Exp(got, xs)
		worst := 0.0
		for i, x := range xs {
			w := math.Exp(float64(x))
			rel := math.Abs(float64(got[i])-w) / w
			worst = max(worst, rel)
			if !(rel <= expRelTol) {
				t.Fatalf("Exp(%g) = %g, want %g (rel err %.3g)", x, got[i], w, rel)
			}
		}
		t.Logf("worst relative error %.3g over %d points", worst, len(xs))

		nan := float32(math.NaN())
		inf := float32(math.Inf(1))
		special := []float32{0, -0.0, 1, 89, 100, inf, -88, -104, -200, float32(math.Inf(-1)), nan}
		out := make([]float32, len(special))
		Exp(out, special)
		check := func(i int, ok bool, want string) {
			if !ok {
				t.Errorf("Exp(%g) = %g, want %s", special[i], out[i], want)
			}
		}
		check(0, out[0] == 1, "1")
		check(1, out[1] == 1, "1")
		check(2, math.Abs(float64(out[2])-math.E) < 1e-6, "e")
		check(3, math.IsInf(float64(out[3]), 1), "+Inf")
		check(4, math.IsInf(float64(out[4]), 1), "+Inf")
		check(5, math.IsInf(float64(out[5]), 1), "+Inf")
		check(6, out[6] >= 0 && out[6] < 1.2e-38, "a tiny non-negative value")
		check(7, out[7] >= 0 && out[7] < 1e-44, "≈0")
		check(8, out[8] == 0, "0")
		check(9, out[9] == 0, "0")
		check(10, out[10] != out[10], "NaN")

		// Position independence: the same input gives the same bits at any
		// index (vector body or tail) and in place.
		in := make([]float32, 37)
		for i := range in {
			in[i] = 1.2345
		}
		o := make([]float32, len(in))
		Exp(o, in)
		Exp(in, in)
		for i := range o {
			if math.Float32bits(o[i]) != math.Float32bits(o[0]) || math.Float32bits(in[i]) != math.Float32bits(o[0]) {
				t.Fatalf("Exp(1.2345) differs by position or aliasing at %d: %g vs %g", i, o[i], o[0])
			}
		}
	})
}

func TestSoftmax(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 2))
		for _, n := range []int{1, 5, 16, 17, 288} {
			x := randSlice(r, n)
			for i := range x {
				x[i] *= 10
			}
			x[0] = 500 // large values must not overflow
			var mx float64 = -math.MaxFloat64
			for _, v := range x {
				mx = max(mx, float64(v))
			}
			var s float64
			for _, v := range x {
				s += math.Exp(float64(v) - mx)
			}
			out := make([]float32, n)
			Softmax(out, x)
			var total float64
			for i, v := range out {
				w := math.Exp(float64(x[i])-mx) / s
				if math.Abs(float64(v)-w) > 1e-6*max(w, 1e-30)+1e-38 {
					t.Fatalf("n=%d: softmax[%d] = %g, want %g", n, i, v, w)
				}
				total += float64(v)
			}
			if math.Abs(total-1) > 1e-5 {
				t.Fatalf("n=%d: softmax sums to %g", n, total)
			}
		}
		Softmax(nil, nil)
	})
}

// TestExpSameBitsAcrossSIMDPaths: the AVX2 exp applies 2^n in two exact
// steps so that it rounds exactly like VSCALEFPS; both paths give the same
// bits, subnormal results included.
func TestExpSameBitsAcrossSIMDPaths(t *testing.T) {
	if available[PathAVX512] == nil || available[PathAVX2] == nil {
		t.Skip("needs both the avx512 and avx2 paths")
	}
	r := rand.New(rand.NewPCG(4, 4))
	xs := make([]float32, 20000)
	for i := range xs {
		xs[i] = float32(r.Float64()*200 - 110) // covers overflow, subnormals, 0
	}
	xs[0], xs[1] = float32(math.NaN()), -0.0
	run := func(path string) []float32 {
		prev, _ := SetPath(path)
		defer SetPath(prev)
		out := make([]float32, len(xs))
		Exp(out, xs)
		return out
	}
	a, b := run(PathAVX512), run(PathAVX2)
	for i := range xs {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			t.Fatalf("Exp(%g): avx512 %g (%#x) != avx2 %g (%#x)", xs[i], a[i], math.Float32bits(a[i]), b[i], math.Float32bits(b[i]))
		}
	}
}
