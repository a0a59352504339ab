package rollout

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/rl"
)

// fakePolicy answers with the observation's length as one token, and the
// policy version as a second; logprob -0.5 each.
type fakePolicy struct {
	version atomic.Int64
	single  atomic.Int64
	multi   atomic.Int64
}

func (p *fakePolicy) Complete(ctx context.Context, ob []int, stop StopCondition) (Action, error) {
	p.single.Add(1)
	return Action{Tokens: []int{len(ob), int(p.version.Load())}, Logprobs: []float64{-0.5, -0.5}, StopReason: "stop"}, nil
}

func (p *fakePolicy) CompleteN(ctx context.Context, ob []int, stop StopCondition, n int) ([]Action, error) {
	p.multi.Add(1)
	out := make([]Action, n)
	for i := range out {
		out[i] = Action{Tokens: []int{len(ob) + i, int(p.version.Load())}, Logprobs: []float64{-0.5, -0.5}, StopReason: "stop"}
	}
	return out, nil
}

func (p *fakePolicy) PolicyVersion() int { return int(p.version.Load()) }

// fakeEnv: `turns` turns; reward = first action token on the last turn.
type fakeEnv struct {
	turns   int
	n       int
	failAt  int // step index that fails (-1: never)
	block   chan struct{}
	hang    bool
	prompt  []int
	stepped int
}

func (e *fakeEnv) InitialObservation(ctx context.Context) ([]int, StopCondition, error) {
	return e.prompt, StopCondition{Tokens: []int{0}}, nil
}

func (e *fakeEnv) Step(ctx context.Context, a Action) (StepResult, error) {
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return StepResult{}, context.Cause(ctx)
		}
	}
	if e.hang {
		<-ctx.Done()
		return StepResult{}, context.Cause(ctx)
	}
	if e.stepped == e.failAt {
		return StepResult{}, fmt.Errorf("env exploded at step %d", e.stepped)
	}
	e.stepped++
	done := e.stepped >= e.turns
	r := StepResult{EpisodeDone: done, Metrics: map[string]float64{"m": 1}}
	if done {
		r.Reward = float64(a.Tokens[0])
	} else {
		r.NextObservation = append(append(slices.Clone(e.prompt), a.Tokens...), 9)
		e.prompt = r.NextObservation
	}
	return r, nil
}

type fakeBuilder struct {
	size     int
	turns    int
	failEnv  int // env index that fails on its first step (-1: none)
	failOnce bool
	made     atomic.Int64
	block    chan struct{}
	hang     int // env index that hangs (-1: none)
	prompt   []int
}

func (b *fakeBuilder) MakeEnvs(ctx context.Context) ([]Env, error) {
	attempt := b.made.Add(1)
	envs := make([]Env, b.size)
	for i := range envs {
		e := &fakeEnv{turns: b.turns, failAt: -1, block: b.block, prompt: slices.Clone(b.prompt)}
		if i == b.failEnv && (!b.failOnce || attempt == 1) {
			e.failAt = 0
		}
		e.hang = i == b.hang
		envs[i] = e
	}
	return envs, nil
}

func (b *fakeBuilder) ComputeGroupRewards(ctx context.Context, trajs []rl.Trajectory, envs []Env) ([]float64, []map[string]float64, error) {
	out := make([]float64, len(trajs))
	for i := range out {
		out[i] = 0.25
	}
	return out, nil, nil
}

func (b *fakeBuilder) Tags() []string { return []string{"fake"} }

func newBuilder(size, turns int) *fakeBuilder {
	return &fakeBuilder{size: size, turns: turns, failEnv: -1, hang: -1, prompt: []int{1, 2, 3}}
}

