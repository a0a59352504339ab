package rl

// ComputeAdvantages returns, per group, each trajectory's total reward minus
// the group's mean total reward. There is no division by the standard
// deviation (the cookbook does not normalise).
func ComputeAdvantages(groups []TrajectoryGroup) [][]float64 {
	out := make([][]float64, len(groups))
	for i := range groups {
		rewards := groups[i].TotalRewards()
		mean := 0.0
		for _, r := range rewards {
			mean += r
		}
		if len(rewards) > 0 {
			mean /= float64(len(rewards))
		}
		adv := make([]float64, len(rewards))
		for j, r := range rewards {
			adv[j] = r - mean
		}
		out[i] = adv
	}
	return out
}

// IsConstantReward reports whether every trajectory of the group has the
// same total reward (compared exactly, like the cookbook's all_same), so its
// advantages are all zero.
func (g *TrajectoryGroup) IsConstantReward() bool {
	rs := g.TotalRewards()
	for _, r := range rs {
		if r != rs[0] {
			return false
		}
	}
	return true
}

// RemoveConstantRewardGroups drops the groups whose trajectories all have
// the same total reward (they carry no gradient) and returns the rest with
// the number of constant groups found. When every group is constant it
// keeps the first one, as the cookbook does, so that callers never get an
// empty batch (the dropped count is then numConstant−1).
func RemoveConstantRewardGroups(groups []TrajectoryGroup) (kept []TrajectoryGroup, numConstant int) {
	for i := range groups {
		if groups[i].IsConstantReward() {
			numConstant++
			continue
		}
		kept = append(kept, groups[i])
	}
	if len(kept) == 0 && len(groups) > 0 {
		kept = groups[:1:1]
	}
	return kept, numConstant
}
