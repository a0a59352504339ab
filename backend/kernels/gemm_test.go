package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// withPaths runs fn once per kernel path this CPU supports, with that path
// forced. Paths the CPU lacks are reported as skipped subtests.
func withPaths(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, name := range []string{PathAVX512, PathAVX2, PathGeneric} {
		t.Run(name, func(t *testing.T) {
			prev, err := SetPath(name)
			if err != nil {
				t.Skipf("CPU lacks the %s path: %v", name, err)
			}
			defer SetPath(prev)
			fn(t)
		})
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// refGemm is the float64 reference; it also returns, per element, the bound
// scale |alpha|·Σ|a||b| + |beta·c0| used for the error tolerance.
func refGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if tA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if tB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			sc := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
				sc += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			want[i*n+j] = v
			scale[i*n+j] = sc
		}
	}
	return
}

type gemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	pad         int // extra stride on lda, ldb, ldc
}

func (g gemmCase) String() string {
	return fmt.Sprintf("%s m=%d n=%d k=%d alpha=%g beta=%g pad=%d", transName(g.tA, g.tB), g.m, g.n, g.k, g.alpha, g.beta, g.pad)
}

// setup builds operands for a case: stored shapes with the padded strides,
// sentinel values in the padding.
func (g gemmCase) setup(r *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := g.m, g.k
	if g.tA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.tB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc = max(1, ac)+g.pad, max(1, bc)+g.pad, max(1, g.n)+g.pad
	a = randSlice(r, max(0, (ar-1)*lda+ac))
	b = randSlice(r, max(0, (br-1)*ldb+bc))
	c = randSlice(r, max(0, (g.m-1)*ldc+g.n))
	return
}

func checkCase(t *testing.T, g gemmCase, seed uint64, serial bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	a, lda, b, ldb, c, ldc := g.setup(r)
	a0, b0, c0 := append([]float32(nil), a...), append([]float32(nil), b...), append([]float32(nil), c...)
	want, scale := refGemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	if serial {
		SgemmSerial(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	} else {
		Sgemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	}
	// Worst-case bound for a float32 sum of k products plus the epilogue.
	tol := float64(g.k+3) * 0x1p-24
	bad := 0
	for i := 0; i < g.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			idx := i*ldc + j
			if j >= g.n {
				if math.Float32bits(c[idx]) != math.Float32bits(c0[idx]) {
					t.Fatalf("%v: C padding [%d,%d] changed from %g to %g", g, i, j, c0[idx], c[idx])
				}
				continue
			}
			got, w := float64(c[idx]), want[i*g.n+j]
			if err := math.Abs(got - w); !(err <= tol*scale[i*g.n+j]+1e-30) {
				if bad < 5 {
					t.Errorf("%v: C[%d,%d] = %.9g, want %.9g (err %.3g > bound %.3g)", g, i, j, got, w, err, tol*scale[i*g.n+j])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%v: %d wrong elements", g, bad)
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(a0[i]) {
			t.Fatalf("%v: A modified at %d", g, i)
		}
	}
	for i := range b {
		if math.Float32bits(b[i]) != math.Float32bits(b0[i]) {
			t.Fatalf("%v: B modified at %d", g, i)
		}
	}
}

var testShapes = [][3]int{
	{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {129, 257, 31},
	{1, 384, 128}, {1, 1, 300}, {3, 5, 513}, // decode, k over one chunk
	{16, 384, 128}, {17, 50, 40}, {31, 33, 64}, {32, 32, 32}, // around DotMaxM / packMinM
	{9, 33, 600}, {64, 96, 256}, {100, 31, 257}, {2, 2, 1000},
	{5, 288, 16}, {200, 16, 8}, {8, 32, 1}, {6, 16, 9},
}

func TestSgemmAgainstFloat64(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		seed := uint64(1)
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, s := range testShapes {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1.5, 0.25}} {
						seed++
						pad := int(seed%2) * 3 // lda, ldb, ldc larger than needed on every other case
						checkCase(t, gemmCase{tA, tB, s[0], s[1], s[2], ab[0], ab[1], pad}, seed, seed%3 == 0)
					}
				}
			}
		}
	})
}

// TestSgemmRandomShapes covers many shape/edge combinations cheaply.
func TestSgemmRandomShapes(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(42, 42))
		for it := 0; it < 150; it++ {
			g := gemmCase{
				tA: r.IntN(2) == 1, tB: r.IntN(2) == 1,
				m: 1 + r.IntN(70), n: 1 + r.IntN(80), k: 1 + r.IntN(300),
				alpha: float32(r.NormFloat64()), beta: []float32{0, 1, -0.5}[r.IntN(3)],
				pad: r.IntN(4),
			}
			checkCase(t, g, uint64(it), it%3 == 0)
		}
	})
}

