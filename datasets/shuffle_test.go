package datasets

import (
	"slices"
	"testing"
)

// Golden values produced once with NumPy 1.24.2 (Debian python3-numpy):
//
//	g = np.random.default_rng(42); g.bit_generator.random_raw(3)
//	np.random.default_rng(s).random()
//	np.random.default_rng(s).permutation(n)
//
// HF datasets' Dataset.shuffle(seed) uses exactly that permutation.
func TestPCG64MatchesNumPy(t *testing.T) {
	g := NewPCG64(42)
	want := []uint64{14276969152011380360, 8095878257575067585, 15838336090824644132}
	for i, w := range want {
		if got := g.Uint64(); got != w {
			t.Fatalf("output %d: got %d, want %d", i, got, w)
		}
	}
	if got := NewPCG64(0).Float64(); got != 0.6369616873214543 {
		t.Errorf("default_rng(0).random() = %v", got)
	}
	if got := NewPCG64(42).Float64(); got != 0.7739560485559633 {
		t.Errorf("default_rng(42).random() = %v", got)
	}
}

func TestPermutationGolden(t *testing.T) {
	cases := []struct {
		seed    uint64
		n       int
		prefix  []int
		weigted int // sum(p[i]*i), a checksum of the whole permutation
	}{
		{0, 10, []int{4, 6, 2, 7, 3, 5, 9, 0, 8, 1}, 195},
		{42, 10, []int{5, 6, 0, 7, 3, 2, 4, 9, 1, 8}, 216},
		{1, 1, []int{0}, 0},
		{7, 2, []int{0, 1}, 1},
		{0, 128, []int{125, 53, 102, 34, 121, 117, 66, 74, 64, 112, 88, 37, 71, 1, 13, 80, 11, 43, 16, 5}, 525751},
		{3, 1000, []int{334, 618, 590, 388, 679, 105, 797, 133, 714, 888, 416, 262, 231, 814, 724, 670, 298, 744, 166, 971}, 248806907},
		{1<<40 + 5, 20, []int{12, 3, 7, 13, 18, 2, 9, 16, 17, 10, 1, 5, 6, 0, 19, 8, 14, 4, 15, 11}, 1824},
	}
	for _, c := range cases {
		p := Permutation(c.n, c.seed)
		if !slices.Equal(p[:len(c.prefix)], c.prefix) {
			t.Errorf("seed %d n %d: prefix %v, want %v", c.seed, c.n, p[:len(c.prefix)], c.prefix)
		}
		sum := 0
		for i, v := range p {
			sum += i * v
		}
		if sum != c.weigted {
			t.Errorf("seed %d n %d: checksum %d, want %d", c.seed, c.n, sum, c.weigted)
		}
		s := slices.Clone(p)
		slices.Sort(s)
		for i, v := range s {
			if v != i {
				t.Fatalf("seed %d n %d: not a permutation", c.seed, c.n)
			}
		}
	}
}

func TestPermutationEmpty(t *testing.T) {
	if p := Permutation(0, 3); len(p) != 0 {
		t.Fatalf("got %v", p)
	}
}