func TestGroupRolloutsMultiTurnAndBatchedFirstTurn(t *testing.T) {
	p := &fakePolicy{}
	bs := []EnvGroupBuilder{newBuilder(4, 2), newBuilder(4, 2), newBuilder(4, 2)}
	res, err := DoGroupRollouts(context.Background(), bs, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	groups, tags := res.Kept()
	if len(groups) != 3 || len(tags) != 3 || tags[0][0] != "fake" {
		t.Fatalf("got %d groups, tags %v", len(groups), tags)
	}
	// One batched first-turn request per group, then one request per episode.
	if p.multi.Load() != 3 || p.single.Load() != 12 {
		t.Fatalf("requests: multi %d single %d, want 3 and 12", p.multi.Load(), p.single.Load())
	}
	for _, g := range groups {
		if len(g.Trajectories) != 4 {
			t.Fatalf("group has %d trajectories", len(g.Trajectories))
		}
		tr := g.Trajectories[1]
		if len(tr.Transitions) != 2 || !tr.Transitions[1].EpisodeDone || tr.Transitions[0].EpisodeDone {
			t.Fatalf("transitions: %+v", tr.Transitions)
		}
		// Second observation extends the first: prompt + action + 9.
		if want := []int{1, 2, 3, 4, 0, 9}; !slices.Equal(tr.Transitions[1].Observation, want) {
			t.Fatalf("second observation %v, want %v", tr.Transitions[1].Observation, want)
		}
		// Reward = len(second observation) = 6, plus group reward 0.25.
		if got := g.TotalRewards()[1]; got != 6.25 {
			t.Fatalf("total reward %v", got)
		}
		data, err := rl.TrajectoryToData(&tr, 1)
		if err != nil || len(data) != 1 {
			t.Fatalf("multi-turn trajectory should merge into one datum: %d, %v", len(data), err)
		}
	}
	if m := res.Metrics(); m["rollouts/episodes"] != 12 || m["rollouts/failures"] != 0 {
		t.Fatalf("metrics %v", m)
	}
}

func TestFailFastReportsTheFailingEpisode(t *testing.T) {
	b := newBuilder(3, 1)
	b.failEnv = 2
	_, err := DoGroupRollouts(context.Background(), []EnvGroupBuilder{newBuilder(3, 1), b}, &fakePolicy{}, Options{})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a *Failure, got %v", err)
	}
	if f.Group != 1 || f.Episode != 2 || f.Phase != "step" || !strings.Contains(err.Error(), "env exploded") {
		t.Fatalf("failure %+v: %v", f, err)
	}
}

func TestMinViableGroup(t *testing.T) {
	b := newBuilder(4, 1)
	b.failEnv = 0
	res, err := DoGroupRollouts(context.Background(), []EnvGroupBuilder{b}, &fakePolicy{}, Options{Strategy: Strategy{Kind: MinViableGroup, MinGroupSize: 3}})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Groups[0]
	if g.Group == nil || len(g.Group.Trajectories) != 3 || len(g.Group.RolloutErrors) != 1 || res.NumFailures != 1 {
		t.Fatalf("want 3 of 4 kept with one error: %+v", g)
	}
	b2 := newBuilder(4, 1)
	b2.failEnv = 0
	res, err = DoGroupRollouts(context.Background(), []EnvGroupBuilder{b2}, &fakePolicy{}, Options{Strategy: Strategy{Kind: MinViableGroup, MinGroupSize: 4}})
	if err != nil || res.Groups[0].Group != nil || res.NumDropped != 1 {
		t.Fatalf("want the group dropped: %v %+v", err, res)
	}
}