func TestSgemmBetaZeroIgnoresC(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		for _, tB := range []bool{false, true} {
			for _, m := range []int{1, 9, 70} {
				n, k := 37, 20
				r := rand.New(rand.NewPCG(3, uint64(m)))
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				c := make([]float32, m*n)
				for i := range c {
					c[i] = float32(math.NaN())
				}
				ldb := n
				if tB {
					ldb = k
				}
				Sgemm(false, tB, m, n, k, 1, a, k, b, ldb, 0, c, n)
				for i, v := range c {
					if v != v {
						t.Fatalf("tB=%v m=%d: C[%d] is NaN after beta=0", tB, m, i)
					}
				}
			}
		}
	})
}

func TestSgemmAlphaZeroOrKZero(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		nan := float32(math.NaN())
		a := []float32{nan, nan, nan, nan}
		b := []float32{nan, nan, nan, nan}
		c := []float32{1, 2, 3, 4}
		Sgemm(false, false, 2, 2, 2, 0, a, 2, b, 2, 0.5, c, 2)
		if c[0] != 0.5 || c[3] != 2 {
			t.Fatalf("alpha=0: C = %v, want beta*C = [0.5 1 1.5 2]", c)
		}
		Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
		for _, v := range c {
			if v != 0 {
				t.Fatalf("k=0, beta=0: C = %v, want zeros", c)
			}
		}
		c = []float32{1, 2, 3, 4}
		Sgemm(true, true, 2, 2, 0, 1, nil, 2, nil, 1, 1, c, 2)
		if c[0] != 1 || c[3] != 4 {
			t.Fatalf("k=0, beta=1: C = %v, want unchanged", c)
		}
		Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
	})
}

func bitsEqual(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// TestSgemmDeterministic: repeated calls, Sgemm vs SgemmSerial and different
// GOMAXPROCS all give the same bits.
func TestSgemmDeterministic(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		for _, g := range []gemmCase{
			{false, true, 300, 200, 130, 1, 0, 0},
			{false, false, 257, 129, 300, 0.7, 1, 1},
			{true, false, 96, 160, 700, 1, 0, 0},
			{true, true, 70, 90, 50, 1, -1, 2},
			{false, true, 9, 700, 300, 1, 0, 0}, // dot path, split across workers
		} {
			r := rand.New(rand.NewPCG(9, 9))
			a, lda, b, ldb, c0, ldc := g.setup(r)
			run := func(procs int, serial bool) []float32 {
				old := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(old)
				c := append([]float32(nil), c0...)
				if serial {
					SgemmSerial(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
				} else {
					Sgemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
				}
				return c
			}
			ref := run(2, false)
			for _, v := range []struct {
				procs  int
				serial bool
			}{{2, false}, {1, false}, {3, false}, {8, false}, {2, true}} {
				if i := bitsEqual(ref, run(v.procs, v.serial)); i >= 0 {
					t.Fatalf("%v: GOMAXPROCS=%d serial=%v differs at %d", g, v.procs, v.serial, i)
				}
			}
		}
	})
}

// TestSgemmRowIndependence: a row of C has the same bits whether computed
// alone or in a batch (within the shape classes the package comment names).
func TestSgemmRowIndependence(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		n, k := 70, 300
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			tA, tB := tr[0], tr[1]
			classes := [][]int{{1, 5, 16, 17, 31, 40, 100}}
			if tB && !tA && Path() != PathGeneric {
				// Dot kernels up to DotMaxM, tiles above: compare within each class.
				classes = [][]int{{1, 3, 9, DotMaxM}, {DotMaxM + 1, 40, 100}}
			}
			for _, cls := range classes {
				mMax := cls[len(cls)-1]
				r := rand.New(rand.NewPCG(5, uint64(mMax)))
				a := randSlice(r, mMax*k)
				lda := k
				if tA {
					lda = mMax // stored k×mMax; fewer rows of op(A) keep lda
				}
				ldb := n
				if tB {
					ldb = k
				}
				b := randSlice(r, n*k)
				full := make([]float32, mMax*n)
				Sgemm(tA, tB, mMax, n, k, 1, a, lda, b, ldb, 0, full, n)
				for _, m := range cls[:len(cls)-1] {
					c := make([]float32, m*n)
					Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
					if i := bitsEqual(c, full[:m*n]); i >= 0 {
						t.Fatalf("%s: row %d differs between m=%d and m=%d", transName(tA, tB), i/n, m, mMax)
					}
				}
			}
		}
	})
}

