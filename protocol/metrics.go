package protocol

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Metric reductions: every metric key is `name:reduction` with exactly one
// ':'. When a batch is split into chunks, each chunk's metrics are combined
// with the reduction named by the key.
const (
	ReduceMean          = "mean"  // mean weighted by datum count
	ReduceSum           = "sum"   //
	ReduceMin           = "min"   //
	ReduceMax           = "max"   //
	ReduceSlack         = "slack" // max − weighted mean
	ReduceHashUnordered = "hash_unordered"
	ReduceHash2         = "hash2" // older name of hash_unordered
	ReduceUnique        = "unique"
)

// SplitMetricKey splits `name:reduction`, failing unless there is exactly
// one ':' with a non-empty name and reduction.
func SplitMetricKey(key string) (name, reduction string, err error) {
	if strings.Count(key, ":") != 1 {
		return "", "", fmt.Errorf("metric key %q: want name:reduction with exactly one ':'", key)
	}
	name, reduction, _ = strings.Cut(key, ":")
	if name == "" || reduction == "" {
		return "", "", fmt.Errorf("metric key %q: empty name or reduction", key)
	}
	return name, reduction, nil
}

// KnownReduction reports whether the reducer understands r.
func KnownReduction(r string) bool {
	switch r {
	case ReduceMean, ReduceSum, ReduceMin, ReduceMax, ReduceSlack, ReduceHashUnordered, ReduceHash2, ReduceUnique:
		return true
	}
	return false
}

// ReduceMetrics combines the metrics of several chunks the way the SDK
// does. weights[i] is the number of datums chunk i processed (mean and
// slack are weighted by it; nil weights means equal). Only keys present in
// the first chunk and in every other chunk are kept; keys with an unknown
// reduction are dropped. "unique" keeps the first chunk's value under the
// key and the others under key_1, key_2, …. A key without exactly one ':'
// is an error.
func ReduceMetrics(chunks []map[string]float64, weights []float64) (map[string]float64, error) {
	out := map[string]float64{}
	if len(chunks) == 0 {
		return out, nil
	}
	if weights != nil && len(weights) != len(chunks) {
		return nil, fmt.Errorf("ReduceMetrics: %d weights for %d chunks", len(weights), len(chunks))
	}
	keys := make([]string, 0, len(chunks[0]))
	for k := range chunks[0] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]float64, len(chunks))
	for _, key := range keys {
		_, red, err := SplitMetricKey(key)
		if err != nil {
			return nil, err
		}
		if !KnownReduction(red) {
			continue
		}
		present := true
		for i, m := range chunks {
			v, ok := m[key]
			if !ok {
				present = false
				break
			}
			vals[i] = v
		}
		if !present {
			continue
		}
		switch red {
		case ReduceMean:
			out[key] = weightedMean(vals, weights)
		case ReduceSlack:
			out[key] = maxOf(vals) - weightedMean(vals, weights)
		case ReduceSum:
			s := 0.0
			for _, v := range vals {
				s += v
			}
			out[key] = s
		case ReduceMin:
			m := vals[0]
			for _, v := range vals[1:] {
				m = math.Min(m, v)
			}
			out[key] = m
		case ReduceMax:
			out[key] = maxOf(vals)
		case ReduceHashUnordered, ReduceHash2:
			var h uint64
			for _, v := range vals {
				h += uint64(int64(v))
			}
			out[key] = float64(h)
		case ReduceUnique:
			out[key] = vals[0]
			for i, v := range vals[1:] {
				out[fmt.Sprintf("%s_%d", key, i+1)] = v
			}
		}
	}
	return out, nil
}

func weightedMean(vals, weights []float64) float64 {
	if weights == nil {
		s := 0.0
		for _, v := range vals {
			s += v
		}
		return s / float64(len(vals))
	}
	s, w := 0.0, 0.0
	for i, v := range vals {
		s += v * weights[i]
		w += weights[i]
	}
	if w == 0 {
		return math.NaN()
	}
	return s / w
}

func maxOf(vals []float64) float64 {
	m := vals[0]
	for _, v := range vals[1:] {
		m = math.Max(m, v)
	}
	return m
}

// CombineForwardBackwardOutputs concatenates chunk outputs in order and
// reduces their metrics, weighting by each chunk's datum count.
func CombineForwardBackwardOutputs(parts []*ForwardBackwardOutput) (*ForwardBackwardOutput, error) {
	out := &ForwardBackwardOutput{Metrics: map[string]float64{}, LossFnOutputs: []map[string]TensorData{}}
	if len(parts) == 0 {
		return out, nil
	}
	out.LossFnOutputType = parts[0].LossFnOutputType
	ms := make([]map[string]float64, len(parts))
	ws := make([]float64, len(parts))
	for i, p := range parts {
		out.LossFnOutputs = append(out.LossFnOutputs, p.LossFnOutputs...)
		ms[i] = p.Metrics
		ws[i] = float64(len(p.LossFnOutputs))
	}
	m, err := ReduceMetrics(ms, ws)
	if err != nil {
		return nil, err
	}
	out.Metrics = m
	return out, nil
}
