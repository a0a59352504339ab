package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchShapes() []Shape {
	shapes := TrainingShapes(2048)
	for _, m := range []int{1, 16} {
		for _, s := range TransformerShapes(m) {
			s.Name = fmt.Sprintf("decode%d-%s", m, s.Name)
			shapes = append(shapes, s)
		}
	}
	return shapes
}

// BenchmarkSgemm reports GFLOPS per path and shape. The machine may be
// shared: compare best-of-N (-count=N) figures, not single runs.
func BenchmarkSgemm(b *testing.B) {
	for _, path := range []string{PathAVX512, PathAVX2, PathGeneric} {
		b.Run(path, func(b *testing.B) {
			prev, err := SetPath(path)
			if err != nil {
				b.Skipf("CPU lacks %s: %v", path, err)
			}
			defer SetPath(prev)
			for _, s := range benchShapes() {
				if path == PathGeneric && s.M > 16 && s.Name != "qkv" {
					continue // the portable path is slow; one big shape is enough
				}
				b.Run(s.String(), func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					a, bb, c := randSlice(r, s.M*s.K), randSlice(r, s.K*s.N), randSlice(r, s.M*s.N)
					lda, ldb := s.K, s.N
					if s.TransA {
						lda = s.M
					}
					if s.TransB {
						ldb = s.K
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bb, ldb, 0, c, s.N)
					}
					b.ReportMetric(s.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
				})
			}
		})
	}
}

func BenchmarkVec(b *testing.B) {
	for _, path := range []string{PathAVX512, PathAVX2, PathGeneric} {
		b.Run(path, func(b *testing.B) {
			prev, err := SetPath(path)
			if err != nil {
				b.Skipf("CPU lacks %s: %v", path, err)
			}
			defer SetPath(prev)
			r := rand.New(rand.NewPCG(1, 1))
			x, y := randSlice(r, 288), randSlice(r, 288)
			b.Run("Dot288", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Dot(x, y)
				}
			})
			b.Run("Axpy288", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Axpy(0.5, x, y)
				}
			})
			b.Run("Exp288", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Exp(y, x)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/288, "ns/elem")
			})
			b.Run("Softmax288", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Softmax(y, x)
				}
			})
		})
	}
}

// BenchmarkSgemmTiny measures the fixed cost of a call (validation,
// dispatch) on problems too small to amortise anything.
func BenchmarkSgemmTiny(b *testing.B) {
	for _, sz := range []int{1, 4, 16} {
		for _, tB := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/%d", transName(false, tB), sz), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				x, y, c := randSlice(r, sz*sz), randSlice(r, sz*sz), make([]float32, sz*sz)
				for i := 0; i < b.N; i++ {
					Sgemm(false, tB, sz, sz, sz, 1, x, sz, y, sz, 0, c, sz)
				}
			})
		}
	}
}
