package kernels

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	// kcBlock is the k-chunk length: panels of kcBlock×nr floats of B stay
	// in L1 while a worker sweeps row blocks of A.
	kcBlock = 256
	// kcBlockTA is the k-chunk for transA products: their A micro-panel
	// touches a new cache line per k step, so a shorter chunk keeps A and
	// the B panel together in L1.
	kcBlockTA = 128
	// dotRun: column groups per dot-kernel call.
	dotRun = 16
	// tasksPerWorker: tile-grid tasks per goroutine, for load balance.
	tasksPerWorker = 4
	// mcBytes bounds the A rows one sweep touches (kept in L2).
	mcBytes = 1 << 20
	// DotMaxM is the largest m for which NT products use dot kernels.
	DotMaxM = 16
	// packMinM: below this m, NN/TN products read B in place instead of
	// packing it (packing costs a pass over k×n that few rows cannot repay).
	packMinM = 32
	// minFlopsPerWorker: a goroutine is only started for at least this much
	// work (2·m·n·k), so small products stay on the calling goroutine.
	minFlopsPerWorker = 4 << 20
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n,
// C is m×n. lda, ldb, ldc are row strides of the stored matrices (A is stored
// m×k, or k×m when transA; B k×n, or n×k when transB).
//
// As in BLAS, beta == 0 overwrites C without reading it (NaNs in C do not
// propagate), and alpha == 0 or k == 0 only scales C by beta without reading
// A or B. Work is split over up to runtime.GOMAXPROCS goroutines; see the
// package comment for the determinism guarantees.
//
// C must not overlap A or B. Sgemm panics with the error from CheckSgemm when the dimensions, strides or
// slice lengths are inconsistent (a programming error, like an index out of
// range); callers handling untrusted shapes should call CheckSgemm first.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := CheckSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	gemm(current.Load(), runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already parallelise at a higher level (e.g. attention heads). Its results
// are bitwise identical to Sgemm's.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := CheckSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	gemm(current.Load(), 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// CheckSgemm reports whether the arguments describe valid matrices, with an
// error naming the offending argument.
func CheckSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("kernels.Sgemm: negative dimension m=%d n=%d k=%d", m, n, k)
	}
	const lim = math.MaxInt32
	if m > lim || n > lim || k > lim {
		return fmt.Errorf("kernels.Sgemm: dimension too large m=%d n=%d k=%d", m, n, k)
	}
	check := func(name string, rows, cols int, x []float32, ld int, trans bool, shape string) error {
		if ld > lim {
			return fmt.Errorf("kernels.Sgemm: ld%s=%d too large", name, ld)
		}
		if ld < max(1, cols) {
			return fmt.Errorf("kernels.Sgemm: ld%s=%d < %d (%s is stored %d×%d row-major, trans%s=%v)", name, ld, max(1, cols), shape, rows, cols, strings.ToUpper(name), trans)
		}
		if rows > 0 && cols > 0 {
			if need := uint64(rows-1)*uint64(ld) + uint64(cols); uint64(len(x)) < need {
				return fmt.Errorf("kernels.Sgemm: len(%s)=%d < %d needed for a stored %d×%d matrix with ld%s=%d", shape, len(x), need, rows, cols, name, ld)
			}
		}
		return nil
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	if err := check("a", ar, ac, a, lda, transA, "a"); err != nil {
		return err
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := check("b", br, bc, b, ldb, transB, "b"); err != nil {
		return err
	}
	if ldc < max(1, n) || ldc > lim {
		if ldc > lim {
			return fmt.Errorf("kernels.Sgemm: ldc=%d too large", ldc)
		}
		return fmt.Errorf("kernels.Sgemm: ldc=%d < n=%d", ldc, n)
	}
	if m > 0 && n > 0 {
		if need := uint64(m-1)*uint64(ldc) + uint64(n); uint64(len(c)) < need {
			return fmt.Errorf("kernels.Sgemm: len(c)=%d < %d needed for %d×%d C with ldc=%d", len(c), need, m, n, ldc)
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// taskGrid picks how many row-block ranges (tr) and column-panel ranges (tc)
// to cut an rb×cp tile grid into: about tasksPerWorker tasks per worker,
// splitting rows first (whole rows of tiles share the A block in cache).
func taskGrid(rb, cp, workers int) (tr, tc int) {
	if workers <= 1 {
		return 1, 1
	}
	want := workers * tasksPerWorker
	tr = min(rb, want)
	tc = min(cp, ceilDiv(want, tr))
	return tr, tc
}

// parallelTasks runs fn(0..ntasks-1) on up to workers goroutines (the
// calling one included), each claiming the next task from a shared counter,
// so a goroutine slowed down by other load on its core simply takes fewer
// tasks.
func parallelTasks(workers, ntasks int, fn func(t int)) {
	workers = min(workers, ntasks)
	if workers <= 1 {
		for t := 0; t < ntasks; t++ {
			fn(t)
		}
		return
	}
	var next atomic.Int64
	parallel(workers, func(int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= ntasks {
				return
			}
			fn(t)
		}
	})
}

// parallel runs fn(0..workers-1), fn(0) on the calling goroutine.
func parallel(workers int, fn func(w int)) {
	if workers <= 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			fn(w)
		}()
	}
	fn(0)
	wg.Wait()
}

var bufPool sync.Pool

func getBuf(n int) *[]float32 {
	if v, ok := bufPool.Get().(*[]float32); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]float32, n)
	return &s
}

