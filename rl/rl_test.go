package rl

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/protocol"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func nearSlice(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

// oneStep is a single-turn trajectory with the given reward.
func oneStep(reward float64) Trajectory {
	return Trajectory{Transitions: []Transition{{
		Observation: []int{1, 2}, Action: []int{3}, ActionLogprobs: []float64{-0.5},
		Reward: reward, EpisodeDone: true,
	}}}
}

func TestAdvantagesAreCenteredNotNormalized(t *testing.T) {
	g := TrajectoryGroup{
		Trajectories: []Trajectory{oneStep(1), oneStep(0), oneStep(0), oneStep(1)},
		FinalRewards: []float64{0, 0.5, 0, 0},
	}
	// Totals 1, 0.5, 0, 1; mean 0.625. No division by the std (0.41...).
	nearSlice(t, "totals", g.TotalRewards(), []float64{1, 0.5, 0, 1})
	adv := ComputeAdvantages([]TrajectoryGroup{g})
	nearSlice(t, "advantages", adv[0], []float64{0.375, -0.125, -0.625, 0.375})

	// Multi-step rewards add up.
	two := Trajectory{Transitions: []Transition{{Reward: 0.25}, {Reward: 0.5}}}
	g2 := TrajectoryGroup{Trajectories: []Trajectory{two, oneStep(0)}}
	nearSlice(t, "multi-step", ComputeAdvantages([]TrajectoryGroup{g2})[0], []float64{0.375, -0.375})
}

func TestRemoveConstantRewardGroups(t *testing.T) {
	constOne := TrajectoryGroup{Trajectories: []Trajectory{oneStep(1), oneStep(1)}}
	mixed := TrajectoryGroup{Trajectories: []Trajectory{oneStep(1), oneStep(0)}}
	constZero := TrajectoryGroup{Trajectories: []Trajectory{oneStep(0), oneStep(0)}}
	// Equal step rewards but different group rewards: not constant.
	mixedByFinal := TrajectoryGroup{Trajectories: []Trajectory{oneStep(0), oneStep(0)}, FinalRewards: []float64{1, 0}}

	kept, n := RemoveConstantRewardGroups([]TrajectoryGroup{constOne, mixed, constZero, mixedByFinal})
	if n != 2 || len(kept) != 2 || kept[0].Trajectories[1].Transitions[0].Reward != 0 || kept[1].FinalRewards == nil {
		t.Fatalf("kept %d groups, %d constant", len(kept), n)
	}
	// All constant: the first group is kept so the batch is not empty.
	kept, n = RemoveConstantRewardGroups([]TrajectoryGroup{constZero, constOne})
	if n != 2 || len(kept) != 1 || kept[0].TotalRewards()[0] != 0 {
		t.Fatalf("all constant: kept %d, constant %d", len(kept), n)
	}
	if kept, n := RemoveConstantRewardGroups(nil); len(kept) != 0 || n != 0 {
		t.Fatal("empty input")
	}
	m := RemovedGroupsMetrics(4, 2)
	if m["env/all/constant_reward_groups"] != 2 || m["env/all/constant_reward_groups_frac"] != 0.5 {
		t.Fatalf("metrics %v", m)
	}
}

func TestSingleTurnDatum(t *testing.T) {
	traj := Trajectory{Transitions: []Transition{{
		Observation: []int{1, 2, 3}, Action: []int{4, 5}, ActionLogprobs: []float64{-0.1, -0.2}, Reward: 1, EpisodeDone: true,
	}}}
	data, err := TrajectoryToData(&traj, 0.5)
	if err != nil || len(data) != 1 {
		t.Fatalf("%v, %d datums", err, len(data))
	}
	d := data[0]
	if !reflect.DeepEqual(d.ModelInput, []int{1, 2, 3, 4}) || !reflect.DeepEqual(d.Ints[KeyTargetTokens], []int{2, 3, 4, 5}) {
		t.Fatalf("input %v targets %v", d.ModelInput, d.Ints[KeyTargetTokens])
	}
	nearSlice(t, "logprobs", d.Floats[KeyLogprobs], []float64{0, 0, -0.1, -0.2})
	nearSlice(t, "advantages", d.Floats[KeyAdvantages], []float64{0, 0, 0.5, 0.5})
	nearSlice(t, "mask", d.Floats[KeyMask], []float64{0, 0, 1, 1})
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.FullSequence(), []int{1, 2, 3, 4, 5}) {
		t.Fatalf("full sequence %v", d.FullSequence())
	}
}

