package starrl

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/builtins/startokenizers"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/rl"
)

func plainGroups(gs []*group) []rl.TrajectoryGroup {
	out := make([]rl.TrajectoryGroup, len(gs))
	for i, g := range gs {
		out[i] = g.g
	}
	return out
}

func computeAdvantages(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var gV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "groups", &gV); err != nil {
		return nil, err
	}
	gs, err := asGroups(gV, fn.Name()+": groups")
	if err != nil {
		return nil, err
	}
	adv := rl.ComputeAdvantages(plainGroups(gs))
	out := make([]starlark.Value, len(adv))
	for i, a := range adv {
		out[i] = host.Floats(a)
	}
	return starlark.NewList(out), nil
}

func removeConstant(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var gV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "groups", &gV); err != nil {
		return nil, err
	}
	gs, err := asGroups(gV, fn.Name()+": groups")
	if err != nil {
		return nil, err
	}
	var kept []*group
	n := 0
	for _, g := range gs {
		if g.g.IsConstantReward() {
			n++
			continue
		}
		kept = append(kept, g)
	}
	if len(kept) == 0 && len(gs) > 0 {
		kept = gs[:1]
	}
	return starlark.Tuple{groupsList(kept), starlark.MakeInt(n)}, nil
}

func trainingData(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var gV starlark.Value
	var advV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "groups", &gV, "advantages?", &advV); err != nil {
		return nil, err
	}
	gs, err := asGroups(gV, fn.Name()+": groups")
	if err != nil {
		return nil, err
	}
	plain := plainGroups(gs)
	var adv [][]float64
	if advV == starlark.None {
		adv = rl.ComputeAdvantages(plain)
	} else {
		l, ok := advV.(starlark.Indexable)
		if !ok {
			return nil, fmt.Errorf("%s: advantages: got %s, want a list of lists of floats", fn.Name(), advV.Type())
		}
		for i := range l.Len() {
			a, err := host.AsFloats(l.Index(i), fmt.Sprintf("%s: advantages[%d]", fn.Name(), i))
			if err != nil {
				return nil, err
			}
			adv = append(adv, a)
		}
	}
	data, _, err := rl.AssembleTrainingData(plain, adv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return newBatch(data), nil
}

func batchSplit(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	b := fn.Receiver().(*batch)
	var n int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	parts, err := rl.SplitList(b.data, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	out := make([]starlark.Value, len(parts))
	for i, p := range parts {
		out[i] = newBatch(p)
	}
	return starlark.NewList(out), nil
}

func batchKL(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	b := fn.Receiver().(*batch)
	var scV starlark.Value
	var coefN, discountN host.Number
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "reference_sampling_client", &scV, "coef", &coefN, "discount?", &discountN); err != nil {
		return nil, err
	}
	coef, discount := float64(coefN), float64(discountN)
	sc, ok := startinker.AsSamplingClient(scV)
	if !ok {
		return nil, fmt.Errorf("%s: reference_sampling_client: got %s, want a tinker SamplingClient", fn.Name(), scV.Type())
	}
	ctx := host.Context(thread)
	refs := make([][]float64, len(b.data))
	errs := make([]error, len(b.data))
	var wg sync.WaitGroup
	for i := range b.data {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := b.data[i].FullSequence()
			toks := make([]int32, len(seq))
			for j, t := range seq {
				toks[j] = int32(t)
			}
			f, err := sc.ComputeLogprobs(ctx, protocol.FromTokens(toks))
			if err == nil {
				refs[i], err = f.Result(ctx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: reference logprobs of datum %d: %w", fn.Name(), i, err)
		}
		if len(refs[i]) > 0 && math.IsNaN(refs[i][0]) {
			refs[i][0] = 0
		}
	}
	m, err := rl.IncorporateKLPenalty(b.data, refs, coef, discount)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	b.once = sync.Once{} // advantages changed: rebuild .data
	b.wire = nil
	return host.ToStarlark(m)
}

func klSampleTrain(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var bV, oV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "batches", &bV, "outputs", &oV); err != nil {
		return nil, err
	}
	bl, ok1 := bV.(starlark.Indexable)
	ol, ok2 := oV.(starlark.Indexable)
	if !ok1 || !ok2 || bl.Len() != ol.Len() {
		return nil, fmt.Errorf("%s: want two lists of the same length (batches and their forward_backward outputs)", fn.Name())
	}
	var data []rl.Datum
	var train [][]float64
	for i := range bl.Len() {
		b, ok := bl.Index(i).(*batch)
		if !ok {
			return nil, fmt.Errorf("%s: batches[%d]: got %s, want an rl.TrainingBatch", fn.Name(), i, bl.Index(i).Type())
		}
		out, ok := startinker.AsForwardBackwardOutput(ol.Index(i))
		if !ok {
			return nil, fmt.Errorf("%s: outputs[%d]: got %s, want a ForwardBackwardOutput", fn.Name(), i, ol.Index(i).Type())
		}
		if len(out.LossFnOutputs) != len(b.data) {
			return nil, fmt.Errorf("%s: outputs[%d] has %d datum outputs for %d datums", fn.Name(), i, len(out.LossFnOutputs), len(b.data))
		}
		for j, o := range out.LossFnOutputs {
			lp, ok := o["logprobs"]
			if !ok {
				return nil, fmt.Errorf("%s: outputs[%d][%d] has no logprobs", fn.Name(), i, j)
			}
			train = append(train, lp.Floats())
		}
		data = append(data, b.data...)
	}
	m, err := rl.ComputeKLSampleTrain(data, train)
	if err != nil {
		if err == rl.ErrNoActionTokens {
			return starlark.NewDict(0), nil
		}
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return host.ToStarlark(m)
}

func trajectoryMetrics(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var gV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "groups", &gV); err != nil {
		return nil, err
	}
	gs, err := asGroups(gV, fn.Name()+": groups")
	if err != nil {
		return nil, err
	}
	tags := make([][]string, len(gs))
	for i, g := range gs {
		tags[i] = g.tags
	}
	m, err := rl.ComputeTrajectoryMetrics(plainGroups(gs), tags)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return host.ToStarlark(m)
}

