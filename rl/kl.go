package rl

import (
	"errors"
	"fmt"
	"math"
)

// DiscountedFutureSum returns out[t] = x[t] + gamma*x[t+1] + gamma²*x[t+2] + …
func DiscountedFutureSum(x []float64, gamma float64) []float64 {
	out := make([]float64, len(x))
	running := 0.0
	for t := len(x) - 1; t >= 0; t-- {
		running = x[t] + gamma*running
		out[t] = running
	}
	return out
}

// ErrNoActionTokens is returned when a batch has no token with mask > 0.
var ErrNoActionTokens = errors.New("no action tokens (mask > 0) in the batch")

// IncorporateKLPenalty adds a KL penalty against a reference model to the
// datums' advantages, in place (the cookbook's incorporate_kl_penalty).
//
// refLogprobs[i] are the reference model's log-probabilities of
// data[i].FullSequence(), one per position as compute_logprobs returns them
// (the first, for the first token, is ignored): len(data[i])+1 values. With
// d = logprob_sampled − logprob_ref on action tokens (0 elsewhere) and
// avg = Σd / Σmask over the batch, every datum gets
//
//	advantages += coef · mask · (avg − d)
//
// where the added term is first turned into its discounted future sum when
// discount > 0. It returns {"kl_policy_base": avg}.
func IncorporateKLPenalty(data []Datum, refLogprobs [][]float64, coef, discount float64) (map[string]float64, error) {
	if len(refLogprobs) != len(data) {
		return nil, fmt.Errorf("%d reference logprob lists for %d datums", len(refLogprobs), len(data))
	}
	diffs := make([][]float64, len(data))
	masks := make([][]float64, len(data))
	sumDiff, sumMask := 0.0, 0.0
	for i := range data {
		n := data[i].Len()
		lp, mask := data[i].Floats[KeyLogprobs], data[i].Floats[KeyMask]
		if len(lp) != n || len(mask) != n || len(data[i].Floats[KeyAdvantages]) != n {
			return nil, fmt.Errorf("datum %d: needs logprobs, mask and advantages of length %d (mask stripped already?)", i, n)
		}
		if len(refLogprobs[i]) != n+1 {
			return nil, fmt.Errorf("datum %d: %d reference logprobs, want %d (one per position of the full sequence)", i, len(refLogprobs[i]), n+1)
		}
		d := make([]float64, n)
		for t := range n {
			if mask[t] == 0 {
				continue
			}
			ref := refLogprobs[i][t+1]
			if math.IsNaN(ref) || math.IsInf(ref, 0) {
				return nil, fmt.Errorf("datum %d: reference logprob %d is %v", i, t+1, ref)
			}
			d[t] = (lp[t] - ref) * mask[t]
			sumDiff += d[t]
			sumMask += mask[t]
		}
		diffs[i], masks[i] = d, mask
	}
	if sumMask == 0 {
		return nil, ErrNoActionTokens
	}
	avg := sumDiff / sumMask
	for i := range data {
		n := data[i].Len()
		kl := make([]float64, n)
		for t := range n {
			kl[t] = coef * masks[i][t] * (avg - diffs[i][t])
		}
		if discount > 0 {
			kl = DiscountedFutureSum(kl, discount)
		}
		adv := data[i].Floats[KeyAdvantages]
		for t := range n {
			adv[t] += kl[t]
		}
	}
	return map[string]float64{"kl_policy_base": avg}, nil
}

// ComputeKLSampleTrain compares the sampling logprobs stored in the datums
// with the logprobs the training model computes for the same tokens
// (forward_backward's per-datum "logprobs" output), over action tokens
// (mask > 0), so the datums must still carry the mask:
//
//	optim/kl_sample_train_v1 = mean(lp_sample − lp_train)
//	optim/kl_sample_train_v2 = ½·mean((lp_sample − lp_train)²)
//	optim/entropy            = −mean(lp_sample)
func ComputeKLSampleTrain(data []Datum, trainLogprobs [][]float64) (map[string]float64, error) {
	if len(trainLogprobs) != len(data) {
		return nil, fmt.Errorf("%d training logprob lists for %d datums", len(trainLogprobs), len(data))
	}
	var sum1, sum2, sumLp float64
	n := 0
	for i := range data {
		lp, mask := data[i].Floats[KeyLogprobs], data[i].Floats[KeyMask]
		if len(lp) != data[i].Len() || len(mask) != data[i].Len() {
			return nil, fmt.Errorf("datum %d: needs logprobs and mask of length %d (mask stripped already?)", i, data[i].Len())
		}
		if len(trainLogprobs[i]) != len(lp) {
			return nil, fmt.Errorf("datum %d: %d training logprobs for %d positions", i, len(trainLogprobs[i]), len(lp))
		}
		for t := range lp {
			if mask[t] <= 0 {
				continue
			}
			d := lp[t] - trainLogprobs[i][t]
			sum1 += d
			sum2 += d * d
			sumLp += lp[t]
			n++
		}
	}
	if n == 0 {
		return nil, ErrNoActionTokens
	}
	fn := float64(n)
	return map[string]float64{
		"optim/kl_sample_train_v1": sum1 / fn,
		"optim/kl_sample_train_v2": 0.5 * sum2 / fn,
		"optim/entropy":            -sumLp / fn,
	}, nil
}