// scaleC sets C = beta*C (C = 0 without reading it when beta == 0).
func scaleC(beta float32, m, n int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func gemm(im *impl, maxWorkers int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(beta, m, n, c, ldc)
		return
	}
	workers := min(maxWorkers, max(1, int(2*float64(m)*float64(n)*float64(k)/minFlopsPerWorker)))
	if tB && !tA && m <= DotMaxM {
		gemmDot(im, workers, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	mr, nr := im.mr, im.nr
	rsA, csA := lda, 1
	if tA {
		rsA, csA = 1, lda
	}
	rb, cp := ceilDiv(m, mr), ceilDiv(n, nr)

	// B operand: packed panel-major (panel jb at jb*k*nr, row p at +p*nr,
	// zero-padded to nr columns) or read in place.
	bp, rsB := b, ldb
	pack := tB || m >= packMinM
	var buf *[]float32
	if pack {
		buf = getBuf(cp * k * nr)
		bp, rsB = *buf, nr
		packB(tB, k, n, nr, b, ldb, bp, min(workers, cp))
	}
	boff := func(jb, k0 int) int {
		if pack {
			return jb*k*nr + k0*nr
		}
		return k0*ldb + jb*nr
	}

	// Split the tile grid into rectangular tasks (ranges of row blocks ×
	// ranges of column panels), about 4 per worker, handed out through an
	// atomic counter. Which goroutine runs a task does not matter for the
	// result: a task computes its tiles completely, with the k chunks in
	// order, so every C element is written by exactly one goroutine.
	kcb := kcBlock
	if tA {
		kcb = kcBlockTA
	}
	tr, tc := taskGrid(rb, cp, workers)
	gr, gc := ceilDiv(rb, tr), ceilDiv(cp, tc)
	tr, tc = ceilDiv(rb, gr), ceilDiv(cp, gc)
	parallelTasks(workers, tr*tc, func(t int) {
		r0, c0 := (t/tc)*gr, (t%tc)*gc
		r1, c1 := min(rb, r0+gr), min(cp, c0+gc)
		for k0 := 0; k0 < k; k0 += kcb {
			kc := min(kcb, k-k0)
			bt, lc := beta, beta != 0
			if k0 > 0 {
				bt, lc = 1, true
			}
			mcBlocks := max(1, mcBytes/(kc*4*mr))
			for ib0 := r0; ib0 < r1; ib0 += mcBlocks {
				ib1 := min(r1, ib0+mcBlocks)
				for jb := c0; jb < c1; jb++ {
					j := jb * nr
					cols := min(nr, n-j)
					bo := boff(jb, k0)
					for ib := ib0; ib < ib1; ib++ {
						i := ib * mr
						im.tile(kc, min(mr, m-i), cols, a, i*rsA+k0*csA, rsA, csA, bp, bo, rsB, c, i*ldc+j, ldc, alpha, bt, lc)
					}
				}
			}
		}
	})
	if buf != nil {
		bufPool.Put(buf)
	}
}

// packB writes op(B) (k×n) panel-major into dst: panel jb holds columns
// jb*nr..jb*nr+nr-1 as k rows of nr floats, zero-padded past n.
func packB(tB bool, k, n, nr int, b []float32, ldb int, dst []float32, workers int) {
	cp := ceilDiv(n, nr)
	parallelTasks(workers, cp, func(jb int) {
		j0 := jb * nr
		cols := min(nr, n-j0)
		panel := dst[jb*k*nr : (jb+1)*k*nr]
		if !tB {
			for p := 0; p < k; p++ {
				row := panel[p*nr : p*nr+nr]
				copy(row, b[p*ldb+j0:p*ldb+j0+cols])
				clear(row[cols:])
			}
			return
		}
		if cols < nr {
			clear(panel)
		}
		const pb = 64
		for p0 := 0; p0 < k; p0 += pb {
			p1 := min(k, p0+pb)
			for jj := 0; jj < cols; jj++ {
				src := b[(j0+jj)*ldb+p0 : (j0+jj)*ldb+p1]
				d := panel[p0*nr+jj:]
				for p, v := range src {
					d[p*nr] = v
				}
			}
		}
	})
}

// gemmDot computes C = alpha*A·Bᵀ + beta*C (A m×k, B n×k, both read along k)
// with the dot kernels; columns are split over workers in groups of dotCols.
func gemmDot(im *impl, workers, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	dr, dc := im.dotRows, im.dotCols
	groups := ceilDiv(n, dc)
	chunk := k
	if im.name == PathGeneric {
		chunk = kcBlock // same chunking as tileGeneric: rows independent of m
	}
	// Tasks are ranges of column groups, about tasksPerWorker per worker.
	per := max(1, groups/max(1, workers*tasksPerWorker))
	if workers <= 1 {
		per = groups
	}
	parallelTasks(workers, ceilDiv(groups, per), func(t int) {
		g0, g1 := t*per, min(groups, (t+1)*per)
		for k0 := 0; k0 < k; k0 += chunk {
			kc := min(chunk, k-k0)
			bt, lc := beta, beta != 0
			if k0 > 0 {
				bt, lc = 1, true
			}
			// Full groups in runs of up to dotRun (the B rows of a run stay
			// in L1 while every row block uses them), then a partial group.
			full := min(g1, n/dc)
			for gs := g0; gs < full; gs += dotRun {
				ng := min(dotRun, full-gs)
				j := gs * dc
				for i := 0; i < m; i += dr {
					im.dot(kc, min(dr, m-i), dc, ng, a, i*lda+k0, lda, b, j*ldb+k0, ldb, c, i*ldc+j, ldc, alpha, bt, lc)
				}
			}
			if g1 > full {
				j := full * dc
				for i := 0; i < m; i += dr {
					im.dot(kc, min(dr, m-i), n-j, 1, a, i*lda+k0, lda, b, j*ldb+k0, ldb, c, i*ldc+j, ldc, alpha, bt, lc)
				}
			}
		}
	})
}
