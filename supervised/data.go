// Package supervised holds the Go half of supervised fine-tuning: turning
// rendered conversations into training datums, learning-rate schedules and
// NLL metrics. The loop itself is Starlark (stdlib/supervised.star).
package supervised

import (
	"fmt"
	"math"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/renderers"
)

// Reduction says how per-token weights of one example are scaled.
type Reduction string

const (
	// ReduceMean normalises an example's weights to sum 1, so every example
	// counts equally whatever its length (the cookbook's default).
	ReduceMean Reduction = "mean"
	// ReduceSum keeps the renderer's 0/1 weights: every trained token counts
	// equally.
	ReduceSum Reduction = "sum"
)

// Options for ConversationToDatum.
type Options struct {
	MaxLength   int // 0: no limit
	TrainOnWhat renderers.TrainOnWhat
	Reduction   Reduction
}

// Stats describes what building one datum did, so loaders can count
// truncations instead of hiding them.
type Stats struct {
	Tokens        int // tokens of the rendered conversation
	Truncated     bool
	TrainedTokens int // target tokens with a non-zero weight
}

// ConversationToDatum renders a conversation for training exactly as the
// cookbook's conversation_to_datum: render with per-token weights, truncate
// to MaxLength, shift (inputs = tokens[:-1], targets = tokens[1:], weights
// aligned with targets), and normalise the weights per Reduction.
func ConversationToDatum(r renderers.Renderer, msgs []renderers.Message, opt Options) (protocol.Datum, Stats, error) {
	tow := opt.TrainOnWhat
	if tow == "" {
		tow = renderers.AllAssistantMessages
	}
	mi, weights, err := r.BuildSupervisedExample(msgs, tow)
	if err != nil {
		return protocol.Datum{}, Stats{}, err
	}
	tokens, err := mi.Ints()
	if err != nil {
		return protocol.Datum{}, Stats{}, err
	}
	return DatumFromTokens(tokens, weights, opt.MaxLength, opt.Reduction)
}

// DatumFromTokens builds a cross-entropy datum from a token sequence and
// per-token weights (same length as tokens).
func DatumFromTokens(tokens []int, weights []float32, maxLength int, red Reduction) (protocol.Datum, Stats, error) {
	if len(tokens) != len(weights) {
		return protocol.Datum{}, Stats{}, fmt.Errorf("tokens and weights differ in length: %d vs %d", len(tokens), len(weights))
	}
	st := Stats{Tokens: len(tokens)}
	if maxLength > 0 && len(tokens) > maxLength {
		tokens, weights = tokens[:maxLength], weights[:maxLength]
		st.Truncated = true
	}
	if len(tokens) < 2 {
		return protocol.Datum{}, st, fmt.Errorf("example has %d tokens; need at least 2 to predict one", len(tokens))
	}
	n := len(tokens) - 1
	input := make([]int32, n)
	targets := make([]int64, n)
	w := make([]float32, n)
	var total float64
	for i := 0; i < n; i++ {
		input[i] = int32(tokens[i])
		targets[i] = int64(tokens[i+1])
		w[i] = weights[i+1]
		total += float64(w[i])
		if w[i] != 0 {
			st.TrainedTokens++
		}
	}
	switch red {
	case "", ReduceMean:
		if total > 0 {
			for i := range w {
				w[i] = float32(float64(w[i]) / total)
			}
		}
	case ReduceSum:
	default:
		return protocol.Datum{}, st, fmt.Errorf("unknown reduction %q (want mean or sum)", red)
	}
	return protocol.Datum{
		ModelInput: protocol.FromTokens(input),
		LossFnInputs: map[string]protocol.TensorData{
			"target_tokens": protocol.Int64Tensor(targets),
			"weights":       protocol.Float32Tensor(w),
		},
	}, st, nil
}

// LRMultiplier is the cookbook's compute_schedule_lr_multiplier: linear
// decays to 0 at totalSteps, cosine follows half a cosine, constant is 1.
func LRMultiplier(schedule string, step, totalSteps int) (float64, error) {
	if totalSteps <= 0 {
		return 0, fmt.Errorf("total steps must be positive, got %d", totalSteps)
	}
	frac := float64(step) / float64(totalSteps)
	switch schedule {
	case "linear":
		return 1 - frac, nil
	case "cosine":
		return 0.5 * (1 + math.Cos(math.Pi*frac)), nil
	case "constant":
		return 1, nil
	}
	return 0, fmt.Errorf("unknown lr_schedule %q (want linear, cosine or constant)", schedule)
}

// WeightedNLL returns Σ -logprob·weight and Σ weight over a batch; their
// ratio is the cookbook's mean NLL (train_mean_nll, test/nll).
func WeightedNLL(logprobs, weights [][]float32) (nll, weightSum float64, err error) {
	if len(logprobs) != len(weights) {
		return 0, 0, fmt.Errorf("%d logprob sequences for %d weight sequences", len(logprobs), len(weights))
	}
	for i := range logprobs {
		if len(logprobs[i]) != len(weights[i]) {
			return 0, 0, fmt.Errorf("datum %d: %d logprobs for %d weights", i, len(logprobs[i]), len(weights[i]))
		}
		for j, lp := range logprobs[i] {
			w := float64(weights[i][j])
			nll -= float64(lp) * w
			weightSum += w
		}
	}
	return nll, weightSum, nil
}

// BitsPerByte converts a total NLL in nats over text of n bytes.
func BitsPerByte(nllNats float64, bytes int) float64 {
	if bytes == 0 {
		return 0
	}
	return nllNats / float64(bytes) / math.Ln2
}
