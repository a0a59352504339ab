package starnp_test

import (
	"slices"
	"testing"

	"github.com/tkx-dev/tkx/builtins/starnp"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
)

func TestGolden(t *testing.T) {
	startest.RunDir(t, "../../testdata/np", startest.Options{Modules: []*host.Module{starnp.Module}})
}

func TestShuffleIsFisherYatesOverPCG(t *testing.T) {
	// Pinned so a change of algorithm (which would change every recipe's
	// data order) is noticed.
	xs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	starnp.Shuffle(xs, 7)
	ys := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	starnp.Shuffle(ys, 7)
	for i := range xs {
		if xs[i] != ys[i] {
			t.Fatalf("not deterministic: %v vs %v", xs, ys)
		}
	}
	// The same permutation testdata/np/np.out pins for np.shuffle.
	if want := []int{0, 8, 6, 4, 3, 5, 7, 1, 9, 2}; !slices.Equal(xs, want) {
		t.Fatalf("Shuffle(0..9, seed 7) = %v, want %v", xs, want)
	}
}

func TestDiscountedFutureSum(t *testing.T) {
	got := starnp.DiscountedFutureSum([]float64{1, 2, 3}, 0.9)
	want := []float64{1 + 0.9*(2+0.9*3), 2 + 0.9*3, 3}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}