func TestMultiTurnMergeAndSplit(t *testing.T) {
	a := 2.0
	traj := Trajectory{Transitions: []Transition{
		{Observation: []int{1, 2}, Action: []int{3}, ActionLogprobs: []float64{-1}},
		// Extends [1 2 3] with the new observation token 4: merged.
		{Observation: []int{1, 2, 3, 4}, Action: []int{5, 6}, ActionLogprobs: []float64{-2, -3}},
		// Does not extend [1..6]: a new datum.
		{Observation: []int{9, 9}, Action: []int{7}, ActionLogprobs: []float64{-4}, EpisodeDone: true},
	}}
	data, err := TrajectoryToData(&traj, a)
	if err != nil || len(data) != 2 {
		t.Fatalf("%v, %d datums", err, len(data))
	}
	d := data[0]
	if !reflect.DeepEqual(d.ModelInput, []int{1, 2, 3, 4, 5}) || !reflect.DeepEqual(d.Ints[KeyTargetTokens], []int{2, 3, 4, 5, 6}) {
		t.Fatalf("merged: input %v targets %v", d.ModelInput, d.Ints[KeyTargetTokens])
	}
	nearSlice(t, "merged logprobs", d.Floats[KeyLogprobs], []float64{0, -1, 0, -2, -3})
	nearSlice(t, "merged advantages", d.Floats[KeyAdvantages], []float64{0, a, 0, a, a})
	nearSlice(t, "merged mask", d.Floats[KeyMask], []float64{0, 1, 0, 1, 1})
	d = data[1]
	if !reflect.DeepEqual(d.ModelInput, []int{9, 9}) || !reflect.DeepEqual(d.Ints[KeyTargetTokens], []int{9, 7}) {
		t.Fatalf("split: input %v targets %v", d.ModelInput, d.Ints[KeyTargetTokens])
	}
	nearSlice(t, "split logprobs", d.Floats[KeyLogprobs], []float64{0, -4})
	nearSlice(t, "split mask", d.Floats[KeyMask], []float64{0, 1})

	// An observation equal to the sequence so far (no new tokens) merges too.
	traj2 := Trajectory{Transitions: []Transition{
		{Observation: []int{1}, Action: []int{2}, ActionLogprobs: []float64{-1}},
		{Observation: []int{1, 2}, Action: []int{3}, ActionLogprobs: []float64{-2}},
	}}
	data, _ = TrajectoryToData(&traj2, 1)
	if len(data) != 1 || !reflect.DeepEqual(data[0].Ints[KeyTargetTokens], []int{2, 3}) {
		t.Fatalf("got %+v", data)
	}
	nearSlice(t, "mask", data[0].Floats[KeyMask], []float64{1, 1})
}

func TestParseErrorMaskAndEmptyTransitions(t *testing.T) {
	traj := Trajectory{Transitions: []Transition{
		{Observation: []int{1}, Action: []int{2, 3}, ActionLogprobs: []float64{-1, -1},
			Metrics: map[string]float64{ParseErrorMaskedMetric: 1}},
		{Observation: []int{1, 2, 3, 4}, Action: []int{5}, ActionLogprobs: []float64{-2}},
	}}
	data, err := TrajectoryToData(&traj, 3)
	if err != nil || len(data) != 1 {
		t.Fatal(err)
	}
	nearSlice(t, "mask", data[0].Floats[KeyMask], []float64{0, 0, 0, 1})
	nearSlice(t, "advantages", data[0].Floats[KeyAdvantages], []float64{0, 0, 0, 3})
	nearSlice(t, "logprobs", data[0].Floats[KeyLogprobs], []float64{-1, -1, 0, -2}) // sampled logprobs kept

	// The synthetic overflow transition (empty ob and action) makes no datum.
	empty := Trajectory{Transitions: []Transition{{Reward: -0.1, EpisodeDone: true,
		Metrics: map[string]float64{"stop/max_tokens": 1}}}}
	if data, err := TrajectoryToData(&empty, 1); err != nil || len(data) != 0 {
		t.Fatalf("%v %v", data, err)
	}
	bad := Trajectory{Transitions: []Transition{{Observation: []int{1}, Action: []int{2, 3}, ActionLogprobs: []float64{-1}}}}
	if _, err := TrajectoryToData(&bad, 1); err == nil || !strings.Contains(err.Error(), "2 action tokens but 1 logprobs") {
		t.Fatalf("err = %v", err)
	}
}

