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
	// in L1 while a worker sweeps row blocks of A. Changing it (or
	// kcBlockTA) changes the bits of results with k above it.
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
// C must not overlap A or B. Sgemm panics with the error from CheckSgemm
// when the dimensions, strides or slice lengths are inconsistent (a
// programming error, like an index out of range); callers handling
// untrusted shapes should call CheckSgemm first.
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

// job holds one Sgemm call's operands and blocking; its methods are the
// tasks. Serial calls run the tasks directly on a job on the stack; parallel
// calls hand a heap copy to the goroutines, so small calls do not allocate.
type job struct {
	im                *impl
	m, n, k           int
	alpha, beta       float32
	a                 []float32
	lda, rsA, csA     int
	b                 []float32 // B as read by the kernels (packed or not)
	ldb, rsB          int
	c                 []float32
	ldc               int
	tB, pack          bool
	rb, cp, gr, gc    int // row blocks, column panels, blocks/panels per task
	tc                int // tasks per row of the task grid
	kcb               int
	dotPer, dotChunk  int // gemmDot: column groups per task, k chunk
	packSrc           []float32
	packLd, packCount int
}

// Task kinds for job.run.
const (
	taskPack = iota
	taskTile
	taskDot
)

func (j *job) do(kind, t int) {
	switch kind {
	case taskPack:
		j.packPanel(t)
	case taskTile:
		j.tileTask(t)
	default:
		j.dotTask(t)
	}
}

// run executes tasks 0..ntasks-1 of a kind on up to workers goroutines.
// (A task kind rather than a func value keeps j on the caller's stack.)
func (j *job) run(workers, ntasks, kind int) {
	if workers <= 1 || ntasks <= 1 {
		for t := 0; t < ntasks; t++ {
			j.do(kind, t)
		}
		return
	}
	jp := new(job)
	*jp = *j
	parallelTasks(workers, ntasks, func(t int) { jp.do(kind, t) })
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
	j := job{im: im, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, tB: tB}
	if tB && !tA && m <= DotMaxM {
		j.gemmDot(workers)
		return
	}
	mr, nr := im.mr, im.nr
	j.rsA, j.csA = lda, 1
	if tA {
		j.rsA, j.csA = 1, lda
	}
	j.rb, j.cp = ceilDiv(m, mr), ceilDiv(n, nr)

	// B operand: packed panel-major (panel jb at jb*k*nr, row p at +p*nr,
	// zero-padded to nr columns) or read in place.
	j.rsB = ldb
	j.pack = tB || m >= packMinM
	var buf *[]float32
	if j.pack {
		buf = getBuf(j.cp * k * nr)
		j.packSrc, j.packLd = b, ldb
		j.b, j.rsB = *buf, nr
		j.run(min(workers, j.cp), j.cp, taskPack)
	}

	// Split the tile grid into rectangular tasks (ranges of row blocks ×
	// ranges of column panels), about 4 per worker, handed out through an
	// atomic counter. Which goroutine runs a task does not matter for the
	// result: a task computes its tiles completely, with the k chunks in
	// order, so every C element is written by exactly one goroutine.
	j.kcb = kcBlock
	if tA {
		j.kcb = kcBlockTA
	}
	tr, tc := taskGrid(j.rb, j.cp, workers)
	j.gr, j.gc = ceilDiv(j.rb, tr), ceilDiv(j.cp, tc)
	tr, j.tc = ceilDiv(j.rb, j.gr), ceilDiv(j.cp, j.gc)
	j.run(workers, tr*j.tc, taskTile)
	if buf != nil {
		bufPool.Put(buf)
	}
}

