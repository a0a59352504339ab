package rl

import (
	"fmt"
	"math"
	"sort"

	"github.com/tkx-dev/tkx/protocol"
)

// Keys of the loss inputs an RL datum carries.
const (
	KeyTargetTokens = "target_tokens"
	KeyLogprobs     = "logprobs"
	KeyAdvantages   = "advantages"
	KeyMask         = "mask"
)

// Datum is a training example in the shape of the Tinker Datum, with plain
// Go slices: the model input tokens and named per-position arrays (the
// loss_fn_inputs), integer ones in Ints (target_tokens) and real ones in
// Floats (logprobs, advantages, mask). Every array has len(ModelInput)
// entries.
type Datum struct {
	ModelInput []int
	Ints       map[string][]int
	Floats     map[string][]float64
}

// Len is the number of positions.
func (d Datum) Len() int { return len(d.ModelInput) }

// Clone returns a deep copy.
func (d Datum) Clone() Datum {
	c := Datum{ModelInput: append([]int(nil), d.ModelInput...), Ints: map[string][]int{}, Floats: map[string][]float64{}}
	for k, v := range d.Ints {
		c.Ints[k] = append([]int(nil), v...)
	}
	for k, v := range d.Floats {
		c.Floats[k] = append([]float64(nil), v...)
	}
	return c
}

// WithoutMask returns a copy without the "mask" input: the mask is for the
// client-side metrics only and is stripped before the datum is sent.
func (d Datum) WithoutMask() Datum {
	c := d.Clone()
	delete(c.Floats, KeyMask)
	return c
}

// FullSequence is the unshifted token sequence: the model input plus the
// last target token. Reference-model log-probabilities for the KL penalty
// are computed on it (compute_logprobs returns one value per position).
func (d Datum) FullSequence() []int {
	out := append([]int(nil), d.ModelInput...)
	if t := d.Ints[KeyTargetTokens]; len(t) > 0 {
		out = append(out, t[len(t)-1])
	}
	return out
}

// Check verifies that every array has one entry per position and that the
// numbers are finite.
func (d Datum) Check() error {
	n := len(d.ModelInput)
	for _, k := range sortedKeys(d.Ints) {
		if len(d.Ints[k]) != n {
			return fmt.Errorf("loss input %q has %d entries for %d positions", k, len(d.Ints[k]), n)
		}
	}
	for _, k := range sortedKeys(d.Floats) {
		v := d.Floats[k]
		if len(v) != n {
			return fmt.Errorf("loss input %q has %d entries for %d positions", k, len(v), n)
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("loss input %q[%d] = %v is not finite", k, i, x)
			}
		}
	}
	return nil
}

// ToProtocol converts the datum to the wire type, dropping the mask:
// target_tokens becomes an int64 tensor, the other inputs float32 tensors.
func (d Datum) ToProtocol() (protocol.Datum, error) {
	if err := d.Check(); err != nil {
		return protocol.Datum{}, err
	}
	toks := make([]int32, len(d.ModelInput))
	for i, t := range d.ModelInput {
		if t < 0 || t > math.MaxInt32 {
			return protocol.Datum{}, fmt.Errorf("model_input[%d] = %d is not a token id", i, t)
		}
		toks[i] = int32(t)
	}
	out := protocol.Datum{ModelInput: protocol.FromTokens(toks), LossFnInputs: map[string]protocol.TensorData{}}
	for k, v := range d.Ints {
		if k == KeyMask {
			continue
		}
		xs := make([]int64, len(v))
		for i, x := range v {
			xs[i] = int64(x)
		}
		out.LossFnInputs[k] = protocol.Int64Tensor(xs)
	}
	for k, v := range d.Floats {
		if k == KeyMask {
			continue
		}
		xs := make([]float32, len(v))
		for i, x := range v {
			xs[i] = float32(x)
		}
		out.LossFnInputs[k] = protocol.Float32Tensor(xs)
	}
	return out, nil
}