func TestAssembleTrainingData(t *testing.T) {
	g0 := TrajectoryGroup{Trajectories: []Trajectory{oneStep(1), oneStep(0)}}
	g1 := TrajectoryGroup{Trajectories: []Trajectory{oneStep(0.5)}}
	groups := []TrajectoryGroup{g0, g1}
	data, meta, err := AssembleTrainingData(groups, ComputeAdvantages(groups))
	if err != nil || len(data) != 3 {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta, []DatumMeta{{0, 0}, {0, 1}, {1, 0}}) {
		t.Fatalf("meta %v", meta)
	}
	nearSlice(t, "advantages 0", data[0].Floats[KeyAdvantages], []float64{0, 0.5})
	nearSlice(t, "advantages 1", data[1].Floats[KeyAdvantages], []float64{0, -0.5})
	nearSlice(t, "advantages 2", data[2].Floats[KeyAdvantages], []float64{0, 0})
	if _, _, err := AssembleTrainingData(groups, [][]float64{{1, 2}}); err == nil {
		t.Fatal("want a length error")
	}
	if _, _, err := AssembleTrainingData(groups, [][]float64{{1}, {2}}); err == nil || !strings.Contains(err.Error(), "group 0") {
		t.Fatalf("err = %v", err)
	}
}

func TestMaskStrippedAndProtocolConversion(t *testing.T) {
	traj := Trajectory{Transitions: []Transition{{Observation: []int{10, 11}, Action: []int{258}, ActionLogprobs: []float64{-0.25}}}}
	data, _ := TrajectoryToData(&traj, 1.5)
	d := data[0]
	noMask := d.WithoutMask()
	if _, ok := noMask.Floats[KeyMask]; ok {
		t.Fatal("mask not stripped")
	}
	if _, ok := d.Floats[KeyMask]; !ok {
		t.Fatal("WithoutMask modified the original")
	}
	p, err := d.ToProtocol()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.LossFnInputs[KeyMask]; ok {
		t.Fatal("mask sent on the wire")
	}
	toks, _ := p.ModelInput.Tokens()
	if !reflect.DeepEqual(toks, []int32{10, 11}) {
		t.Fatalf("model input %v", toks)
	}
	tt := p.LossFnInputs[protocol.InputTargetTokens]
	if tt.DType != protocol.DTypeInt64 || !reflect.DeepEqual(tt.Int64, []int64{11, 258}) {
		t.Fatalf("target_tokens %+v", tt)
	}
	adv := p.LossFnInputs[protocol.InputAdvantages]
	if adv.DType != protocol.DTypeFloat32 || !reflect.DeepEqual(adv.Float32, []float32{0, 1.5}) {
		t.Fatalf("advantages %+v", adv)
	}
	lp := p.LossFnInputs[protocol.InputLogprobs]
	if !reflect.DeepEqual(lp.Float32, []float32{0, -0.25}) {
		t.Fatalf("logprobs %+v", lp)
	}
	// Every loss input the importance_sampling loss needs is there.
	spec, _ := protocol.LookupLoss(protocol.LossImportanceSampling)
	for _, k := range spec.Required {
		if _, ok := p.LossFnInputs[k]; !ok {
			t.Fatalf("missing %s", k)
		}
	}
	bad := d.Clone()
	bad.Floats[KeyAdvantages] = bad.Floats[KeyAdvantages][:1]
	if _, err := ToProtocolBatch([]Datum{d, bad}); err == nil || !strings.Contains(err.Error(), `datum 1: loss input "advantages" has 1 entries for 2 positions`) {
		t.Fatalf("err = %v", err)
	}
}

func klDatum() Datum {
	return Datum{
		ModelInput: []int{1, 2, 3},
		Ints:       map[string][]int{KeyTargetTokens: {2, 3, 4}},
		Floats: map[string][]float64{
			KeyLogprobs:   {0, -1, -2},
			KeyAdvantages: {0, 1, 1},
			KeyMask:       {0, 1, 1},
		},
	}
}