func TestRetryOnFailureUsesFreshEnvs(t *testing.T) {
	b := newBuilder(2, 1)
	b.failEnv, b.failOnce = 1, true
	res, err := DoGroupRollouts(context.Background(), []EnvGroupBuilder{b}, &fakePolicy{}, Options{Strategy: Strategy{Kind: RetryOnFailure, MaxRetries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Groups[0]
	if g.Group == nil || g.Attempts != 2 || b.made.Load() != 2 || len(g.Failures) != 1 {
		t.Fatalf("want success on the second attempt: %+v made %d", g, b.made.Load())
	}
	// Always failing: dropped after 1 + max_retries attempts.
	b2 := newBuilder(2, 1)
	b2.failEnv = 0
	res, err = DoGroupRollouts(context.Background(), []EnvGroupBuilder{b2}, &fakePolicy{}, Options{Strategy: Strategy{Kind: RetryOnFailure, MaxRetries: 2}})
	if err != nil || res.Groups[0].Group != nil || b2.made.Load() != 3 || res.NumDropped != 1 {
		t.Fatalf("want the group dropped after 3 attempts: %v made %d", err, b2.made.Load())
	}
}

func TestTimeoutOfAHangingEnv(t *testing.T) {
	b := newBuilder(3, 1)
	b.hang = 1
	res, err := DoGroupRollouts(context.Background(), []EnvGroupBuilder{b}, &fakePolicy{}, Options{Timeout: 20 * time.Millisecond, Strategy: Strategy{Kind: MinViableGroup, MinGroupSize: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if res.NumTimeouts != 1 || len(res.Groups[0].Group.Trajectories) != 2 {
		t.Fatalf("want one timeout and two trajectories: %+v", res.Groups[0])
	}
	f := res.Groups[0].Failures[0]
	if f.Episode != 1 || f.Kind != "timeout" || !strings.Contains(f.Error(), "timed out") {
		t.Fatalf("failure %+v: %v", f, f)
	}
	// fail_fast: the timeout stops the batch.
	b2 := newBuilder(2, 1)
	b2.hang = 0
	_, err = DoGroupRollouts(context.Background(), []EnvGroupBuilder{b2}, &fakePolicy{}, Options{Timeout: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("want a time-limit error, got %v", err)
	}
}

func TestBadStrategy(t *testing.T) {
	if _, err := DoGroupRollouts(context.Background(), nil, &fakePolicy{}, Options{Strategy: Strategy{Kind: "yolo"}}); err == nil || !strings.Contains(err.Error(), "yolo") {
		t.Fatalf("got %v", err)
	}
}

// waitFinished blocks until the pool has n finished groups untaken.
func waitFinished(t *testing.T, p *Pool, n int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.done) < n {
		if p.err != nil {
			t.Fatal(p.err)
		}
		p.cond.Wait()
	}
}

func TestPoolNeverTrainsOnStaleGroups(t *testing.T) {
	pol := &fakePolicy{}
	const maxOff = 1
	pool, err := NewPool(context.Background(), pol, Options{}, 4, maxOff)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for range 8 {
		pool.Submit(newBuilder(2, 1))
	}
	got, err := pool.Take(context.Background(), 2, 0)
	if err != nil || len(got) != 2 {
		t.Fatal(len(got), err)
	}
	// Everything else finishes with version-0 weights; then the trainer
	// jumps to step 3: all six are too stale and must be redone.
	waitFinished(t, pool, 6)
	pol.version.Store(3)
	for step := 3; step < 6; step++ {
		got, err := pool.Take(context.Background(), 2, step)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range got {
			if step-s.Version > maxOff {
				t.Fatalf("step %d trained on a group from version %d", step, s.Version)
			}
			// The action carries the version that sampled it.
			if v := s.Group.Trajectories[0].Transitions[0].Action[1]; step-v > maxOff {
				t.Fatalf("step %d: sampled by version %d", step, v)
			}
		}
		if step == 3 && pool.Metrics()["async/stale_requeued"] < 1 {
			t.Fatalf("stale groups were not requeued: %v", pool.Metrics())
		}
		pol.version.Store(int64(step + 1))
	}
	if pool.Metrics()["async/total_stale_requeued"] < 6 {
		t.Fatalf("want the six stale groups requeued: %v", pool.Metrics())
	}
}

func TestPoolOverlapsSamplingWithTraining(t *testing.T) {
	pol := &fakePolicy{}
	gate := make(chan struct{})
	pool, err := NewPool(context.Background(), pol, Options{}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.Submit(newBuilder(2, 1))
	if _, err := pool.Take(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	// "Training" step 0 while the next groups are in flight.
	b := newBuilder(2, 1)
	b.block = gate
	pool.Submit(b)
	for pool.busyInflight() == 0 {
		runtime.Gosched()
	}
	time.Sleep(5 * time.Millisecond)
	close(gate)
	if _, err := pool.Take(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	m := pool.Metrics()
	if m["async/sampling_during_train_s"] <= 0 || m["async/overlap_frac"] <= 0 || m["async/train_s"] <= 0 {
		t.Fatalf("no overlap recorded: %v", m)
	}
}

func (p *Pool) busyInflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

func TestPoolFailFastAndExhaustion(t *testing.T) {
	pool, _ := NewPool(context.Background(), &fakePolicy{}, Options{}, 2, -1)
	defer pool.Close()
	b := newBuilder(2, 1)
	b.failEnv = 0
	pool.Submit(b)
	if _, err := pool.Take(context.Background(), 1, 0); err == nil || !strings.Contains(err.Error(), "env exploded") {
		t.Fatalf("want the env's error, got %v", err)
	}
	pool2, _ := NewPool(context.Background(), &fakePolicy{}, Options{}, 2, -1)
	defer pool2.Close()
	pool2.Submit(newBuilder(2, 1))
	if _, err := pool2.Take(context.Background(), 2, 0); err == nil || !strings.Contains(err.Error(), "submit more") {
		t.Fatalf("want an exhaustion error, got %v", err)
	}
}

func TestConcurrentGroupsRace(t *testing.T) {
	var bs []EnvGroupBuilder
	for range 64 {
		bs = append(bs, newBuilder(8, 3))
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := DoGroupRollouts(context.Background(), bs[:32], &fakePolicy{}, Options{GroupConcurrency: 8})
			if err != nil || res.EpisodeCount != 256 {
				t.Errorf("%v %d", err, res.EpisodeCount)
			}
		}()
	}
	wg.Wait()
}

func TestPoolRefusesToSpinWhenThePolicyLagsBehind(t *testing.T) {
	pool, _ := NewPool(context.Background(), &fakePolicy{}, Options{}, 2, 1)
	defer pool.Close()
	pool.Submit(newBuilder(2, 1))
	_, err := pool.Take(context.Background(), 1, 5)
	if err == nil || !strings.Contains(err.Error(), "ahead of the policy's version 0") {
		t.Fatalf("want a lagging-policy error, got %v", err)
	}
}