// tileTask computes task t of the tile grid.
func (j *job) tileTask(t int) {
	mr, nr := j.im.mr, j.im.nr
	r0, c0 := (t/j.tc)*j.gr, (t%j.tc)*j.gc
	r1, c1 := min(j.rb, r0+j.gr), min(j.cp, c0+j.gc)
	for k0 := 0; k0 < j.k; k0 += j.kcb {
		kc := min(j.kcb, j.k-k0)
		bt, lc := j.beta, j.beta != 0
		if k0 > 0 {
			bt, lc = 1, true
		}
		mcBlocks := max(1, mcBytes/(kc*4*mr))
		for ib0 := r0; ib0 < r1; ib0 += mcBlocks {
			ib1 := min(r1, ib0+mcBlocks)
			for jb := c0; jb < c1; jb++ {
				col := jb * nr
				cols := min(nr, j.n-col)
				bo := k0*j.ldb + col
				if j.pack {
					bo = jb*j.k*nr + k0*nr
				}
				for ib := ib0; ib < ib1; ib++ {
					// Balanced row blocks: rb blocks of ⌊m/rb⌋ or ⌈m/rb⌉ ≤ mr
					// rows, instead of full blocks and one thin remainder.
					i, i1 := ib*j.m/j.rb, (ib+1)*j.m/j.rb
					j.im.tile(kc, i1-i, cols, j.a, i*j.rsA+k0*j.csA, j.rsA, j.csA, j.b, bo, j.rsB, j.c, i*j.ldc+col, j.ldc, j.alpha, bt, lc)
				}
			}
		}
	}
}

// packPanel writes panel jb of op(B) (k×n) into j.b, panel-major: columns
// jb*nr..jb*nr+nr-1 as k rows of nr floats, zero-padded past n.
func (j *job) packPanel(jb int) {
	k, n, nr, b, ldb := j.k, j.n, j.im.nr, j.packSrc, j.packLd
	j0 := jb * nr
	cols := min(nr, n-j0)
	panel := j.b[jb*k*nr : (jb+1)*k*nr]
	if !j.tB {
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
}

// gemmDot computes C = alpha*A·Bᵀ + beta*C (A m×k, B n×k, both read along k)
// with the dot kernels; tasks are ranges of column groups of dotCols.
func (j *job) gemmDot(workers int) {
	groups := ceilDiv(j.n, j.im.dotCols)
	j.dotChunk = j.k
	if j.im.name == PathGeneric {
		j.dotChunk = kcBlock // same chunking as tileGeneric: rows independent of m
	}
	j.dotPer = groups
	if workers > 1 {
		j.dotPer = max(1, groups/(workers*tasksPerWorker))
	}
	j.run(workers, ceilDiv(groups, j.dotPer), taskDot)
}

func (j *job) dotTask(t int) {
	dr, dc := j.im.dotRows, j.im.dotCols
	groups := ceilDiv(j.n, dc)
	g0, g1 := t*j.dotPer, min(groups, (t+1)*j.dotPer)
	m, n, a, lda, b, ldb, c, ldc := j.m, j.n, j.a, j.lda, j.b, j.ldb, j.c, j.ldc
	for k0 := 0; k0 < j.k; k0 += j.dotChunk {
		kc := min(j.dotChunk, j.k-k0)
		bt, lc := j.beta, j.beta != 0
		if k0 > 0 {
			bt, lc = 1, true
		}
		// Full groups in runs of up to dotRun (the B rows of a run stay in
		// L1 while every row block uses them), then a partial group.
		full := min(g1, n/dc)
		for gs := g0; gs < full; gs += dotRun {
			ng := min(dotRun, full-gs)
			col := gs * dc
			for i := 0; i < m; i += dr {
				j.im.dot(kc, min(dr, m-i), dc, ng, a, i*lda+k0, lda, b, col*ldb+k0, ldb, c, i*ldc+col, ldc, j.alpha, bt, lc)
			}
		}
		if g1 > full {
			col := full * dc
			for i := 0; i < m; i += dr {
				j.im.dot(kc, min(dr, m-i), n-col, 1, a, i*lda+k0, lda, b, col*ldb+k0, ldb, c, i*ldc+col, ldc, j.alpha, bt, lc)
			}
		}
	}
}