func TestKLPenalty(t *testing.T) {
	// Reference logprobs of the full sequence [1 2 3 4]; the first is unused.
	ref := [][]float64{{math.NaN(), 9, -1.5, -1.0}}
	// d = lp - ref on action tokens = [0, 0.5, -1]; avg = -0.5/2 = -0.25.
	// kl = 0.1 * mask * (avg - d) = [0, -0.075, 0.075].
	data := []Datum{klDatum()}
	m, err := IncorporateKLPenalty(data, ref, 0.1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(m["kl_policy_base"], -0.25) {
		t.Fatalf("kl_policy_base %v", m)
	}
	nearSlice(t, "advantages", data[0].Floats[KeyAdvantages], []float64{0, 0.925, 1.075})

	// With discount 0.5 the penalty is replaced by its discounted future sum:
	// [0 + 0.5*(-0.0375), -0.075 + 0.5*0.075, 0.075] = [-0.01875, -0.0375, 0.075].
	data = []Datum{klDatum()}
	if _, err := IncorporateKLPenalty(data, ref, 0.1, 0.5); err != nil {
		t.Fatal(err)
	}
	nearSlice(t, "discounted", data[0].Floats[KeyAdvantages], []float64{-0.01875, 0.9625, 1.075})

	nearSlice(t, "dfs", DiscountedFutureSum([]float64{1, 2, 3}, 0.5), []float64{1 + 0.5*(2+0.5*3), 2 + 0.5*3, 3})

	if _, err := IncorporateKLPenalty([]Datum{klDatum()}, [][]float64{{1, 2, 3}}, 0.1, 0); err == nil ||
		!strings.Contains(err.Error(), "3 reference logprobs, want 4") {
		t.Fatalf("err = %v", err)
	}
	stripped := klDatum().WithoutMask()
	if _, err := IncorporateKLPenalty([]Datum{stripped}, ref, 0.1, 0); err == nil {
		t.Fatal("want an error for a datum without mask")
	}
	noAction := klDatum()
	noAction.Floats[KeyMask] = []float64{0, 0, 0}
	if _, err := IncorporateKLPenalty([]Datum{noAction}, ref, 0.1, 0); !errors.Is(err, ErrNoActionTokens) {
		t.Fatalf("err = %v", err)
	}
}

func TestKLSampleTrain(t *testing.T) {
	// Action logprobs -1, -2 sampled; training model says -1.5, -1.0.
	// diffs 0.5, -1: v1 = -0.25, v2 = 0.5 * (0.25 + 1) / 2 = 0.3125,
	// entropy = -(-1 - 2)/2 = 1.5. The masked position (5 vs 0) is ignored.
	m, err := ComputeKLSampleTrain([]Datum{klDatum()}, [][]float64{{5, -1.5, -1.0}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"optim/kl_sample_train_v1": -0.25, "optim/kl_sample_train_v2": 0.3125, "optim/entropy": 1.5}
	for k, v := range want {
		if !near(m[k], v) {
			t.Fatalf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, err := ComputeKLSampleTrain([]Datum{klDatum()}, [][]float64{{1}}); err == nil {
		t.Fatal("want a length error")
	}
}

func TestTrajectoryMetrics(t *testing.T) {
	stopped := func(r float64, reason string, ac int, metrics map[string]float64) Trajectory {
		m := map[string]float64{"stop/" + reason: 1}
		for k, v := range metrics {
			m[k] = v
		}
		return Trajectory{Transitions: []Transition{{
			Observation: []int{1, 2, 3}, Action: make([]int, ac), ActionLogprobs: make([]float64, ac),
			Reward: r, EpisodeDone: true, Metrics: m,
		}}}
	}
	math1 := TrajectoryGroup{Trajectories: []Trajectory{
		stopped(1, StopCompleted, 2, map[string]float64{"correct": 1}),
		stopped(0, StopMaxTokens, 4, map[string]float64{"correct": 0}),
	}}
	gsm := TrajectoryGroup{
		Trajectories: []Trajectory{
			stopped(1, StopCompleted, 6, nil),
			{StopReason: StopParseError, Transitions: []Transition{
				{Observation: []int{1}, Action: []int{2}, ActionLogprobs: []float64{0}},
				{Observation: []int{1, 2, 3}, Action: []int{4}, ActionLogprobs: []float64{0}, Reward: 1, EpisodeDone: true},
			}},
		},
		Metrics: []map[string]float64{{"pair": 1}, {"pair": 0}},
	}
	m, err := ComputeTrajectoryMetrics([]TrajectoryGroup{math1, gsm}, [][]string{{"math", "rlvr"}, {"gsm", "rlvr"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		// all: 4 episodes, 5 turns, ac tokens 2+4+6+1+1 = 14, ob 3+3+3+1+3 = 13
		"env/all/total_episodes":         4,
		"env/all/total_turns":            5,
		"env/all/total_ac_tokens":        14,
		"env/all/total_ob_tokens":        13,
		"env/all/ac_tokens_per_turn":     14.0 / 5,
		"env/all/ob_tokens_per_turn":     13.0 / 5,
		"env/all/turns_per_episode":      5.0 / 4,
		"env/all/reward/total":           0.75, // 1, 0, 1, 1
		"env/all/reward/total_std":       math.Sqrt(0.1875),
		"env/all/correct":                0.5,
		"env/all/pair":                   0.5,
		"env/all/stop/completed":         0.5,
		"env/all/stop/max_tokens":        0.25,
		"env/all/stop/parse_error":       0.25,
		"env/all/by_group/frac_mixed":    0.5,
		"env/all/by_group/frac_all_good": 0.5,
		"env/all/by_group/frac_all_bad":  0,
		"env/math/reward/total":          0.5,
		"env/math/reward/total_std":      0.5,
		"env/math/ac_tokens_per_turn":    3,
		"env/math/stop/max_tokens":       0.5,
		"env/gsm/reward/total":           1,
		"env/gsm/turns_per_episode":      1.5,
		"env/gsm/by_group/frac_all_good": 1,
		"env/rlvr/total_episodes":        4,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || !near(got, v) {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := m["env/gsm/correct"]; ok {
		t.Error("gsm has no correct metric")
	}
	// A tag shared by every group alone adds no per-tag block.
	m, _ = ComputeTrajectoryMetrics([]TrajectoryGroup{math1}, [][]string{{"math"}})
	for k := range m {
		if strings.HasPrefix(k, "env/math/") {
			t.Fatalf("unexpected per-tag metric %s", k)
		}
	}
	if _, err := ComputeTrajectoryMetrics([]TrajectoryGroup{math1}, [][]string{}); err == nil {
		t.Fatal("want a length error")
	}
	if d := DictMean([]map[string]float64{{"a": 1}, {"a": 3, "b": 5}}); d["a"] != 2 || d["b"] != 5 {
		t.Fatalf("DictMean %v", d)
	}
}

func TestValidate(t *testing.T) {
	g := TrajectoryGroup{Trajectories: []Trajectory{oneStep(1)}, FinalRewards: []float64{0, 1}}
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "final_rewards has 2 entries for 1 trajectories") {
		t.Fatalf("err = %v", err)
	}
	g = TrajectoryGroup{Trajectories: []Trajectory{{Transitions: []Transition{{Action: []int{1}, ActionLogprobs: []float64{math.NaN()}}}}}}
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "trajectories[0].transitions[0]: action_logprobs[0]") {
		t.Fatalf("err = %v", err)
	}
	g = TrajectoryGroup{Trajectories: []Trajectory{oneStep(1)}}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	tr := Trajectory{Transitions: []Transition{{Metrics: map[string]float64{"stop/max_turns": 1, "x": 2}}}}
	if tr.Reason() != StopMaxTurns {
		t.Fatalf("reason %q", tr.Reason())
	}
}

func BenchmarkAssembleTrainingData(b *testing.B) {
	// 64 groups of 16 single-turn trajectories, 200 prompt + 100 action tokens.
	var groups []TrajectoryGroup
	for g := 0; g < 64; g++ {
		var trajs []Trajectory
		for t := 0; t < 16; t++ {
			ob := make([]int, 200)
			ac := make([]int, 100)
			trajs = append(trajs, Trajectory{Transitions: []Transition{{Observation: ob, Action: ac,
				ActionLogprobs: make([]float64, 100), Reward: float64(t % 2), EpisodeDone: true}}})
		}
		groups = append(groups, TrajectoryGroup{Trajectories: trajs})
	}
	b.ReportAllocs()
	for b.Loop() {
		adv := ComputeAdvantages(groups)
		if _, _, err := AssembleTrainingData(groups, adv); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSplitList(t *testing.T) {
	xs := []int{1, 2, 3, 4, 5}
	got, err := SplitList(xs, 2)
	if err != nil || !reflect.DeepEqual(got, [][]int{{1, 2}, {3, 4, 5}}) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, _ = SplitList(xs, 3) // edges 0, 1.67->1, 3.33->3, 5
	if !reflect.DeepEqual(got, [][]int{{1}, {2, 3}, {4, 5}}) {
		t.Fatalf("got %v", got)
	}
	got, _ = SplitList(xs, 5)
	if len(got) != 5 || got[4][0] != 5 {
		t.Fatalf("got %v", got)
	}
	if _, err := SplitList(xs, 6); err == nil {
		t.Fatal("want an error for too many parts")
	}
	if _, err := SplitList(xs, 0); err == nil {
		t.Fatal("want an error for 0 parts")
	}
}