func TestCheckSgemm(t *testing.T) {
	f := make([]float32, 100)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"neg", CheckSgemm(false, false, -1, 2, 2, f, 2, f, 2, f, 2), "negative dimension"},
		{"lda", CheckSgemm(false, false, 2, 2, 3, f, 2, f, 2, f, 2), "lda=2 < 3"},
		{"ldaT", CheckSgemm(true, false, 4, 2, 3, f, 3, f, 2, f, 2), "lda=3 < 4"},
		{"ldb", CheckSgemm(false, true, 2, 5, 3, f, 3, f, 2, f, 5), "ldb=2 < 3"},
		{"ldc", CheckSgemm(false, false, 2, 5, 3, f, 3, f, 5, f, 4), "ldc=4 < n=5"},
		{"lena", CheckSgemm(false, false, 20, 2, 10, f, 10, f, 2, f, 2), "len(a)=100 < 200"},
		{"lenb", CheckSgemm(false, false, 2, 20, 10, f, 10, f, 20, f, 20), "len(b)=100 < 200"},
		{"lenc", CheckSgemm(false, false, 20, 10, 1, f, 1, f, 10, f, 10), "len(c)=100 < 200"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", c.name, c.err, c.want)
		}
	}
	if err := CheckSgemm(true, true, 3, 4, 5, f, 3, f, 5, f, 4); err != nil {
		t.Errorf("valid TT call rejected: %v", err)
	}
	defer func() {
		r := recover()
		if err, ok := r.(error); !ok || !strings.Contains(err.Error(), "len(c)") {
			t.Fatalf("Sgemm with short C: recovered %v, want the CheckSgemm error", r)
		}
	}()
	Sgemm(false, false, 20, 10, 1, 1, f, 1, f, 10, 0, f, 10)
}

// TestSgemmSmallDoesNotAllocate: decode-sized calls stay on the calling
// goroutine without heap allocations (calls that pack B use a sync.Pool
// buffer, which a GC may drop, so they are not checked here).
func TestSgemmSmallDoesNotAllocate(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		a, b, c := randSlice(r, 64*128), randSlice(r, 128*384), make([]float32, 64*384)
		for _, v := range []struct {
			tA, tB  bool
			m, n, k int
		}{{false, true, 1, 384, 128}, {false, true, 16, 50, 33}, {false, false, 4, 64, 32}, {true, false, 8, 16, 16}} {
			lda, ldb := v.k, v.n
			if v.tA {
				lda = v.m
			}
			if v.tB {
				ldb = v.k
			}
			call := func() { SgemmSerial(v.tA, v.tB, v.m, v.n, v.k, 1, a, lda, b, ldb, 0, c, v.n) }
			call()
			if n := testing.AllocsPerRun(20, call); n > 0 {
				t.Errorf("tA=%v tB=%v m=%d n=%d k=%d: %v allocations per call", v.tA, v.tB, v.m, v.n, v.k, n)
			}
		}
	})
}

// TestSgemmConcurrentCallers: Sgemm may be called from several goroutines at
// once (training and sampling share the kernels); each call still gives the
// bits a lone serial call gives.
func TestSgemmConcurrentCallers(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	cases := []gemmCase{
		{false, true, 130, 96, 70, 1, 0, 0},
		{true, false, 64, 80, 300, 1, 0, 0},
		{false, false, 3, 200, 50, 1, 0, 0},
		{false, true, 5, 300, 64, 1, 0, 0},
	}
	type opnd struct {
		a, b, want []float32
		lda, ldb   int
	}
	ops := make([]opnd, len(cases))
	for i, g := range cases {
		a, lda, b, ldb, _, _ := g.setup(r)
		want := make([]float32, g.m*g.n)
		SgemmSerial(g.tA, g.tB, g.m, g.n, g.k, 1, a, lda, b, ldb, 0, want, g.n)
		ops[i] = opnd{a, b, want, lda, ldb}
	}
	errs := make(chan string, 64)
	done := make(chan bool)
	for w := 0; w < 8; w++ {
		go func() {
			defer func() { done <- true }()
			for it := 0; it < 10; it++ {
				i := (w + it) % len(cases)
				g, o := cases[i], ops[i]
				c := make([]float32, g.m*g.n)
				Sgemm(g.tA, g.tB, g.m, g.n, g.k, 1, o.a, o.lda, o.b, o.ldb, 0, c, g.n)
				if j := bitsEqual(c, o.want); j >= 0 {
					errs <- fmt.Sprintf("%v: element %d differs under concurrency", g, j)
					return
				}
			}
		}()
	}
	for w := 0; w < 8; w++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
