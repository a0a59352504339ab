//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// registerAsm registers the assembly paths the CPU (and OS) support.
// x/sys/cpu reports AVX/AVX-512 only when the OS saves the vector state.
func registerAsm() {
	x := cpu.X86
	if x.HasAVX2 && x.HasFMA {
		register(&impl{
			name: PathAVX2, lanes: 8, mr: 6, nr: 16,
			tile: tile256,
			dot:  dotTile256, dotRows: 2, dotCols: 4,
			vdot: vdot256, vaxpy: vaxpy256, vscale: vscale256, vexp: vexp256,
		})
	}
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX2 && x.HasFMA {
		register(&impl{
			name: PathAVX512, lanes: 16, mr: mr512, nr: 32,
			tile: tile512,
			dot:  dotTile512, dotRows: 4, dotCols: 4,
			vdot: vdot512, vaxpy: vaxpy512, vscale: vscale512, vexp: vexp512,
		})
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// tile512 runs the AVX-512 rows×32 kernel. Columns ≥ cols are masked off:
// neither read from B nor from/to C.
func tile512(kc, rows, cols int, a []float32, ao, rsA, csA int, b []float32, bo, rsB int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	mask := uint32(0xFFFFFFFF)
	if cols < 32 {
		mask = uint32(1)<<uint(cols) - 1
	}
	gemm512Rows[rows](kc, &a[ao], uintptr(rsA*4), uintptr(csA*4), &b[bo], uintptr(rsB*4), &c[co], uintptr(ldc*4), alpha, beta, mask, b2u(loadC))
}

// tile256 runs the AVX2 rows×16 kernel, which always reads 16 columns of B
// and writes 16 columns of C. For an edge tile (cols < 16) the B columns are
// copied into a zero-padded scratch panel and C goes through a scratch tile.
func tile256(kc, rows, cols int, a []float32, ao, rsA, csA int, b []float32, bo, rsB int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	if cols == 16 {
		gemm256Rows[rows](kc, &a[ao], uintptr(rsA*4), uintptr(csA*4), &b[bo], uintptr(rsB*4), &c[co], uintptr(ldc*4), alpha, beta, 0, b2u(loadC))
		return
	}
	var bs [kcBlock * 16]float32
	var cs [6 * 16]float32
	for p := 0; p < kc; p++ {
		copy(bs[p*16:p*16+cols], b[bo+p*rsB:bo+p*rsB+cols])
	}
	if loadC {
		for r := 0; r < rows; r++ {
			copy(cs[r*16:r*16+cols], c[co+r*ldc:co+r*ldc+cols])
		}
	}
	gemm256Rows[rows](kc, &a[ao], uintptr(rsA*4), uintptr(csA*4), &bs[0], 16*4, &cs[0], 16*4, alpha, beta, 0, b2u(loadC))
	for r := 0; r < rows; r++ {
		copy(c[co+r*ldc:co+r*ldc+cols], cs[r*16:r*16+cols])
	}
}

func dotTile512(k, rows, cols, groups int, a []float32, ao, lda int, b []float32, bo, ldb int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	_ = b[bo+(groups*cols-1)*ldb+k-1] // bounds of the last B row read
	dot512Tiles[rows][cols](k/16, &a[ao], uintptr(lda*4), &b[bo], uintptr(ldb*4), &c[co], uintptr(ldc*4), alpha, beta, uint32(1)<<uint(k%16)-1, b2u(loadC), groups)
}

// tailMasks256[t] has the first t lanes set (VMASKMOVPS uses the sign bit).
var tailMasks256 = func() (m [8][8]int32) {
	for t := range m {
		for i := 0; i < t; i++ {
			m[t][i] = -1
		}
	}
	return
}()

func dotTile256(k, rows, cols, groups int, a []float32, ao, lda int, b []float32, bo, ldb int, c []float32, co, ldc int, alpha, beta float32, loadC bool) {
	var tail *int32
	if t := k % 8; t != 0 {
		tail = &tailMasks256[t][0]
	}
	for g := 0; g < groups; g++ {
		dot256Tiles[rows][cols](k/8, &a[ao], uintptr(lda*4), &b[bo+g*cols*ldb], uintptr(ldb*4), &c[co+g*cols], uintptr(ldc*4), alpha, beta, tail, b2u(loadC))
	}
}

func vdot512(x, y []float32) float32 {
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = dot512(&x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		s += float32(x[i] * y[i])
	}
	return s
}

func vdot256(x, y []float32) float32 {
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = dot256(&x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		s += float32(x[i] * y[i])
	}
	return s
}

// vaxpy512: the tail goes through padded copies so that every element gets
// the same single-rounding FMA as the vector body.
func vaxpy512(a float32, x, y []float32) {
	n := len(x) &^ 15
	if n > 0 {
		axpy512(a, &x[0], &y[0], n)
	}
	if t := len(x) - n; t > 0 {
		var bx, by [16]float32
		copy(bx[:], x[n:])
		copy(by[:], y[n:])
		axpy512(a, &bx[0], &by[0], 16)
		copy(y[n:], by[:t])
	}
}

func vaxpy256(a float32, x, y []float32) {
	n := len(x) &^ 7
	if n > 0 {
		axpy256(a, &x[0], &y[0], n)
	}
	if t := len(x) - n; t > 0 {
		var bx, by [8]float32
		copy(bx[:], x[n:])
		copy(by[:], y[n:])
		axpy256(a, &bx[0], &by[0], 8)
		copy(y[n:], by[:t])
	}
}

func vscale512(a float32, x []float32) {
	n := len(x) &^ 15
	if n > 0 {
		scale512(a, &x[0], n)
	}
	for i := n; i < len(x); i++ {
		x[i] *= a
	}
}

func vscale256(a float32, x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		scale256(a, &x[0], n)
	}
	for i := n; i < len(x); i++ {
		x[i] *= a
	}
}

// vexp512 runs the AVX-512 exp on whole vectors and on a padded copy of the
// tail, so every element sees the same arithmetic.
func vexp512(dst, src []float32) {
	n := len(src) &^ 15
	if n > 0 {
		exp512(&dst[0], &src[0], n)
	}
	if t := len(src) - n; t > 0 {
		var buf [16]float32
		copy(buf[:], src[n:])
		exp512(&buf[0], &buf[0], 16)
		copy(dst[n:], buf[:t])
	}
}

// vexp256 is vexp512 for AVX2 (same arithmetic and the same bits).
func vexp256(dst, src []float32) {
	n := len(src) &^ 7
	if n > 0 {
		exp256(&dst[0], &src[0], n)
	}
	if t := len(src) - n; t > 0 {
		var buf [8]float32
		copy(buf[:], src[n:])
		exp256(&buf[0], &buf[0], 8)
		copy(dst[n:], buf[:t])
	}
}
