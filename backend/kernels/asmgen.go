//go:build ignore

// asmgen writes kernels_amd64.s: the AVX-512 and AVX2/FMA micro-kernels used
// by Sgemm and the vector helpers. Run it with `go generate` (see gen.go);
// the output is committed, so building needs nothing but the Go toolchain.
//
// Every routine ends with VZEROUPPER before RET (see
// shared/reference/local-backend.md §2.3: dirty upper vector state makes later
// legacy-SSE code in the Go runtime pay transition penalties).
package main

import (
	"bytes"
	"fmt"
	"os"
)

var out bytes.Buffer

// mr512 is the AVX-512 register tile height (2 ZMM accumulators per row,
// at most 14: 28 accumulators + 2 B registers + 2 broadcast registers).
const mr512 = 14

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&out, "%s:\n", l) }

// Argument frame shared by the outer-product kernels (ABI0, 8-byte slots
// unless noted). Must match the Go declarations in kernels_amd64.go.
//
//	k int, a *float32, rsA, csA uintptr, b *float32, rsB uintptr,
//	c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32
const gemmArgs = "k+0(FP), a+8(FP), rsA+16(FP), csA+24(FP), b+32(FP), rsB+40(FP), c+48(FP), ldc+56(FP), alpha+64(FP), beta+68(FP), mask+72(FP), loadC+76(FP)"

// rowAddr512 returns the address of row r of the A micro-panel: rows 0..3
// are based at SI, 4..7 at DI, 8..11 at R13 and 12..13 at R14, with R8 = row
// stride and R9 = 3*stride.
func rowAddr512(r int) string {
	base := [...]string{"SI", "DI", "R13", "R14"}[r/4]
	switch r % 4 {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(R8*1)"
	case 2:
		return "(" + base + ")(R8*2)"
	default:
		return "(" + base + ")(R9*1)"
	}
}

