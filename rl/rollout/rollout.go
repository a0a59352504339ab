// Package rollout runs RL episodes concurrently: the cookbook's
// rl/rollouts.py and rl/rollout_strategy.py. An Env produces token
// observations and scores sampled actions; an EnvGroupBuilder makes the envs
// of one group (the rollouts of one prompt); a TokenCompleter samples
// actions. DoGroupRollouts runs many groups at once, one goroutine per
// episode, and applies a rollout strategy (fail_fast, retry_on_failure,
// min_viable_group) and a per-rollout time limit to failing or hanging
// envs. The package knows nothing about Starlark: builtins/starrl adapts
// Starlark envs to these interfaces (WrapContext gives each episode
// goroutine its own Starlark thread).
package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/rl"
)

// StopCondition ends a sampled action: stop strings and/or stop tokens.
type StopCondition struct {
	Strings []string
	Tokens  []int
}

func (s StopCondition) equal(o StopCondition) bool {
	return slices.Equal(s.Strings, o.Strings) && slices.Equal(s.Tokens, o.Tokens)
}

// Action is what the policy sampled.
type Action struct {
	Tokens   []int
	Logprobs []float64
	// StopReason is the sampler's reason: "stop", "length", or
	// rl.StopContextOverflow when the observation left no room to sample.
	StopReason string
}

// StepResult is an env's answer to an action.
type StepResult struct {
	Reward      float64
	EpisodeDone bool
	// NextObservation and NextStop are the next turn's input (ignored when
	// EpisodeDone). A nil NextStop keeps the previous stop condition.
	NextObservation []int
	NextStop        *StopCondition
	Metrics         map[string]float64
	Logs            map[string]any
}

// Env is one single-use episode.
type Env interface {
	InitialObservation(ctx context.Context) ([]int, StopCondition, error)
	Step(ctx context.Context, action Action) (StepResult, error)
}

// EnvGroupBuilder makes the envs of one group.
type EnvGroupBuilder interface {
	MakeEnvs(ctx context.Context) ([]Env, error)
	// ComputeGroupRewards returns one reward and one metric map (or nil)
	// per trajectory, after every episode of the group has finished. envs
	// and trajs are aligned (only the successful episodes).
	ComputeGroupRewards(ctx context.Context, trajs []rl.Trajectory, envs []Env) ([]float64, []map[string]float64, error)
	Tags() []string
}

// TokenCompleter samples one action.
type TokenCompleter interface {
	Complete(ctx context.Context, ob []int, stop StopCondition) (Action, error)
}

// MultiCompleter is implemented by completers that can draw n samples of one
// prompt in a single request; the first turn of a group whose envs share
// their initial observation uses it.
type MultiCompleter interface {
	CompleteN(ctx context.Context, ob []int, stop StopCondition, n int) ([]Action, error)
}

// Strategy names.
const (
	FailFast       = "fail_fast"
	RetryOnFailure = "retry_on_failure"
	MinViableGroup = "min_viable_group"
)

// Strategy says what a failed rollout does to its group (the cookbook's
// RolloutErrorTolerance).
type Strategy struct {
	// Kind is FailFast (the first failure stops the batch with its error),
	// RetryOnFailure (the group is rebuilt with fresh envs and rolled out
	// again, up to MaxRetries times; then it is dropped) or MinViableGroup
	// (failed episodes are left out; a group with fewer than MinGroupSize
	// successful episodes is dropped).
	Kind         string
	MaxRetries   int
	MinGroupSize int
}

// Validate checks the strategy's fields.
func (s Strategy) Validate() error {
	switch s.Kind {
	case FailFast, "":
	case RetryOnFailure:
		if s.MaxRetries < 0 {
			return fmt.Errorf("rollout strategy retry_on_failure: max_retries = %d must be ≥ 0", s.MaxRetries)
		}
	case MinViableGroup:
		if s.MinGroupSize < 1 {
			return fmt.Errorf("rollout strategy min_viable_group: min_group_size = %d must be ≥ 1", s.MinGroupSize)
		}
	default:
		return fmt.Errorf("unknown rollout strategy %q (want fail_fast, retry_on_failure or min_viable_group)", s.Kind)
	}
	return nil
}

// Options configure DoGroupRollouts.
type Options struct {
	Strategy Strategy
	// Timeout bounds each episode (0: none). An episode past it is
	// cancelled and fails with a *Failure of Kind "timeout".
	Timeout time.Duration
	// MaxTurns bounds the steps of one episode (0: 1000).
	MaxTurns int
	// WrapContext, when set, is called on every goroutine that calls env
	// or builder methods, with the context it will pass them; it returns
	// the context to use and a release function (builtins/starrl binds a
	// Starlark thread to the context here).
	WrapContext func(ctx context.Context, name string) (context.Context, func())
	// GroupConcurrency bounds the groups rolled out at once (0: all).
	GroupConcurrency int
}

