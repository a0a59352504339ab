package model

import (
	"fmt"
	"math"
)

// AdamParams are Tinker's optimizer settings (torch AdamW semantics with
// decoupled weight decay; GradClipNorm 0 turns clipping off).
type AdamParams struct {
	LearningRate float64 `json:"learning_rate"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WeightDecay  float64 `json:"weight_decay"`
	GradClipNorm float64 `json:"grad_clip_norm"`
}

// DefaultAdamParams are the Tinker SDK defaults.
func DefaultAdamParams() AdamParams {
	return AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-12}
}

// Validate checks the ranges torch.optim.AdamW checks.
func (p AdamParams) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(p.LearningRate) || p.LearningRate < 0:
		return fmt.Errorf("adam_params.learning_rate must be a finite number >= 0, got %g", p.LearningRate)
	case bad(p.Beta1) || p.Beta1 < 0 || p.Beta1 >= 1:
		return fmt.Errorf("adam_params.beta1 must be in [0, 1), got %g", p.Beta1)
	case bad(p.Beta2) || p.Beta2 < 0 || p.Beta2 >= 1:
		return fmt.Errorf("adam_params.beta2 must be in [0, 1), got %g", p.Beta2)
	case bad(p.Eps) || p.Eps < 0:
		return fmt.Errorf("adam_params.eps must be >= 0, got %g", p.Eps)
	case bad(p.WeightDecay) || p.WeightDecay < 0:
		return fmt.Errorf("adam_params.weight_decay must be >= 0, got %g", p.WeightDecay)
	case bad(p.GradClipNorm) || p.GradClipNorm < 0:
		return fmt.Errorf("adam_params.grad_clip_norm must be >= 0, got %g", p.GradClipNorm)
	}
	return nil
}

// StepResult reports an optimizer step.
type StepResult struct {
	GradNorm float64 // global L2 norm of the gradient before clipping
	Step     int64   // optimizer steps taken, including this one
}

// OptimStep applies one AdamW step with the accumulated gradients (summed
// over every forward_backward since the last step) and clears them:
//
//	g ← g·min(1, clip/(‖g‖+1e-6))            (only when grad_clip_norm > 0)
//	θ ← θ − lr·wd·θ
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	θ ← θ − (lr/(1−β1ᵗ))·m / (sqrt(v)/sqrt(1−β2ᵗ) + eps)
//
// exactly as torch.optim.AdamW and clip_grad_norm_ compute it. Every
// parameter element is updated in float64 and rounded once.
func (n *Net[T]) OptimStep(p AdamParams) (StepResult, error) {
	if err := p.Validate(); err != nil {
		return StepResult{}, err
	}
	var ss float64
	for _, pr := range n.params {
		for _, g := range pr.grad {
			ss += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(ss)
	clip := 1.0
	if p.GradClipNorm > 0 {
		if c := p.GradClipNorm / (norm + 1e-6); c < 1 {
			clip = c
		}
	}
	n.step++
	t := float64(n.step)
	bc1 := 1 - math.Pow(p.Beta1, t)
	bc2 := 1 - math.Pow(p.Beta2, t)
	stepSize := p.LearningRate / bc1
	bc2s := math.Sqrt(bc2)
	decay := 1 - p.LearningRate*p.WeightDecay
	parallelFor(len(n.params), func(i int) {
		pr := n.params[i]
		for j := range pr.data {
			g := float64(pr.grad[j]) * clip
			th := float64(pr.data[j]) * decay
			m := p.Beta1*float64(pr.m[j]) + (1-p.Beta1)*g
			v := p.Beta2*float64(pr.v[j]) + (1-p.Beta2)*g*g
			pr.m[j], pr.v[j] = T(m), T(v)
			denom := math.Sqrt(float64(T(v)))/bc2s + p.Eps
			upd := 0.0
			if stepSize != 0 && denom != 0 {
				upd = stepSize * float64(T(m)) / denom
			}
			pr.data[j] = T(th - upd)
			pr.grad[j] = 0
		}
	})
	for _, l := range n.linears() {
		l.merge()
	}
	n.hasGrad = false
	return StepResult{GradNorm: norm, Step: n.step}, nil
}

// ZeroGrad drops accumulated gradients.
func (n *Net[T]) ZeroGrad() {
	for _, pr := range n.params {
		clear(pr.grad)
	}
	n.hasGrad = false
}