// gemm512 emits the AVX-512 rows×32 outer-product kernel: for each of k steps
// it loads 32 floats of B (masked by K1/K2: columns beyond n are neither read
// nor written), broadcasts one A element per row and issues two VFMADD231PS
// per row into 2*rows ZMM accumulators. Each C element is the FMA chain over p
// in order, starting from zero, then C = alpha*acc (+ beta*C).
func gemm512(rows int) {
	fmt.Fprintf(&out, "// func gemm512R%d(k int, a *float32, rsA, csA uintptr, b *float32, rsB uintptr, c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32)\n", rows)
	fmt.Fprintf(&out, "TEXT ·gemm512R%d(SB), NOSPLIT, $0-80\n", rows)
	p("MOVQ k+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("MOVQ rsA+16(FP), R8")
	p("MOVQ csA+24(FP), R10")
	p("MOVQ b+32(FP), BX")
	p("MOVQ rsB+40(FP), R11")
	p("MOVQ c+48(FP), DX")
	p("MOVQ ldc+56(FP), R12")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (SI)(R8*4), DI")
	p("LEAQ (DI)(R8*4), R13")
	p("LEAQ (R13)(R8*4), R14")
	p("MOVL mask+72(FP), AX")
	p("KMOVW AX, K1")
	p("SHRL $16, AX")
	p("KMOVW AX, K2")
	for i := 0; i < 2*rows; i++ {
		p("VPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	step := func() {
		p("VMOVUPS.Z (BX), K1, Z28")
		p("VMOVUPS.Z 64(BX), K2, Z29")
		for r := 0; r < rows; r++ {
			br := 30 + r%2
			p("VBROADCASTSS %s, Z%d", rowAddr512(r), br)
			p("VFMADD231PS Z28, Z%d, Z%d", br, 2*r)
			p("VFMADD231PS Z29, Z%d, Z%d", br, 2*r+1)
		}
		p("ADDQ R10, SI")
		if rows > 4 {
			p("ADDQ R10, DI")
		}
		if rows > 8 {
			p("ADDQ R10, R13")
		}
		if rows > 12 {
			p("ADDQ R10, R14")
		}
		p("ADDQ R11, BX")
	}
	// Main loop two k steps per iteration, then an odd step.
	l := fmt.Sprintf("g512r%dloop", rows)
	odd := fmt.Sprintf("g512r%dodd", rows)
	done := fmt.Sprintf("g512r%dkdone", rows)
	p("MOVQ CX, AX")
	p("SHRQ $1, CX")
	p("JZ %s", odd)
	label(l)
	step()
	step()
	p("DECQ CX")
	p("JNZ %s", l)
	label(odd)
	p("TESTQ $1, AX")
	p("JZ %s", done)
	step()
	label(done)
	// Epilogue.
	p("VBROADCASTSS alpha+64(FP), Z30")
	p("VBROADCASTSS beta+68(FP), Z31")
	p("MOVL loadC+76(FP), AX")
	p("TESTL AX, AX")
	nl := fmt.Sprintf("g512r%dnoload", rows)
	p("JZ %s", nl)
	for r := 0; r < rows; r++ {
		if r > 0 {
			p("ADDQ R12, DX")
		}
		p("VMULPS Z30, Z%d, Z%d", 2*r, 2*r)
		p("VMULPS Z30, Z%d, Z%d", 2*r+1, 2*r+1)
		p("VMOVUPS.Z (DX), K1, Z28")
		p("VMOVUPS.Z 64(DX), K2, Z29")
		p("VFMADD231PS Z31, Z28, Z%d", 2*r)
		p("VFMADD231PS Z31, Z29, Z%d", 2*r+1)
		p("VMOVUPS Z%d, K1, (DX)", 2*r)
		p("VMOVUPS Z%d, K2, 64(DX)", 2*r+1)
	}
	p("VZEROUPPER")
	p("RET")
	label(nl)
	for r := 0; r < rows; r++ {
		if r > 0 {
			p("ADDQ R12, DX")
		}
		p("VMULPS Z30, Z%d, Z%d", 2*r, 2*r)
		p("VMULPS Z30, Z%d, Z%d", 2*r+1, 2*r+1)
		p("VMOVUPS Z%d, K1, (DX)", 2*r)
		p("VMOVUPS Z%d, K2, 64(DX)", 2*r+1)
	}
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// rowAddr256: rows 0..2 at SI, rows 3..5 at DI = SI+3*stride, R8 = stride.
func rowAddr256(r int) string {
	base := "SI"
	if r >= 3 {
		base = "DI"
		r -= 3
	}
	switch r {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(R8*1)"
	default:
		return "(" + base + ")(R8*2)"
	}
}

// gemm256 emits the AVX2/FMA rows×16 kernel (12 YMM accumulators at 6 rows).
// B must have 16 readable columns per row (the driver pads edge panels) and C
// must have 16 writable columns (the driver uses a scratch tile at the edge),
// so the mask argument is unused here.
func gemm256(rows int) {
	fmt.Fprintf(&out, "// func gemm256R%d(k int, a *float32, rsA, csA uintptr, b *float32, rsB uintptr, c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32)\n", rows)
	fmt.Fprintf(&out, "TEXT ·gemm256R%d(SB), NOSPLIT, $0-80\n", rows)
	p("MOVQ k+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("MOVQ rsA+16(FP), R8")
	p("MOVQ csA+24(FP), R10")
	p("MOVQ b+32(FP), BX")
	p("MOVQ rsB+40(FP), R11")
	p("MOVQ c+48(FP), DX")
	p("MOVQ ldc+56(FP), R12")
	p("LEAQ (SI)(R8*2), DI")
	p("ADDQ R8, DI")
	for i := 0; i < 2*rows; i++ {
		p("VXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	l := fmt.Sprintf("g256r%dloop", rows)
	label(l)
	p("VMOVUPS (BX), Y12")
	p("VMOVUPS 32(BX), Y13")
	for r := 0; r < rows; r++ {
		br := 14 + r%2
		p("VBROADCASTSS %s, Y%d", rowAddr256(r), br)
		p("VFMADD231PS Y12, Y%d, Y%d", br, 2*r)
		p("VFMADD231PS Y13, Y%d, Y%d", br, 2*r+1)
	}
	p("ADDQ R10, SI")
	if rows > 3 {
		p("ADDQ R10, DI")
	}
	p("ADDQ R11, BX")
	p("DECQ CX")
	p("JNZ %s", l)
	p("VBROADCASTSS alpha+64(FP), Y14")
	p("VBROADCASTSS beta+68(FP), Y15")
	p("MOVL loadC+76(FP), AX")
	p("TESTL AX, AX")
	nl := fmt.Sprintf("g256r%dnoload", rows)
	p("JZ %s", nl)
	for r := 0; r < rows; r++ {
		if r > 0 {
			p("ADDQ R12, DX")
		}
		p("VMULPS Y14, Y%d, Y%d", 2*r, 2*r)
		p("VMULPS Y14, Y%d, Y%d", 2*r+1, 2*r+1)
		p("VMOVUPS (DX), Y12")
		p("VMOVUPS 32(DX), Y13")
		p("VFMADD231PS Y15, Y12, Y%d", 2*r)
		p("VFMADD231PS Y15, Y13, Y%d", 2*r+1)
		p("VMOVUPS Y%d, (DX)", 2*r)
		p("VMOVUPS Y%d, 32(DX)", 2*r+1)
	}
	p("VZEROUPPER")
	p("RET")
	label(nl)
	for r := 0; r < rows; r++ {
		if r > 0 {
			p("ADDQ R12, DX")
		}
		p("VMULPS Y14, Y%d, Y%d", 2*r, 2*r)
		p("VMULPS Y14, Y%d, Y%d", 2*r+1, 2*r+1)
		p("VMOVUPS Y%d, (DX)", 2*r)
		p("VMOVUPS Y%d, 32(DX)", 2*r+1)
	}
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// Dot-kernel frame (C = alpha * A·Bᵀ + beta*C for a rows×cols tile where A is
// rows×k and B is cols×k, both with unit stride along k):
//
//	k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32,
//	ldc uintptr, alpha, beta float32, tail *int32 | tailMask uint32, loadC uint32
//
// Each element keeps its own vector accumulator over k in chunk order,
// then a fixed horizontal reduction tree, so the result of an element does not
// depend on which tile shape computed it.
func idx4(base string, r int, stride, stride3 string) string {
	switch r {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(" + stride + "*1)"
	case 2:
		return "(" + base + ")(" + stride + "*2)"
	default:
		return "(" + base + ")(" + stride3 + "*1)"
	}
}

func cAddr(r, col int) string {
	off := ""
	if col > 0 {
		off = fmt.Sprint(4 * col)
	}
	return off + idx4("DX", r, "R12", "R13")
}

// dot512 emits the AVX-512 rows×cols dot kernel (rows, cols ≤ 4). k is the
// number of full 16-float chunks; mask selects the elements of one extra
// trailing chunk (0: none).
func dot512(rows, cols int) {
	name := fmt.Sprintf("dot512R%dC%d", rows, cols)
	fmt.Fprintf(&out, "// func %s(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32, groups int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	p("MOVQ lda+16(FP), R8")
	p("MOVQ b+24(FP), R14")
	p("MOVQ ldb+32(FP), R10")
	p("MOVQ c+40(FP), DX")
	p("MOVQ ldc+48(FP), R12")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (R10)(R10*2), R11")
	p("LEAQ (R12)(R12*2), R13")
	p("VBROADCASTSS alpha+56(FP), Z30")
	p("VBROADCASTSS beta+60(FP), Z31")
	p("VPXORD Z28, Z28, Z28")
	p("VMOVDQU32 dotperm<>(SB), Z29")
	p("MOVL $%d, AX", (1<<cols)-1)
	p("KMOVW AX, K3")
	p("MOVL mask+64(FP), AX")
	p("KMOVW AX, K1")
	p("MOVL loadC+68(FP), AX")
	p("MOVQ groups+72(FP), BX")
	// One iteration per group of `cols` consecutive columns (rows of B).
	label(name + "group")
	p("MOVQ k+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("MOVQ R14, DI")
	acc := func(r, c int) int { return r*4 + c }
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			i := acc(r, c)
			p("VPXORD Z%d, Z%d, Z%d", i, i, i)
		}
	}
	body := func(masked bool) {
		z := ""
		k := ""
		if masked {
			z = ".Z"
			k = "K1, "
		}
		for r := 0; r < rows; r++ {
			p("VMOVUPS%s %s, %sZ%d", z, idx4("SI", r, "R8", "R9"), k, 16+r)
		}
		for c := 0; c < cols; c++ {
			p("VMOVUPS%s %s, %sZ%d", z, idx4("DI", c, "R10", "R11"), k, 20+c)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				p("VFMADD231PS Z%d, Z%d, Z%d", 20+c, 16+r, acc(r, c))
			}
		}
	}
	l := name + "loop"
	tl := name + "tail"
	p("TESTQ CX, CX")
	p("JZ %s", tl)
	label(l)
	body(false)
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ %s", l)
	label(tl)
	red := name + "reduce"
	p("KORTESTW K1, K1")
	p("JZ %s", red)
	body(true)
	label(red)
	// Reduce the (up to) four accumulators of a row together: the same
	// pairings as a per-element tree (256-bit halves, 128-bit halves, 64-bit
	// halves, neighbours), done four elements at a time with shuffles.
	for r := 0; r < rows; r++ {
		z := func(c int) string {
			if c < cols {
				return fmt.Sprintf("Z%d", acc(r, c))
			}
			return "Z28"
		}
		p("VSHUFF64X2 $0x44, %s, %s, Z24", z(1), z(0))
		p("VSHUFF64X2 $0xEE, %s, %s, Z25", z(1), z(0))
		p("VADDPS Z25, Z24, Z24")
		p("VSHUFF64X2 $0x44, %s, %s, Z26", z(3), z(2))
		p("VSHUFF64X2 $0xEE, %s, %s, Z25", z(3), z(2))
		p("VADDPS Z25, Z26, Z26")
		p("VSHUFF64X2 $0x88, Z26, Z24, Z25")
		p("VSHUFF64X2 $0xDD, Z26, Z24, Z27")
		p("VADDPS Z27, Z25, Z25")
		p("VSHUFPS $0x4E, Z25, Z25, Z27")
		p("VADDPS Z27, Z25, Z25")
		p("VMOVSHDUP Z25, Z27")
		p("VADDPS Z27, Z25, Z25")
		p("VPERMPS Z25, Z29, Z25") // elements 0,4,8,12 -> 0..3
		p("VMULPS X30, X25, X25")
		nl := fmt.Sprintf("%snoload%d", name, r)
		p("TESTL AX, AX")
		p("JZ %s", nl)
		p("VMOVUPS.Z %s, K3, X27", cAddr(r, 0))
		p("VFMADD231PS X31, X27, X25")
		label(nl)
		p("VMOVUPS X25, K3, %s", cAddr(r, 0))
	}
	p("ADDQ $%d, DX", 4*cols)
	if cols == 3 {
		p("ADDQ R11, R14")
	} else {
		p("LEAQ (R14)(R10*%d), R14", cols)
	}
	p("DECQ BX")
	p("JNZ %sgroup", name)
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// dot256 emits the AVX2 rows×cols dot kernel (rows ≤ 2, cols ≤ 4) over
// 8-float chunks; the trailing partial chunk is loaded with VMASKMOVPS using
// the 8 int32 lanes at tail (nil: no tail).
func dot256(rows, cols int) {
	name := fmt.Sprintf("dot256R%dC%d", rows, cols)
	fmt.Fprintf(&out, "// func %s(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32, tail *int32, loadC uint32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-76\n", name)
	p("MOVQ k+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("MOVQ lda+16(FP), R8")
	p("MOVQ b+24(FP), DI")
	p("MOVQ ldb+32(FP), R10")
	p("MOVQ c+40(FP), DX")
	p("MOVQ ldc+48(FP), R12")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (R10)(R10*2), R11")
	p("LEAQ (R12)(R12*2), R13")
	acc := func(r, c int) int { return r*4 + c }
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			i := acc(r, c)
			p("VXORPS Y%d, Y%d, Y%d", i, i, i)
		}
	}
	// A rows in Y8,Y9; B rows in Y10..Y13; Y15 tail mask.
	body := func(masked bool) {
		for r := 0; r < rows; r++ {
			if masked {
				p("VMASKMOVPS %s, Y15, Y%d", idx4("SI", r, "R8", "R9"), 8+r)
			} else {
				p("VMOVUPS %s, Y%d", idx4("SI", r, "R8", "R9"), 8+r)
			}
		}
		for c := 0; c < cols; c++ {
			if masked {
				p("VMASKMOVPS %s, Y15, Y%d", idx4("DI", c, "R10", "R11"), 10+c)
			} else {
				p("VMOVUPS %s, Y%d", idx4("DI", c, "R10", "R11"), 10+c)
			}
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				p("VFMADD231PS Y%d, Y%d, Y%d", 10+c, 8+r, acc(r, c))
			}
		}
	}
	l := name + "loop"
	tl := name + "tail"
	p("TESTQ CX, CX")
	p("JZ %s", tl)
	label(l)
	body(false)
	p("ADDQ $32, SI")
	p("ADDQ $32, DI")
	p("DECQ CX")
	p("JNZ %s", l)
	label(tl)
	p("MOVQ tail+64(FP), AX")
	p("TESTQ AX, AX")
	red := name + "reduce"
	p("JZ %s", red)
	p("VMOVUPS (AX), Y15")
	body(true)
	label(red)
	p("VMOVSS alpha+56(FP), X14")
	p("VMOVSS beta+60(FP), X15")
	p("MOVL loadC+72(FP), AX")
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			i := acc(r, c)
			p("VEXTRACTF128 $1, Y%d, X8", i)
			p("VADDPS X8, X%d, X%d", i, i)
			p("VMOVHLPS X%d, X%d, X8", i, i)
			p("VADDPS X8, X%d, X%d", i, i)
			p("VMOVSHDUP X%d, X8", i)
			p("VADDSS X8, X%d, X%d", i, i)
			p("VMULSS X14, X%d, X%d", i, i)
		}
	}
	nl := name + "noload"
	p("TESTL AX, AX")
	p("JZ %s", nl)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			p("VFMADD231SS %s, X15, X%d", cAddr(r, c), acc(r, c))
		}
	}
	label(nl)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			p("VMOVSS X%d, %s", acc(r, c), cAddr(r, c))
		}
	}
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// Vector helpers. Each processes n elements, n a multiple of the vector
// width (16 for AVX-512, 8 for AVX2); the Go wrapper handles the remainder.
// Dot uses four accumulators over 4-vector blocks, then one over the single
// vectors left, summed in a fixed order.
func vec(isa string) {
	w, reg, bytes := 16, "Z", 64
	zero := "VPXORD"
	if isa == "256" {
		w, reg, bytes = 8, "Y", 32
		zero = "VXORPS"
	}
	_ = w
	// dot
	name := "dot" + isa
	fmt.Fprintf(&out, "// func %s(x, y *float32, n int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	p("MOVQ x+0(FP), SI")
	p("MOVQ y+8(FP), DI")
	p("MOVQ n+16(FP), CX")
	for i := 0; i < 4; i++ {
		p("%s %s%d, %s%d, %s%d", zero, reg, i, reg, i, reg, i)
	}
	p("MOVQ CX, DX")
	p("SHRQ $%d, DX", log2(4*w))
	p("JZ %sone", name)
	label(name + "four")
	for i := 0; i < 4; i++ {
		p("VMOVUPS %d(SI), %s%d", i*bytes, reg, 4+i)
	}
	for i := 0; i < 4; i++ {
		p("VFMADD231PS %d(DI), %s%d, %s%d", i*bytes, reg, 4+i, reg, i)
	}
	p("ADDQ $%d, SI", 4*bytes)
	p("ADDQ $%d, DI", 4*bytes)
	p("DECQ DX")
	p("JNZ %sfour", name)
	label(name + "one")
	p("ANDQ $%d, CX", 4*w-1)
	p("SHRQ $%d, CX", log2(w))
	p("JZ %sred", name)
	label(name + "oneloop")
	p("VMOVUPS (SI), %s4", reg)
	p("VFMADD231PS (DI), %s4, %s0", reg, reg)
	p("ADDQ $%d, SI", bytes)
	p("ADDQ $%d, DI", bytes)
	p("DECQ CX")
	p("JNZ %soneloop", name)
	label(name + "red")
	p("VADDPS %s1, %s0, %s0", reg, reg, reg)
	p("VADDPS %s3, %s2, %s2", reg, reg, reg)
	p("VADDPS %s2, %s0, %s0", reg, reg, reg)
	if isa == "512" {
		p("VEXTRACTF64X4 $1, Z0, Y1")
		p("VADDPS Y1, Y0, Y0")
	}
	p("VEXTRACTF128 $1, Y0, X1")
	p("VADDPS X1, X0, X0")
	p("VMOVHLPS X0, X0, X1")
	p("VADDPS X1, X0, X0")
	p("VMOVSHDUP X0, X1")
	p("VADDSS X1, X0, X0")
	p("VMOVSS X0, ret+24(FP)")
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")

	// axpy: y += a*x
	name = "axpy" + isa
	fmt.Fprintf(&out, "// func %s(a float32, x, y *float32, n int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("VBROADCASTSS a+0(FP), %s15", reg)
	p("MOVQ x+8(FP), SI")
	p("MOVQ y+16(FP), DI")
	p("MOVQ n+24(FP), CX")
	p("MOVQ CX, DX")
	p("SHRQ $%d, DX", log2(4*w))
	p("JZ %sone", name)
	label(name + "four")
	for i := 0; i < 4; i++ {
		p("VMOVUPS %d(DI), %s%d", i*bytes, reg, i)
	}
	for i := 0; i < 4; i++ {
		p("VFMADD231PS %d(SI), %s15, %s%d", i*bytes, reg, reg, i)
	}
	for i := 0; i < 4; i++ {
		p("VMOVUPS %s%d, %d(DI)", reg, i, i*bytes)
	}
	p("ADDQ $%d, SI", 4*bytes)
	p("ADDQ $%d, DI", 4*bytes)
	p("DECQ DX")
	p("JNZ %sfour", name)
	label(name + "one")
	p("ANDQ $%d, CX", 4*w-1)
	p("SHRQ $%d, CX", log2(w))
	p("JZ %sdone", name)
	label(name + "oneloop")
	p("VMOVUPS (DI), %s0", reg)
	p("VFMADD231PS (SI), %s15, %s0", reg, reg)
	p("VMOVUPS %s0, (DI)", reg)
	p("ADDQ $%d, SI", bytes)
	p("ADDQ $%d, DI", bytes)
	p("DECQ CX")
	p("JNZ %soneloop", name)
	label(name + "done")
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")

	// scale: x *= a
	name = "scale" + isa
	fmt.Fprintf(&out, "// func %s(a float32, x *float32, n int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
	p("VBROADCASTSS a+0(FP), %s15", reg)
	p("MOVQ x+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	p("SHRQ $%d, CX", log2(w))
	p("JZ %sdone", name)
	label(name + "loop")
	p("VMULPS (SI), %s15, %s0", reg, reg)
	p("VMOVUPS %s0, (SI)", reg)
	p("ADDQ $%d, SI", bytes)
	p("DECQ CX")
	p("JNZ %sloop", name)
	label(name + "done")
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// Constants for exp: log2(e), ln2 split in a high part exact in float32 and
// a low part, Cephes expf polynomial coefficients, 1, and the input clamp.
var expConsts = []struct {
	name string
	bits uint32
}{
	{"log2e", 0x3fb8aa3b}, // 1.44269504
	{"ln2hi", 0x3f318000}, // 0.693359375
	{"ln2lo", 0xb95e8083}, // -2.12194440e-4
	{"p0", 0x39506967},    // 1.9875691500e-4
	{"p1", 0x3ab743ce},    // 1.3981999507e-3
	{"p2", 0x3c088908},    // 8.3334519073e-3
	{"p3", 0x3d2aa9c1},    // 4.1665795894e-2
	{"p4", 0x3e2aaaaa},    // 1.6666665459e-1
	{"p5", 0x3f000000},    // 5.0000001201e-1
	{"one", 0x3f800000},   // 1
	{"hi", 0x42b20000},    // 89: exp overflows to +Inf
	{"lo", 0xc2d00000},    // -104: exp underflows to 0
	{"bias", 0x0000007f},  // int32 127, the float32 exponent bias
}

// exp512 emits exp over n floats (n a multiple of 16): clamp x to [-104, 89],
// n = round(x·log2e), r = x − n·ln2 (two steps), e^r by the Cephes
// polynomial, then VSCALEFPS multiplies by 2^n, producing +Inf, subnormals
// and 0 at the extremes. NaN propagates.
func exp512() {
	for i, c := range expConsts {
		fmt.Fprintf(&out, "DATA expc<>+%d(SB)/4, $0x%08x // %s\n", 4*i, c.bits, c.name)
	}
	fmt.Fprintf(&out, "GLOBL expc<>(SB), RODATA|NOPTR, $%d\n\n", 4*len(expConsts))
	out.WriteString("// func exp512(dst, src *float32, n int)\n")
	out.WriteString("TEXT ·exp512(SB), NOSPLIT, $0-24\n")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	p("SHRQ $4, CX")
	p("JZ exp512done")
	for i := range expConsts {
		p("VBROADCASTSS expc<>+%d(SB), Z%d", 4*i, 16+i)
	}
	// Z16 log2e, Z17 ln2hi, Z18 ln2lo, Z19..Z24 p0..p5, Z25 one, Z26 hi, Z27 lo
	label("exp512loop")
	p("VMOVUPS (SI), Z0")
	p("VMAXPS Z0, Z27, Z0") // max(lo, x); NaN x stays NaN
	p("VMINPS Z0, Z26, Z0") // min(hi, x)
	p("VMULPS Z16, Z0, Z1")
	p("VRNDSCALEPS $0, Z1, Z1") // n = round to nearest even
	p("VMOVAPS Z0, Z2")
	p("VFNMADD231PS Z17, Z1, Z2") // r = x - n*ln2hi
	p("VFNMADD231PS Z18, Z1, Z2") // r -= n*ln2lo
	p("VMOVAPS Z19, Z3")
	for i := 1; i <= 5; i++ {
		p("VFMADD213PS Z%d, Z2, Z3", 19+i) // p = p*r + c_i
	}
	p("VMULPS Z2, Z2, Z4")
	p("VFMADD213PS Z2, Z4, Z3") // p*r² + r
	p("VADDPS Z25, Z3, Z3")     // + 1
	p("VSCALEFPS Z1, Z3, Z3")   // * 2^n
	p("VMOVUPS Z3, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ exp512loop")
	label("exp512done")
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

// exp256 emits the AVX2 exp over n floats (n a multiple of 8) with the same
// arithmetic as exp512; without VSCALEFPS, 2^n is applied as two factors
// 2^(n>>1) and 2^(n-(n>>1)), both normal floats: p·2^(n>>1) is exact, so the
// result is rounded once, exactly as VSCALEFPS rounds it.
func exp256() {
	c := func(name string) string {
		for i, e := range expConsts {
			if e.name == name {
				return fmt.Sprintf("expc<>+%d(SB)", 4*i)
			}
		}
		panic(name)
	}
	out.WriteString("// func exp256(dst, src *float32, n int)\n")
	out.WriteString("TEXT ·exp256(SB), NOSPLIT, $0-24\n")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	p("SHRQ $3, CX")
	p("JZ exp256done")
	p("VBROADCASTSS %s, Y8", c("lo"))
	p("VBROADCASTSS %s, Y9", c("hi"))
	p("VBROADCASTSS %s, Y10", c("log2e"))
	p("VBROADCASTSS %s, Y11", c("ln2hi"))
	p("VBROADCASTSS %s, Y12", c("ln2lo"))
	p("VBROADCASTSS %s, Y13", c("one"))
	p("VPBROADCASTD %s, Y14", c("bias"))
	label("exp256loop")
	p("VMOVUPS (SI), Y0")
	p("VMAXPS Y0, Y8, Y0")
	p("VMINPS Y0, Y9, Y0")
	p("VMULPS Y10, Y0, Y1")
	p("VROUNDPS $0, Y1, Y1")
	p("VMOVAPS Y0, Y2")
	p("VFNMADD231PS Y11, Y1, Y2")
	p("VFNMADD231PS Y12, Y1, Y2")
	p("VBROADCASTSS %s, Y3", c("p0"))
	for _, name := range []string{"p1", "p2", "p3", "p4", "p5"} {
		p("VBROADCASTSS %s, Y4", c(name))
		p("VFMADD213PS Y4, Y2, Y3")
	}
	p("VMULPS Y2, Y2, Y4")
	p("VFMADD213PS Y2, Y4, Y3")
	p("VADDPS Y13, Y3, Y3")
	p("VCVTPS2DQ Y1, Y5")
	p("VPSRAD $1, Y5, Y6")
	p("VPSUBD Y6, Y5, Y5")
	p("VPADDD Y14, Y6, Y6")
	p("VPSLLD $23, Y6, Y6")
	p("VPADDD Y14, Y5, Y5")
	p("VPSLLD $23, Y5, Y5")
	p("VMULPS Y6, Y3, Y3")
	p("VMULPS Y5, Y3, Y3")
	p("VMOVUPS Y3, (DI)")
	p("ADDQ $32, SI")
	p("ADDQ $32, DI")
	p("DECQ CX")
	p("JNZ exp256loop")
	label("exp256done")
	p("VZEROUPPER")
	p("RET")
	out.WriteString("\n")
}

func log2(x int) int {
	n := 0
	for x > 1 {
		x >>= 1
		n++
	}
	return n
}

func main() {
	out.WriteString("// Code generated by asmgen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n\n")
	for r := 1; r <= mr512; r++ {
		gemm512(r)
	}
	for r := 1; r <= 6; r++ {
		gemm256(r)
	}
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&out, "DATA dotperm<>+%d(SB)/4, $%d\n", 4*i, (4*i)%16)
	}
	out.WriteString("GLOBL dotperm<>(SB), RODATA|NOPTR, $64\n\n")
	for r := 1; r <= 4; r++ {
		for c := 1; c <= 4; c++ {
			dot512(r, c)
		}
	}
	for r := 1; r <= 2; r++ {
		for c := 1; c <= 4; c++ {
			dot256(r, c)
		}
	}
	vec("512")
	vec("256")
	exp512()
	exp256()
	_ = gemmArgs
	if err := os.WriteFile("kernels_amd64.s", out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("kernels_amd64_decl.go", decls(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// decls returns the Go declarations of the generated routines and the
// dispatch tables indexed by tile shape.
func decls() []byte {
	var d bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&d, format, args...) }
	w("// Code generated by asmgen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\npackage kernels\n\n")
	gemmSig := "(k int, a *float32, rsA, csA uintptr, b *float32, rsB uintptr, c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32)"
	dot512Sig := "(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32, mask, loadC uint32, groups int)"
	dot256Sig := "(k int, a *float32, lda uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32, tail *int32, loadC uint32)"
	for r := 1; r <= mr512; r++ {
		w("//go:noescape\nfunc gemm512R%d%s\n\n", r, gemmSig)
	}
	for r := 1; r <= 6; r++ {
		w("//go:noescape\nfunc gemm256R%d%s\n\n", r, gemmSig)
	}
	for r := 1; r <= 4; r++ {
		for c := 1; c <= 4; c++ {
			w("//go:noescape\nfunc dot512R%dC%d%s\n\n", r, c, dot512Sig)
		}
	}
	for r := 1; r <= 2; r++ {
		for c := 1; c <= 4; c++ {
			w("//go:noescape\nfunc dot256R%dC%d%s\n\n", r, c, dot256Sig)
		}
	}
	for _, isa := range []string{"512", "256"} {
		w("//go:noescape\nfunc dot%s(x, y *float32, n int) float32\n\n", isa)
		w("//go:noescape\nfunc axpy%s(a float32, x, y *float32, n int)\n\n", isa)
		w("//go:noescape\nfunc scale%s(a float32, x *float32, n int)\n\n", isa)
	}
	w("//go:noescape\nfunc exp512(dst, src *float32, n int)\n\n")
	w("//go:noescape\nfunc exp256(dst, src *float32, n int)\n\n")
	w("// mr512 is the AVX-512 tile height.\nconst mr512 = %d\n\n", mr512)
	w("type asmGemm func%s\n\n", gemmSig)
	w("var gemm512Rows = [...]asmGemm{nil")
	for r := 1; r <= mr512; r++ {
		w(", gemm512R%d", r)
	}
	w("}\n\nvar gemm256Rows = [...]asmGemm{nil")
	for r := 1; r <= 6; r++ {
		w(", gemm256R%d", r)
	}
	w("}\n\ntype asmDot512 func%s\n\nvar dot512Tiles = [5][5]asmDot512{\n\t{},\n", dot512Sig)
	for r := 1; r <= 4; r++ {
		w("\t{nil")
		for c := 1; c <= 4; c++ {
			w(", dot512R%dC%d", r, c)
		}
		w("},\n")
	}
	w("}\n\ntype asmDot256 func%s\n\nvar dot256Tiles = [3][5]asmDot256{\n\t{},\n", dot256Sig)
	for r := 1; r <= 2; r++ {
		w("\t{nil")
		for c := 1; c <= 4; c++ {
			w(", dot256R%dC%d", r, c)
		}
		w("},\n")
	}
	w("}\n")
	return d.Bytes()
}
