// Package rl is the data-processing half of reinforcement learning in tkx,
// ported from the cookbook's rl/types.py, rl/data_processing.py and
// rl/metrics.py / metric_util.py: trajectories and groups, group-relative
// advantages (reward − group mean, no std normalisation),
// remove_constant_reward_groups, turning trajectories into training datums
// (multi-turn episodes merged into one datum when each observation extends
// the previous sequence), the KL penalty against a reference model, and the
// RL metrics. Rollouts and training loops live elsewhere; everything here is
// pure computation over these types.
package rl

import (
	"fmt"
	"math"
	"strings"
)

// StopMetricPrefix is the prefix of the one-hot stop-reason metrics
// ("stop/<reason>") an environment sets on an episode's final transition.
const StopMetricPrefix = "stop/"

// ParseErrorMaskedMetric marks a transition whose action failed to parse
// and must not be trained on (its tokens get mask 0 and advantage 0).
const ParseErrorMaskedMetric = "parse_error_masked"

// Stop reasons (the cookbook's StopReason).
const (
	StopCompleted        = "completed"
	StopToolStopped      = "tool_stopped"
	StopMaxTurns         = "max_turns"
	StopMaxTokens        = "max_tokens"
	StopMaxSampledTokens = "max_sampled_tokens"
	StopMaxToolCalls     = "max_tool_calls"
	StopContextOverflow  = "context_overflow"
	StopParseError       = "parse_error"
	StopRolloutTimeout   = "rollout_timeout"
)

// Transition is one (observation, action, reward) step of an episode.
type Transition struct {
	// Observation is the model input the policy saw, as tokens (image and
	// other non-text chunks are not supported here).
	Observation []int
	// Action is the sampled tokens and ActionLogprobs their sampling
	// log-probabilities (same length).
	Action         []int
	ActionLogprobs []float64
	// SampleStopReason is the sampler's reason ("stop" or "length"), if known.
	SampleStopReason string
	Reward           float64
	EpisodeDone      bool
	// Metrics are numeric values averaged into the logs; Logs are
	// diagnostics for display only.
	Metrics map[string]float64
	Logs    map[string]any
}

// Trajectory is one complete episode.
type Trajectory struct {
	Transitions      []Transition
	FinalObservation []int
	// StopReason is why the episode ended ("" when unknown); when empty the
	// final transition's stop/<reason> metric is used.
	StopReason string
}

// RolloutError is a failed rollout kept on its group (error-tolerant
// rollout strategies).
type RolloutError struct {
	Type    string
	Message string
}

// TrajectoryGroup is the trajectories of one EnvGroupBuilder.
type TrajectoryGroup struct {
	Trajectories []Trajectory
	// FinalRewards are the group-level rewards (compute_group_rewards), one
	// per trajectory; nil means all zero.
	FinalRewards []float64
	// Metrics are the group-level metrics, one map per trajectory (or nil).
	Metrics       []map[string]float64
	RolloutErrors []RolloutError
}

// Reason returns the stop reason of the trajectory: StopReason, or the
// stop/<reason> metric of the final transition, or "".
func (t *Trajectory) Reason() string {
	if t.StopReason != "" {
		return t.StopReason
	}
	if n := len(t.Transitions); n > 0 {
		best := ""
		for k, v := range t.Transitions[n-1].Metrics {
			if strings.HasPrefix(k, StopMetricPrefix) && v != 0 {
				if r := k[len(StopMetricPrefix):]; best == "" || r < best { // deterministic if several
					best = r
				}
			}
		}
		return best
	}
	return ""
}

// TotalReward is the sum of the step rewards.
func (t *Trajectory) TotalReward() float64 {
	s := 0.0
	for i := range t.Transitions {
		s += t.Transitions[i].Reward
	}
	return s
}

// TotalRewards returns, per trajectory, the sum of its step rewards plus its
// final (group) reward. Call Validate first: a FinalRewards of the wrong
// length counts as all zero here.
func (g *TrajectoryGroup) TotalRewards() []float64 {
	out := make([]float64, len(g.Trajectories))
	for i := range g.Trajectories {
		out[i] = g.Trajectories[i].TotalReward()
		if len(g.FinalRewards) == len(g.Trajectories) {
			out[i] += g.FinalRewards[i]
		}
	}
	return out
}

// Validate checks the group's invariants and names the first offending
// field: FinalRewards/Metrics lengths, action token/logprob lengths,
// finite rewards and logprobs, non-negative tokens.
func (g *TrajectoryGroup) Validate() error {
	if g.FinalRewards != nil && len(g.FinalRewards) != len(g.Trajectories) {
		return fmt.Errorf("final_rewards has %d entries for %d trajectories", len(g.FinalRewards), len(g.Trajectories))
	}
	if g.Metrics != nil && len(g.Metrics) != len(g.Trajectories) {
		return fmt.Errorf("metrics has %d entries for %d trajectories", len(g.Metrics), len(g.Trajectories))
	}
	for i, r := range g.FinalRewards {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return fmt.Errorf("final_rewards[%d] = %v is not finite", i, r)
		}
	}
	for i := range g.Trajectories {
		for j := range g.Trajectories[i].Transitions {
			tr := &g.Trajectories[i].Transitions[j]
			where := fmt.Sprintf("trajectories[%d].transitions[%d]", i, j)
			if len(tr.Action) != len(tr.ActionLogprobs) {
				return fmt.Errorf("%s: %d action tokens but %d logprobs", where, len(tr.Action), len(tr.ActionLogprobs))
			}
			if math.IsNaN(tr.Reward) || math.IsInf(tr.Reward, 0) {
				return fmt.Errorf("%s: reward %v is not finite", where, tr.Reward)
			}
			for k, lp := range tr.ActionLogprobs {
				if math.IsNaN(lp) || math.IsInf(lp, 0) {
					return fmt.Errorf("%s: action_logprobs[%d] = %v is not finite", where, k, lp)
				}
			}
			for k, tok := range tr.Observation {
				if tok < 0 {
					return fmt.Errorf("%s: observation[%d] = %d is negative", where, k, tok)
				}
			}
			for k, tok := range tr.Action {
				if tok < 0 {
					return fmt.Errorf("%s: action[%d] = %d is negative", where, k, tok)
				}
			}
		}
	}
	return nil
}
