package rl

import "fmt"

// SplitList splits xs into numSplits consecutive parts whose sizes differ by
// at most one, with the cookbook's edges (split_list: numpy
// linspace(0, len, numSplits+1) truncated to ints), e.g. 5 items in 2 parts
// are [0:2] and [2:5]. The RL step uses it to cut a batch into num_substeps
// minibatches (with numSplits = min(num_substeps, len(batch))).
func SplitList[T any](xs []T, numSplits int) ([][]T, error) {
	if numSplits <= 0 {
		return nil, fmt.Errorf("num_splits must be positive, got %d", numSplits)
	}
	if numSplits > len(xs) {
		return nil, fmt.Errorf("cannot split a list of length %d into %d parts", len(xs), numSplits)
	}
	step := float64(len(xs)) / float64(numSplits)
	out := make([][]T, numSplits)
	lo := 0
	for i := range numSplits {
		hi := len(xs)
		if i+1 < numSplits {
			hi = int(float64(i+1) * step)
		}
		out[i] = xs[lo:hi:hi]
		lo = hi
	}
	return out, nil
}
