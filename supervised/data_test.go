package supervised

import (
	"math"
	"strings"
	"testing"
)

func TestDatumFromTokensShiftsAndNormalises(t *testing.T) {
	d, st, err := DatumFromTokens([]int{10, 11, 12, 13, 14}, []float32{0, 0, 1, 1, 0}, 0, ReduceMean)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := d.ModelInput.Tokens()
	if len(in) != 4 || in[0] != 10 || in[3] != 13 {
		t.Fatalf("inputs %v", in)
	}
	tg := d.LossFnInputs["target_tokens"].Int64
	if len(tg) != 4 || tg[0] != 11 || tg[3] != 14 {
		t.Fatalf("targets %v", tg)
	}
	w := d.LossFnInputs["weights"].Float32
	want := []float32{0, 0.5, 0.5, 0}
	for i := range want {
		if w[i] != want[i] {
			t.Fatalf("weights %v, want %v", w, want)
		}
	}
	if st.TrainedTokens != 2 || st.Truncated {
		t.Fatalf("stats %+v", st)
	}
}

func TestDatumFromTokensTruncatesAndSums(t *testing.T) {
	d, st, err := DatumFromTokens([]int{1, 2, 3, 4, 5, 6}, []float32{1, 1, 1, 1, 1, 1}, 4, ReduceSum)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Truncated || st.Tokens != 6 {
		t.Fatalf("stats %+v", st)
	}
	w := d.LossFnInputs["weights"].Float32
	if len(w) != 3 || w[0] != 1 || w[2] != 1 {
		t.Fatalf("weights %v", w)
	}
}

func TestDatumFromTokensErrors(t *testing.T) {
	if _, _, err := DatumFromTokens([]int{1}, []float32{1}, 0, ReduceMean); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Fatal(err)
	}
	if _, _, err := DatumFromTokens([]int{1, 2}, []float32{1}, 0, ReduceMean); err == nil {
		t.Fatal("length mismatch accepted")
	}
	if _, _, err := DatumFromTokens([]int{1, 2}, []float32{1, 1}, 0, "median"); err == nil || !strings.Contains(err.Error(), "unknown reduction") {
		t.Fatal(err)
	}
}

func TestLRMultiplier(t *testing.T) {
	for _, tc := range []struct {
		s           string
		step, total int
		want        float64
	}{
		{"linear", 0, 10, 1}, {"linear", 5, 10, 0.5}, {"linear", 10, 10, 0},
		{"cosine", 0, 10, 1}, {"cosine", 5, 10, 0.5}, {"cosine", 10, 10, 0},
		{"constant", 7, 10, 1},
	} {
		got, err := LRMultiplier(tc.s, tc.step, tc.total)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s(%d/%d) = %v, %v; want %v", tc.s, tc.step, tc.total, got, err, tc.want)
		}
	}
	if _, err := LRMultiplier("exp", 1, 2); err == nil {
		t.Fatal("unknown schedule accepted")
	}
}

func TestWeightedNLL(t *testing.T) {
	nll, w, err := WeightedNLL([][]float32{{-1, -2}, {-4}}, [][]float32{{1, 0}, {0.5}})
	if err != nil || nll != 3 || w != 1.5 {
		t.Fatalf("%v %v %v", nll, w, err)
	}
	if _, _, err := WeightedNLL([][]float32{{-1}}, [][]float32{{1, 2}}); err == nil || !strings.Contains(err.Error(), "datum 0") {
		t.Fatal(err)
	}
	if got := BitsPerByte(math.Ln2*8, 8); math.Abs(got-1) > 1e-12 {
		t.Fatal(got)
	}
}