// Failure is one failed episode (or group step), kept for the report.
type Failure struct {
	Group   int    // index of the builder
	Episode int    // index of the env in the group; -1 for the builder itself
	Attempt int    // 0 for the first try, 1.. for retries
	Phase   string // make_envs, initial_observation, sample, step, compute_group_rewards
	Kind    string // "error" or "timeout"
	Err     error  // with the env's traceback when it came from Starlark
}

func (f *Failure) Error() string {
	who := fmt.Sprintf("group %d", f.Group)
	if f.Episode >= 0 {
		who += fmt.Sprintf(" episode %d", f.Episode)
	}
	if f.Attempt > 0 {
		who += fmt.Sprintf(" (retry %d)", f.Attempt)
	}
	if f.Kind == "timeout" {
		return fmt.Sprintf("rollout %s: %s: timed out: %v", who, f.Phase, f.Err)
	}
	return fmt.Sprintf("rollout %s: %s: %v", who, f.Phase, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// GroupResult is the outcome of one builder.
type GroupResult struct {
	Group *rl.TrajectoryGroup // nil when the group was dropped
	Tags  []string
	// Failures are the failed episodes of every attempt.
	Failures []*Failure
	Attempts int
}

// Result is the outcome of DoGroupRollouts.
type Result struct {
	Groups       []GroupResult // one per builder, in order
	NumDropped   int
	NumFailures  int
	NumTimeouts  int
	Wall         time.Duration
	EpisodeCount int
}

// Kept returns the groups that were not dropped with their tags.
func (r *Result) Kept() ([]rl.TrajectoryGroup, [][]string) {
	var gs []rl.TrajectoryGroup
	var tags [][]string
	for _, g := range r.Groups {
		if g.Group != nil {
			gs = append(gs, *g.Group)
			tags = append(tags, g.Tags)
		}
	}
	return gs, tags
}

// Metrics are the rollout counters: rollouts/failures, rollouts/timeouts,
// rollouts/dropped_groups, time/rollouts.
func (r *Result) Metrics() map[string]float64 {
	return map[string]float64{
		"rollouts/failures":       float64(r.NumFailures),
		"rollouts/timeouts":       float64(r.NumTimeouts),
		"rollouts/dropped_groups": float64(r.NumDropped),
		"rollouts/episodes":       float64(r.EpisodeCount),
		"time/rollouts":           r.Wall.Seconds(),
	}
}

// DoGroupRollouts rolls out every builder's group concurrently. Under
// FailFast the first failure cancels the others and is returned (a
// *Failure); under the other strategies failures are recorded on the
// groups and only a cancelled ctx is an error.
func DoGroupRollouts(ctx context.Context, builders []EnvGroupBuilder, policy TokenCompleter, opts Options) (*Result, error) {
	if err := opts.Strategy.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := &Result{Groups: make([]GroupResult, len(builders))}
	var sem chan struct{}
	if opts.GroupConcurrency > 0 {
		sem = make(chan struct{}, opts.GroupConcurrency)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i, b := range builders {
		wg.Add(1)
		spawn(func() {
			defer wg.Done()
			if sem != nil {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					return
				}
			}
			gr, err := RolloutGroup(ctx, i, b, policy, opts)
			res.Groups[i] = gr
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	if firstErr != nil {
		return res, firstErr
	}
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return res, err
	}
	for _, g := range res.Groups {
		if g.Group == nil {
			res.NumDropped++
		} else {
			res.EpisodeCount += len(g.Group.Trajectories)
		}
		for _, f := range g.Failures {
			res.NumFailures++
			if f.Kind == "timeout" {
				res.NumTimeouts++
			}
		}
	}
	return res, nil
}

// RolloutGroup rolls out one builder's group with the strategy of opts;
// index names the group in failures. Under FailFast a failure is returned
// as the error; otherwise the error is only ctx's.
func RolloutGroup(ctx context.Context, index int, b EnvGroupBuilder, policy TokenCompleter, opts Options) (GroupResult, error) {
	gr := GroupResult{Tags: b.Tags()}
	attempts := 1
	if opts.Strategy.Kind == RetryOnFailure {
		attempts += opts.Strategy.MaxRetries
	}
	for a := 0; a < attempts; a++ {
		gr.Attempts = a + 1
		g, fails, err := rolloutOnce(ctx, index, a, b, policy, opts)
		gr.Failures = append(gr.Failures, fails...)
		if err != nil {
			return gr, err
		}
		if len(fails) == 0 {
			gr.Group = g
			return gr, nil
		}
		switch opts.Strategy.Kind {
		case FailFast, "":
			return gr, fails[0]
		case MinViableGroup:
			if g != nil && len(g.Trajectories) >= opts.Strategy.MinGroupSize {
				gr.Group = g
			}
			return gr, nil
		}
		// RetryOnFailure: go again with fresh envs.
	}
	return gr, nil
}

func (o *Options) wrap(ctx context.Context, name string) (context.Context, func()) {
	if o.WrapContext == nil {
		return ctx, func() {}
	}
	return o.WrapContext(ctx, name)
}

// rolloutOnce makes fresh envs and runs every episode. It returns the group
// of the successful episodes (nil when the builder itself failed or no
// episode succeeded) and the failures. err is set only when ctx is done.
func rolloutOnce(ctx context.Context, gi, attempt int, b EnvGroupBuilder, policy TokenCompleter, opts Options) (*rl.TrajectoryGroup, []*Failure, error) {
	fail := func(ep int, phase string, err error) *Failure {
		kind := "error"
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errEpisodeTimeout) {
			kind = "timeout"
		}
		return &Failure{Group: gi, Episode: ep, Attempt: attempt, Phase: phase, Kind: kind, Err: err}
	}
	bctx, release := opts.wrap(ctx, "rl group "+strconv.Itoa(gi)+" make_envs")
	envs, err := b.MakeEnvs(bctx)
	release()
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		return nil, []*Failure{fail(-1, "make_envs", err)}, nil
	}
	if len(envs) == 0 {
		return nil, []*Failure{fail(-1, "make_envs", errors.New("make_envs returned no envs"))}, nil
	}
	trajs := make([]*rl.Trajectory, len(envs))
	fails := make([]*Failure, len(envs))
	shared := newFirstTurn(ctx, policy, len(envs))
	var wg sync.WaitGroup
	for i, env := range envs {
		wg.Add(1)
		spawn(func() {
			defer wg.Done()
			ectx, cancel := ctx, context.CancelFunc(func() {})
			if opts.Timeout > 0 {
				ectx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, fmt.Errorf("%w (%v)", errEpisodeTimeout, opts.Timeout))
			}
			defer cancel()
			ectx, release := opts.wrap(ectx, "rl group "+strconv.Itoa(gi)+" env "+strconv.Itoa(i))
			defer release()
			t, phase, err := runEpisode(ectx, i, env, policy, shared, opts.MaxTurns)
			if err != nil {
				if c := context.Cause(ectx); c != nil && ctx.Err() == nil {
					err = fmt.Errorf("%w: %v", c, err)
				}
				fails[i] = fail(i, phase, err)
				return
			}
			trajs[i] = t
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, context.Cause(ctx)
	}
	var failures []*Failure
	g := &rl.TrajectoryGroup{}
	var okEnvs []Env
	for i := range envs {
		if fails[i] != nil {
			failures = append(failures, fails[i])
			continue
		}
		g.Trajectories = append(g.Trajectories, *trajs[i])
		okEnvs = append(okEnvs, envs[i])
	}
	if len(g.Trajectories) == 0 {
		return nil, failures, nil
	}
	gctx, release := opts.wrap(ctx, "rl group "+strconv.Itoa(gi)+" compute_group_rewards")
	rewards, metrics, err := b.ComputeGroupRewards(gctx, g.Trajectories, okEnvs)
	release()
	if err == nil && rewards != nil && len(rewards) != len(g.Trajectories) {
		err = fmt.Errorf("compute_group_rewards returned %d rewards for %d trajectories", len(rewards), len(g.Trajectories))
	}
	if err == nil && metrics != nil && len(metrics) != len(g.Trajectories) {
		err = fmt.Errorf("compute_group_rewards returned %d metric dicts for %d trajectories", len(metrics), len(g.Trajectories))
	}
	if err == nil {
		g.FinalRewards, g.Metrics = rewards, metrics
		err = g.Validate()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		return nil, append(failures, fail(-1, "compute_group_rewards", err)), nil
	}
	for _, f := range failures {
		g.RolloutErrors = append(g.RolloutErrors, rl.RolloutError{Type: f.Phase + "/" + f.Kind, Message: f.Err.Error()})
	}
	return g, failures, nil
}

var errEpisodeTimeout = errors.New("rollout time limit exceeded")

// defaultMaxTurns bounds an episode whose env never says done.
const defaultMaxTurns = 1000

func runEpisode(ctx context.Context, idx int, env Env, policy TokenCompleter, shared *firstTurn, maxTurns int) (*rl.Trajectory, string, error) {
	if maxTurns <= 0 {
		maxTurns = defaultMaxTurns
	}
	ob, stop, err := env.InitialObservation(ctx)
	if err != nil {
		shared.abstain()
		return nil, "initial_observation", err
	}
	t := &rl.Trajectory{}
	for turn := 0; ; turn++ {
		if turn >= maxTurns {
			return nil, "step", fmt.Errorf("episode not done after %d turns (max_turns)", maxTurns)
		}
		var ac Action
		if turn == 0 {
			ac, err = shared.complete(ctx, idx, ob, stop)
		} else {
			ac, err = policy.Complete(ctx, ob, stop)
		}
		if err != nil {
			return nil, "sample", err
		}
		sr, err := env.Step(ctx, ac)
		if err != nil {
			return nil, "step", err
		}
		t.Transitions = append(t.Transitions, rl.Transition{
			Observation: ob, Action: ac.Tokens, ActionLogprobs: ac.Logprobs, SampleStopReason: ac.StopReason,
			Reward: sr.Reward, EpisodeDone: sr.EpisodeDone, Metrics: sr.Metrics, Logs: sr.Logs,
		})
		if sr.EpisodeDone {
			t.FinalObservation = sr.NextObservation
			return t, "", nil
		}
		ob = sr.NextObservation
		if sr.NextStop != nil {
			stop = *sr.NextStop
		}
	}
}

// firstTurn batches the first sample of a group into one request with n
// samples when the policy can (MultiCompleter) and every env of the group
// starts from the same observation and stop condition; otherwise each
// episode samples on its own.
type firstTurn struct {
	ctx    context.Context // the group's: one episode's time limit must not fail the others' batched sample
	policy TokenCompleter
	multi  MultiCompleter
	n      int

	mu      sync.Mutex
	waiting int
	obs     [][]int
	stops   []StopCondition
	present []bool
	done    chan struct{}
	actions []Action
	err     error
	batched bool
}

func newFirstTurn(ctx context.Context, policy TokenCompleter, n int) *firstTurn {
	f := &firstTurn{ctx: ctx, policy: policy, n: n, obs: make([][]int, n), stops: make([]StopCondition, n), present: make([]bool, n), done: make(chan struct{})}
	f.multi, _ = policy.(MultiCompleter)
	return f
}

// abstain records an episode that will not sample (its env failed).
func (f *firstTurn) abstain() {
	if f.multi == nil || f.n == 1 {
		return
	}
	f.mu.Lock()
	f.waiting++
	last := f.waiting == f.n
	f.mu.Unlock()
	if last {
		f.resolve()
	}
}

func (f *firstTurn) complete(ctx context.Context, idx int, ob []int, stop StopCondition) (Action, error) {
	if f.multi == nil || f.n == 1 {
		return f.policy.Complete(ctx, ob, stop)
	}
	f.mu.Lock()
	f.obs[idx], f.stops[idx], f.present[idx] = ob, stop, true
	f.waiting++
	last := f.waiting == f.n
	f.mu.Unlock()
	if last {
		f.resolve()
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return Action{}, context.Cause(ctx)
	}
	if !f.batched {
		return f.policy.Complete(ctx, ob, stop)
	}
	if f.err != nil {
		return Action{}, f.err
	}
	return f.actions[idx], nil
}

// resolve runs once every episode has arrived (or abstained).
func (f *firstTurn) resolve() {
	defer close(f.done)
	var ref = -1
	count := 0
	for i := range f.n {
		if !f.present[i] {
			continue
		}
		count++
		if ref < 0 {
			ref = i
			continue
		}
		if !slices.Equal(f.obs[i], f.obs[ref]) || !f.stops[i].equal(f.stops[ref]) {
			return // differing prompts: sample one by one
		}
	}
	if count < 2 {
		return
	}
	acts, err := f.multi.CompleteN(f.ctx, f.obs[ref], f.stops[ref], count)
	f.batched = true
	if err != nil {
		f.err = err
		return
	}
	if len(acts) != count {
		f.err = fmt.Errorf("sampler returned %d sequences for %d requested", len(acts), count)
		return
	}
	f.actions = make([]Action, f.n)
	k := 0
	for i := range f.n {
		if f.present[i] {
			f.actions[i] = acts[k]
			k++
		}
	}
}
