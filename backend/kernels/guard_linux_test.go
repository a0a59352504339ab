package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a slice of n float32 whose last element is immediately
// followed by an inaccessible page, so any read past the end faults (the
// test binary crashes) instead of silently reading a neighbour's memory.
// The slice is filled with random values.
func guarded(t *testing.T, r *rand.Rand, n int) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	bytes := n * 4
	data := (bytes + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, data+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[data:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	s := unsafe.Slice((*float32)(unsafe.Pointer(&mem[data-bytes])), n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestNoReadsPastEnd runs every path and transpose combination on operands
// that end at a guard page, with edge shapes that exercise masked and padded
// columns, partial row tiles, k tails and the vector helpers' tails.
func TestNoReadsPastEnd(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 8))
		shapes := [][3]int{{1, 1, 1}, {1, 33, 17}, {3, 7, 5}, {5, 31, 19}, {9, 17, 13}, {16, 45, 37}, {20, 3, 300}, {40, 33, 129}}
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					ar, ac := m, k
					if tA {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB {
						br, bc = n, k
					}
					a := guarded(t, r, ar*ac)
					b := guarded(t, r, br*bc)
					c := guarded(t, r, m*n)
					Sgemm(tA, tB, m, n, k, 1, a, ac, b, bc, 0.5, c, n)
					SgemmSerial(tA, tB, m, n, k, 1, a, ac, b, bc, 0, c, n)
				}
			}
		}
		for _, n := range []int{1, 7, 15, 17, 33, 100} {
			x, y := guarded(t, r, n), guarded(t, r, n)
			Dot(x, y)
			Axpy(2, x, y)
			Scale(0.5, x)
			Exp(y, x)
			Softmax(x, x)
		}
	})
}
