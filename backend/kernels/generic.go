package kernels

// Arithmetic on the generic path is written as float32(x*y) + z: the
// explicit conversion forbids the compiler from fusing the multiply and add
// into an FMA (Go's spec allows fusion otherwise, and arm64 or GOAMD64=v3
// builds would fuse some expressions but not others), so the generic path
// gives the same bits on every architecture and keeps its rows independent
// of m.

// genericImpl is the portable path: the same blocking and partitioning as the
// assembly paths with a pure-Go 4×16 register tile.
func genericImpl() *impl {
	return &impl{
		name: PathGeneric, lanes: 1, mr: 4, nr: 16,
		tile: tileGeneric,
		dot:  dotGeneric, dotRows: 1, dotCols: 1,
		vdot: dotGo, vaxpy: axpyGo, vscale: scaleGo, vexp: expGo,
	}
}

// tileGeneric accumulates each C element as a sequential sum over p starting
// from zero, then C = alpha*acc + beta*C — the same expression dotGeneric
// uses, so the generic path's rows do not depend on m. Pairs of rows × 4
// columns are kept in 8 scalar accumulators (registers); leftovers go
// through tileGenericEdge with the same per-element arithmetic.
func tileGeneric(kc, rows, cols int, a []float32, ao, rsA, csA int, b []float32, bo, rsB int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	r := 0
	for ; r+2 <= rows; r += 2 {
		j := 0
		for ; j+4 <= cols; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			ai0, ai1 := ao+r*rsA, ao+(r+1)*rsA
			bi := bo + j
			for p := 0; p < kc; p++ {
				a0, a1 := a[ai0], a[ai1]
				bb := b[bi : bi+4 : bi+4]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				s00 += float32(a0 * b0)
				s01 += float32(a0 * b1)
				s02 += float32(a0 * b2)
				s03 += float32(a0 * b3)
				s10 += float32(a1 * b0)
				s11 += float32(a1 * b1)
				s12 += float32(a1 * b2)
				s13 += float32(a1 * b3)
				ai0 += csA
				ai1 += csA
				bi += rsB
			}
			storeGeneric(c[co+r*ldc+j:co+r*ldc+j+4], s00, s01, s02, s03, alpha, beta, loadC)
			storeGeneric(c[co+(r+1)*ldc+j:co+(r+1)*ldc+j+4], s10, s11, s12, s13, alpha, beta, loadC)
		}
		if j < cols {
			tileGenericEdge(kc, r, r+2, j, cols, a, ao, rsA, csA, b, bo, rsB, c, co, ldc, alpha, beta, loadC)
		}
	}
	if r < rows {
		tileGenericEdge(kc, r, rows, 0, cols, a, ao, rsA, csA, b, bo, rsB, c, co, ldc, alpha, beta, loadC)
	}
}

func storeGeneric(cr []float32, s0, s1, s2, s3, alpha, beta float32, loadC bool) {
	cr = cr[:4]
	if loadC {
		cr[0] = float32(alpha*s0) + float32(beta*cr[0])
		cr[1] = float32(alpha*s1) + float32(beta*cr[1])
		cr[2] = float32(alpha*s2) + float32(beta*cr[2])
		cr[3] = float32(alpha*s3) + float32(beta*cr[3])
		return
	}
	cr[0] = alpha * s0
	cr[1] = alpha * s1
	cr[2] = alpha * s2
	cr[3] = alpha * s3
}

// tileGenericEdge handles rows r0..r1-1 × columns j0..j1-1 one element at a
// time.
func tileGenericEdge(kc, r0, r1, j0, j1 int, a []float32, ao, rsA, csA int, b []float32, bo, rsB int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	for r := r0; r < r1; r++ {
		for j := j0; j < j1; j++ {
			var s float32
			ai, bi := ao+r*rsA, bo+j
			for p := 0; p < kc; p++ {
				s += float32(a[ai] * b[bi])
				ai += csA
				bi += rsB
			}
			ci := co + r*ldc + j
			if loadC {
				c[ci] = float32(alpha*s) + float32(beta*c[ci])
			} else {
				c[ci] = alpha * s
			}
		}
	}
}

// dotGeneric is the generic NT small-m kernel: one C element at a time with
// the same arithmetic as tileGeneric (k ≤ kcBlock per call).
func dotGeneric(k, rows, cols, groups int, a []float32, ao, lda int, b []float32, bo, ldb int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	cols *= groups
	for r := 0; r < rows; r++ {
		ar := a[ao+r*lda : ao+r*lda+k]
		for j := 0; j < cols; j++ {
			br := b[bo+j*ldb : bo+j*ldb+k]
			var s float32
			for p, av := range ar {
				s += float32(av * br[p])
			}
			ci := co + r*ldc + j
			if loadC {
				c[ci] = float32(alpha*s) + float32(beta*c[ci])
			} else {
				c[ci] = alpha * s
			}
		}
	}
}

func dotGo(x, y []float32) float32 {
	var s float32
	y = y[:len(x)]
	for i, v := range x {
		s += float32(v * y[i])
	}
	return s
}

func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(a * v)
	}
}

func scaleGo(a float32, x []float32) {
	for i := range x {
		x[i] *= a
	}
}
