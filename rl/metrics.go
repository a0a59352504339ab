package rl

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// DictMean averages metric maps key by key; a key missing from a map is
// left out of that key's mean (not counted as zero).
func DictMean(maps []map[string]float64) map[string]float64 {
	sum := map[string]float64{}
	cnt := map[string]int{}
	for _, m := range maps {
		for k, v := range m {
			sum[k] += v
			cnt[k]++
		}
	}
	out := make(map[string]float64, len(sum))
	for k, s := range sum {
		out[k] = s / float64(cnt[k])
	}
	return out
}

// ByGroupMetrics is the fraction of groups whose rewards are mixed, all
// good (constant and >= goodThresh) or all bad (constant and below).
func ByGroupMetrics(groups []TrajectoryGroup, goodThresh float64) map[string]float64 {
	out := map[string]float64{"by_group/frac_mixed": 0, "by_group/frac_all_good": 0, "by_group/frac_all_bad": 0}
	if len(groups) == 0 {
		return out
	}
	var mixed, good, bad int
	for i := range groups {
		rs := groups[i].TotalRewards()
		switch {
		case !groups[i].IsConstantReward():
			mixed++
		case len(rs) > 0 && rs[0] >= goodThresh:
			good++
		default:
			bad++
		}
	}
	n := float64(len(groups))
	out["by_group/frac_mixed"] = float64(mixed) / n
	out["by_group/frac_all_good"] = float64(good) / n
	out["by_group/frac_all_bad"] = float64(bad) / n
	return out
}

// ComputeTrajectoryMetrics is the cookbook's compute_trajectory_metrics:
// metrics over all groups under "env/all/", and, when some tag selects a
// strict subset of the groups, the same metrics per tag under
// "env/<tag>/". tags[i] are the logging tags of groups[i] (nil: none).
//
// Per prefix: ac_tokens_per_turn, ob_tokens_per_turn, turns_per_episode,
// total_episodes, total_turns, total_ac_tokens, total_ob_tokens,
// reward/total (mean total reward), reward/total_std (population std),
// the mean of every transition and group metric (DictMean), by_group/*
// (threshold 0.5), and stop/<reason>: the fraction of episodes that ended
// for each reason (Trajectory.Reason()).
//
// Two deliberate differences from the cookbook: reward/total_std is added,
// and stop/<reason> is a fraction of episodes, where the cookbook's mean of
// one-hot metrics present only on episodes with that reason is always 1.
func ComputeTrajectoryMetrics(groups []TrajectoryGroup, tags [][]string) (map[string]float64, error) {
	if tags != nil && len(tags) != len(groups) {
		return nil, fmt.Errorf("%d tag lists for %d groups", len(tags), len(groups))
	}
	byTag := map[string][]TrajectoryGroup{}
	var tagOrder []string
	for i := range groups {
		if tags == nil {
			break
		}
		for _, tag := range tags[i] {
			if _, ok := byTag[tag]; !ok {
				tagOrder = append(tagOrder, tag)
			}
			byTag[tag] = append(byTag[tag], groups[i])
		}
	}
	nonTrivial := false
	for _, gs := range byTag {
		if len(gs) < len(groups) {
			nonTrivial = true
		}
	}
	out := map[string]float64{}
	if nonTrivial {
		sort.Strings(tagOrder)
		for _, tag := range tagOrder {
			for k, v := range trajectoryMetrics(byTag[tag]) {
				out["env/"+tag+"/"+k] = v
			}
		}
	}
	for k, v := range trajectoryMetrics(groups) {
		out["env/all/"+k] = v
	}
	return out, nil
}

func trajectoryMetrics(groups []TrajectoryGroup) map[string]float64 {
	var turns, episodes, acTokens, obTokens int
	var rewards []float64
	var stepMetrics []map[string]float64
	stops := map[string]int{}
	for gi := range groups {
		g := &groups[gi]
		rewards = append(rewards, g.TotalRewards()...)
		for ti := range g.Trajectories {
			tr := &g.Trajectories[ti]
			episodes++
			turns += len(tr.Transitions)
			for k := range tr.Transitions {
				acTokens += len(tr.Transitions[k].Action)
				obTokens += len(tr.Transitions[k].Observation)
				if m := withoutStopMetrics(tr.Transitions[k].Metrics); len(m) > 0 {
					stepMetrics = append(stepMetrics, m)
				}
			}
			if r := tr.Reason(); r != "" {
				stops[r]++
			}
		}
		for _, m := range g.Metrics {
			if m := withoutStopMetrics(m); len(m) > 0 {
				stepMetrics = append(stepMetrics, m)
			}
		}
	}
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	out := map[string]float64{
		"ac_tokens_per_turn": div(acTokens, turns),
		"ob_tokens_per_turn": div(obTokens, turns),
		"turns_per_episode":  div(turns, episodes),
		"total_episodes":     float64(episodes),
		"total_turns":        float64(turns),
		"total_ac_tokens":    float64(acTokens),
		"total_ob_tokens":    float64(obTokens),
	}
	mean, std := meanStd(rewards)
	out["reward/total"] = mean
	out["reward/total_std"] = std
	for k, v := range DictMean(stepMetrics) {
		out[k] = v
	}
	for k, v := range ByGroupMetrics(groups, 0.5) {
		out[k] = v
	}
	for r, c := range stops {
		out[StopMetricPrefix+r] = div(c, episodes)
	}
	return out
}

func withoutStopMetrics(m map[string]float64) map[string]float64 {
	has := false
	for k := range m {
		if strings.HasPrefix(k, StopMetricPrefix) {
			has = true
			break
		}
	}
	if !has {
		return m
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, StopMetricPrefix) {
			out[k] = v
		}
	}
	return out
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// RemovedGroupsMetrics reports how many groups remove_constant_reward_groups
// found constant, for the logs.
func RemovedGroupsMetrics(total, numConstant int) map[string]float64 {
	frac := 0.0
	if total > 0 {
		frac = float64(numConstant) / float64(total)
	}
	return map[string]float64{
		"env/all/constant_reward_groups":      float64(numConstant),
		"env/all/constant_reward_groups_frac": frac,
	}
}
