package kernels

// Opt-in tuning report for shared machines: wall-clock benchmarks there
// mostly measure the other processes, so this measures single-core rates by
// the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID), best of 15 trials:
//
//	TKX_KERNELS_TUNE=1 GOMAXPROCS=1 go test -run TestThreadCPURate -v ./backend/kernels
//	TKX_KERNELS_TUNE=1 TKX_KERNELS=avx2 GOMAXPROCS=1 go test -run TestThreadCPURate -v ./backend/kernels
//
// Cache pollution by the other processes still shows; run it twice and take
// the better figure.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func threadCPU() float64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

func TestThreadCPURate(t *testing.T) {
	if os.Getenv("TKX_KERNELS_TUNE") == "" {
		t.Skip("set TKX_KERNELS_TUNE=1 to run the single-core tuning report")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	shapes := append(TrainingShapes(2048), AttentionShapes(256, 32)...)
	for _, m := range []int{1, 16} {
		for _, s := range TransformerShapes(m) {
			s.Name = fmt.Sprintf("decode%d-%s", m, s.Name)
			shapes = append(shapes, s)
		}
	}
	for _, s := range shapes {
		r := rand.New(rand.NewPCG(1, 2))
		a, b, c := randSlice(r, s.M*s.K), randSlice(r, s.K*s.N), randSlice(r, s.M*s.N)
		lda, ldb := s.K, s.N
		if s.TransA {
			lda = s.M
		}
		if s.TransB {
			ldb = s.K
		}
		best := 1e9
		reps := max(1, int(2e7/s.Flops()))
		trials := 15
		if Path() == PathGeneric {
			reps, trials = 1, 2
		}
		for trial := 0; trial < trials; trial++ {
			t0 := threadCPU()
			for i := 0; i < reps; i++ {
				SgemmSerial(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N)
			}
			best = min(best, (threadCPU()-t0)/float64(reps))
		}
		t.Logf("%-8s %-36s %7.1f GFLOPS (1 core, thread CPU time)", Path(), s, s.Flops()/best/1e9)
	}
}

// TestMatmulSummary prints what `tkx bench backend` reports (MeasureMatmul
// on the default shapes, wall clock, all GOMAXPROCS threads) for each path:
//
//	TKX_KERNELS_TUNE=1 go test -run TestMatmulSummary -v ./backend/kernels
func TestMatmulSummary(t *testing.T) {
	if os.Getenv("TKX_KERNELS_TUNE") == "" {
		t.Skip("set TKX_KERNELS_TUNE=1 to run the matmul summary")
	}
	for _, p := range Paths() {
		if p == PathGeneric {
			continue
		}
		prev, _ := SetPath(p)
		s := MeasureMatmul(nil, 9, 30*time.Millisecond)
		SetPath(prev)
		for _, m := range s.Results {
			t.Logf("%-7s %-32s %7.1f GFLOPS wall, %7.1f per CPU-second", p, m.Shape, m.GFLOPS, m.GFLOPSPerCore)
		}
		t.Logf("%-7s matmul_gflops=%.1f peak=%.1f (%d cores × %.2f GHz from %s) matmul_peak_share=%.3f; per core %.1f GFLOPS = %.3f of a core's peak",
			p, s.GFLOPS, s.PeakGFLOPS, s.CPU.Cores, s.CPU.GHz, s.CPU.GHzSource, s.PeakShare, s.GFLOPSPerCore, s.PeakSharePerCore)
	}
}
