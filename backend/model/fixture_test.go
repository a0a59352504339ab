package model

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/tkx-dev/tkx/backend/kernels"
)

// torch_fixtures.json comes from testdata/gen_torch_fixtures.py (PyTorch,
// float64): an independent implementation of the same architecture.
type torchCase struct {
	Name   string `json:"name"`
	Config Config `json:"config"`
	Lora   *struct {
		Rank  int
		Alpha float64
	} `json:"lora"`
	Adam    AdamParams           `json:"adam"`
	Weights map[string][]float64 `json:"weights"`
	Data    [][]struct {
		Tokens       []int     `json:"tokens"`
		TargetTokens []float64 `json:"target_tokens"`
		Weights      []float64 `json:"weights"`
	} `json:"data"`
	Logits     [][][]float64        `json:"logits"`
	Loss       float64              `json:"loss"`
	Grads      map[string][]float64 `json:"grads"`
	StepLosses []float64            `json:"step_losses"`
	After      map[string][]float64 `json:"after_two_steps"`
}

func loadTorchCases(t *testing.T) []torchCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/torch_fixtures.json")
	if err != nil {
		t.Fatalf("%v (regenerate with testdata/gen_torch_fixtures.py)", err)
	}
	var f struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

func buildTorchCase[T Float](t *testing.T, c torchCase) *Net[T] {
	t.Helper()
	n := alloc[T](c.Config)
	for _, bt := range n.baseTensors() {
		w, ok := c.Weights[bt.name]
		if !ok || len(w) != len(bt.data) {
			t.Fatalf("%s: fixture tensor %s missing or wrong size", c.Name, bt.name)
		}
		for i, v := range w {
			bt.data[i] = T(v)
		}
	}
	var lora *LoraConfig
	if c.Lora != nil {
		lora = &LoraConfig{Rank: c.Lora.Rank, Alpha: c.Lora.Alpha, TrainAttn: true, TrainMLP: true, TrainUnembed: true}
	}
	n.setTraining(lora)
	if lora != nil {
		for _, p := range n.params {
			w, ok := c.Weights[p.name]
			if !ok || len(w) != len(p.data) {
				t.Fatalf("%s: fixture tensor %s missing or wrong size", c.Name, p.name)
			}
			for i, v := range w {
				p.data[i] = T(v)
			}
		}
		n.remerge()
	}
	if len(n.params) != len(c.Grads) {
		t.Fatalf("%s: %d trainable tensors, fixture has %d", c.Name, len(n.params), len(c.Grads))
	}
	return n
}

func torchData(c torchCase, step int) []Datum {
	var out []Datum
	for _, d := range c.Data[step] {
		out = append(out, Datum{Tokens: d.Tokens, Inputs: map[string][]float64{"target_tokens": d.TargetTokens, "weights": d.Weights}})
	}
	return out
}

func checkTorchCase[T Float](t *testing.T, c torchCase, tol float64, exact bool) {
	n := buildTorchCase[T](t, c)
	n.SetExactMath(exact)
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Fatalf("%s %s: got %.12g, torch %.12g", c.Name, what, got, want)
		}
	}
	for i, d := range c.Data[0] {
		lg := fullLogits(n, d.Tokens)
		for p := range lg {
			for j := range lg[p] {
				near("logit", float64(lg[p][j]), c.Logits[i][p][j])
			}
		}
	}
	r, err := n.ForwardBackward(torchData(c, 0), LossCrossEntropy, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	near("loss", r.Metrics["loss:sum"], c.Loss)
	for _, p := range n.params {
		for j, g := range p.grad {
			near("grad "+p.name, float64(g), c.Grads[p.name][j])
		}
	}
	n.ZeroGrad()
	for step := 0; step < 2; step++ {
		r, err := n.ForwardBackward(torchData(c, step), LossCrossEntropy, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		near("step loss", r.Metrics["loss:sum"], c.StepLosses[step])
		if _, err := n.OptimStep(c.Adam); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range n.params {
		for j, v := range p.data {
			near("after two AdamW steps "+p.name, float64(v), c.After[p.name][j])
		}
	}
}

func TestTorchGolden(t *testing.T) {
	cases := loadTorchCases(t)
	if len(cases) < 4 {
		t.Fatalf("%d fixture cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name+"/float64", func(t *testing.T) { checkTorchCase[float64](t, c, 1e-9, false) })
		// float32 against the float64 torch numbers: 2e-4 (relative, or
		// absolute below 1) for logits, loss, gradients and weights.
		t.Run(c.Name+"/float32", func(t *testing.T) { checkTorchCase[float32](t, c, 2e-4, false) })
		t.Run(c.Name+"/float32-exact", func(t *testing.T) { checkTorchCase[float32](t, c, 2e-4, true) })
	}
}

// Every kernel path (avx512, avx2, generic) gives the torch numbers in float32.
func TestTorchGoldenEveryKernelPath(t *testing.T) {
	cases := loadTorchCases(t)
	for _, path := range kernels.Paths() {
		prev, err := kernels.SetPath(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(path+"/"+c.Name, func(t *testing.T) { checkTorchCase[float32](t, c, 2e-4, false) })
		}
		if _, err := kernels.SetPath(prev); err != nil {
			t.Fatal(err)
		}
	}
}