type summaryTurn struct {
	Observation string             `json:"observation"`
	Action      string             `json:"action"`
	Reward      float64            `json:"reward"`
	StopReason  string             `json:"stop_reason,omitempty"`
	Metrics     map[string]float64 `json:"metrics,omitempty"`
	Logs        map[string]any     `json:"logs,omitempty"`
}

type summary struct {
	Step        int           `json:"step"`
	Group       int           `json:"group"`
	Trajectory  int           `json:"trajectory"`
	Tags        []string      `json:"tags,omitempty"`
	Version     int           `json:"policy_version"`
	TotalReward float64       `json:"total_reward"`
	FinalReward float64       `json:"final_reward"`
	Advantage   float64       `json:"advantage"`
	Turns       []summaryTurn `json:"turns"`
}

func writeRolloutSummaries(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		dir       string
		step      int
		gV, tokV  starlark.Value
		prefix    = "train"
		maxGroups = 4
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "log_dir", &dir, "step", &step, "groups", &gV, "tokenizer", &tokV, "prefix?", &prefix, "max_groups?", &maxGroups); err != nil {
		return nil, err
	}
	gs, err := asGroups(gV, fn.Name()+": groups")
	if err != nil {
		return nil, err
	}
	tok, ok := startokenizers.AsTokenizer(tokV)
	if !ok {
		return nil, fmt.Errorf("%s: tokenizer: got %s, want a tokenizer", fn.Name(), tokV.Type())
	}
	if strings.ContainsAny(prefix, "/\\") {
		return nil, fmt.Errorf("%s: prefix %q must not contain a path separator", fn.Name(), prefix)
	}
	out := filepath.Join(dir, fmt.Sprintf("iteration_%06d", step))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	var js, txt strings.Builder
	for gi, g := range gs {
		if gi >= maxGroups {
			break
		}
		rewards := g.g.TotalRewards()
		adv := rl.ComputeAdvantages([]rl.TrajectoryGroup{g.g})[0]
		fmt.Fprintf(&txt, "==== step %d  group %d  tags %v  policy version %d  rewards %v\n", step, gi, g.tags, g.version, roundAll(rewards))
		for ti, t := range g.g.Trajectories {
			s := summary{Step: step, Group: gi, Trajectory: ti, Tags: g.tags, Version: g.version, TotalReward: rewards[ti], Advantage: adv[ti]}
			if len(g.g.FinalRewards) == len(g.g.Trajectories) {
				s.FinalReward = g.g.FinalRewards[ti]
			}
			fmt.Fprintf(&txt, "---- trajectory %d  total reward %.4g  advantage %+.4g\n", ti, rewards[ti], adv[ti])
			for k, tr := range t.Transitions {
				ob := tr.Observation
				if k > 0 {
					// Show only the new tokens when the observation extends the
					// previous turn.
					prev := append(append([]int(nil), t.Transitions[k-1].Observation...), t.Transitions[k-1].Action...)
					if len(prev) <= len(ob) && slices.Equal(prev, ob[:len(prev)]) {
						ob = ob[len(prev):]
					}
				}
				turn := summaryTurn{Observation: tok.Decode(ob), Action: tok.Decode(tr.Action), Reward: tr.Reward, StopReason: tr.SampleStopReason, Metrics: tr.Metrics, Logs: tr.Logs}
				s.Turns = append(s.Turns, turn)
				fmt.Fprintf(&txt, "[observation]\n%s\n[action] (reward %.4g, %s)\n%s\n", turn.Observation, tr.Reward, tr.SampleStopReason, turn.Action)
				if len(tr.Metrics) > 0 {
					mb, _ := json.Marshal(tr.Metrics)
					fmt.Fprintf(&txt, "[metrics] %s\n", mb)
				}
			}
			b, err := json.Marshal(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn.Name(), err)
			}
			js.Write(b)
			js.WriteByte('\n')
		}
		txt.WriteByte('\n')
	}
	path := filepath.Join(out, prefix+"_rollout_summaries.jsonl")
	if err := os.WriteFile(path, []byte(js.String()), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if err := os.WriteFile(filepath.Join(out, prefix+"_rollout_summaries.txt"), []byte(txt.String()), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.String(path), nil
}

func roundAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*1e4) / 1e4
	}
	return out
}