// ToProtocolBatch converts a batch, naming the datum that fails.
func ToProtocolBatch(data []Datum) ([]protocol.Datum, error) {
	out := make([]protocol.Datum, len(data))
	for i := range data {
		p, err := data[i].ToProtocol()
		if err != nil {
			return nil, fmt.Errorf("datum %d: %w", i, err)
		}
		out[i] = p
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TrajectoryToData turns one trajectory into training datums (the
// cookbook's trajectory_to_data). Transitions are concatenated while each
// observation extends the sequence built so far (previous observations and
// actions): the datum then holds the whole conversation, with only the new
// observation tokens added at each turn. An observation that does not
// extend the sequence starts a new datum. Action tokens get their sampled
// logprobs, the trajectory's advantage and mask 1; observation tokens get 0
// in all three. A transition whose metrics set parse_error_masked >= 1 gets
// mask 0 and advantage 0 on its action tokens. The sequence is then shifted:
// model_input = seq[:-1], target_tokens = seq[1:], and the per-token arrays
// drop their first entry.
//
// A sequence shorter than two tokens makes no datum (nothing to predict;
// the cookbook emits an empty datum there, which the backend rejects).
func TrajectoryToData(traj *Trajectory, advantage float64) ([]Datum, error) {
	var (
		data                  []Datum
		seq                   []int
		logprobs, advs, masks []float64
	)
	flush := func() {
		if len(seq) >= 2 {
			// The per-token arrays are handed over (they are not reused);
			// the tokens are copied so that input and targets do not share
			// a backing array.
			data = append(data, Datum{
				ModelInput: append([]int(nil), seq[:len(seq)-1]...),
				Ints:       map[string][]int{KeyTargetTokens: append([]int(nil), seq[1:]...)},
				Floats: map[string][]float64{
					KeyLogprobs:   logprobs[1:],
					KeyAdvantages: advs[1:],
					KeyMask:       masks[1:],
				},
			})
		}
		seq, logprobs, advs, masks = nil, nil, nil, nil
	}
	total := 0
	for j := range traj.Transitions {
		total += len(traj.Transitions[j].Observation) + len(traj.Transitions[j].Action)
	}
	grow := func() {
		if seq == nil {
			seq = make([]int, 0, total)
			logprobs = make([]float64, 0, total)
			advs = make([]float64, 0, total)
			masks = make([]float64, 0, total)
		}
	}
	for j := range traj.Transitions {
		tr := &traj.Transitions[j]
		if len(tr.Action) != len(tr.ActionLogprobs) {
			return nil, fmt.Errorf("transition %d: %d action tokens but %d logprobs", j, len(tr.Action), len(tr.ActionLogprobs))
		}
		var delta []int
		switch {
		case len(seq) == 0:
			delta = tr.Observation
		case isPrefix(seq, tr.Observation):
			delta = tr.Observation[len(seq):]
		default:
			flush()
			delta = tr.Observation
		}
		mask, adv := 1.0, advantage
		if tr.Metrics[ParseErrorMaskedMetric] >= 1 {
			mask, adv = 0, 0
		}
		grow()
		seq = append(seq, delta...)
		seq = append(seq, tr.Action...)
		n0 := len(logprobs)
		logprobs = logprobs[:n0+len(delta)]
		advs = advs[:n0+len(delta)]
		masks = masks[:n0+len(delta)]
		for k := n0; k < len(logprobs); k++ {
			logprobs[k], advs[k], masks[k] = 0, 0, 0
		}
		logprobs = append(logprobs, tr.ActionLogprobs...)
		for range tr.Action {
			advs = append(advs, adv)
			masks = append(masks, mask)
		}
	}
	flush()
	return data, nil
}

func isPrefix(prefix, seq []int) bool {
	if len(prefix) > len(seq) {
		return false
	}
	for i := range prefix {
		if prefix[i] != seq[i] {
			return false
		}
	}
	return true
}

// DatumMeta maps a datum back to its group and trajectory.
type DatumMeta struct {
	GroupIndex, TrajectoryIndex int
}

// AssembleTrainingData converts every trajectory of every group into datums
// with its advantage (advantages[g][t], as ComputeAdvantages returns), and
// says where each datum came from.
func AssembleTrainingData(groups []TrajectoryGroup, advantages [][]float64) ([]Datum, []DatumMeta, error) {
	if len(groups) != len(advantages) {
		return nil, nil, fmt.Errorf("%d groups but %d advantage lists", len(groups), len(advantages))
	}
	var data []Datum
	var meta []DatumMeta
	for g := range groups {
		if len(groups[g].Trajectories) != len(advantages[g]) {
			return nil, nil, fmt.Errorf("group %d: %d trajectories but %d advantages", g, len(groups[g].Trajectories), len(advantages[g]))
		}
		for t := range groups[g].Trajectories {
			ds, err := TrajectoryToData(&groups[g].Trajectories[t], advantages[g][t])
			if err != nil {
				return nil, nil, fmt.Errorf("group %d trajectory %d: %w", g, t, err)
			}
			for range ds {
				meta = append(meta, DatumMeta{GroupIndex: g, TrajectoryIndex: t})
			}
			data = append(data, ds...)
		}
	}
	return data, meta, nil
}
