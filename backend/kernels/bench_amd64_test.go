//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMicroKernel times the register-tile kernels alone with operands in
// L1 (kc=256): the ceiling the full Sgemm driver can approach on one core.
func BenchmarkMicroKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const kc = 256
	a := randSlice(r, 16*kc)
	bp := randSlice(r, kc*32)
	c := make([]float32, 16*32)
	for _, v := range []struct {
		path string
		fn   func()
		fl   float64
	}{
		{PathAVX512, func() { tile512(kc, mr512, 32, a, 0, kc, 1, bp, 0, 32, c, 0, 32, 1, 0, false) }, 2 * mr512 * 32 * kc},
		{PathAVX2, func() { tile256(kc, 6, 16, a, 0, kc, 1, bp, 0, 16, c, 0, 16, 1, 0, false) }, 2 * 6 * 16 * kc},
		{PathGeneric, func() { tileGeneric(kc, 4, 16, a, 0, kc, 1, bp, 0, 16, c, 0, 16, 1, 0, false) }, 2 * 4 * 16 * kc},
	} {
		b.Run(v.path, func(b *testing.B) {
			if available[v.path] == nil {
				b.Skipf("CPU lacks %s", v.path)
			}
			for i := 0; i < b.N; i++ {
				v.fn()
			}
			b.ReportMetric(v.fl*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
