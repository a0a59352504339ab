package starrl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// Starlark envs and builders as rollout.Env / rollout.EnvGroupBuilder.
//
// Every goroutine of the rollout engine that calls into Starlark gets its
// own thread (options.WrapContext puts it in the context). Envs of one group
// may share state (they come from one make_envs call), so the Starlark calls
// of one group are serialised by the group's lock; sampling, which is where
// the time goes, happens outside it. Builders are frozen before use, so
// different groups never share mutable Starlark values.

type threadKey struct{}

func threadOf(ctx context.Context) (*starlark.Thread, error) {
	th, ok := ctx.Value(threadKey{}).(*starlark.Thread)
	if !ok {
		return nil, errors.New("internal error: no Starlark thread for this rollout")
	}
	return th, nil
}

// engine is what one rollout call shares: the interpreter, and the time
// spent inside Starlark calls (for the Starlark share of the wall time).
type engine struct {
	in        *host.Interpreter
	starlarkN atomic.Int64 // nanoseconds inside Starlark env/builder calls
	calls     atomic.Int64
}

func (e *engine) options(o rollout.Options) rollout.Options {
	o.WrapContext = func(ctx context.Context, name string) (context.Context, func()) {
		th, release := e.in.NewThread(ctx, name)
		return context.WithValue(ctx, threadKey{}, th), release
	}
	return o
}

// call calls a Starlark callable, timing it and turning a Starlark error
// into one that carries its traceback.
func (e *engine) call(ctx context.Context, fn starlark.Callable, args starlark.Tuple) (starlark.Value, error) {
	th, err := threadOf(ctx)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	v, err := starlark.Call(th, fn, args, nil)
	e.starlarkN.Add(int64(time.Since(t0)))
	e.calls.Add(1)
	if err != nil {
		return nil, &tracedError{err}
	}
	return v, nil
}

// tracedError prints a Starlark error with its backtrace.
type tracedError struct{ err error }

func (t *tracedError) Error() string { return host.FormatError(t.err) }
func (t *tracedError) Unwrap() error { return t.err }

// member reads a field of a struct, module or dict.
func member(v starlark.Value, name string) (starlark.Value, bool) {
	switch x := v.(type) {
	case *starlark.Dict:
		got, found, _ := x.Get(starlark.String(name))
		return got, found
	case starlark.HasAttrs:
		got, err := x.Attr(name)
		if err != nil || got == nil {
			return nil, false
		}
		return got, true
	}
	return nil, false
}

func callableMember(v starlark.Value, name, what string) (starlark.Callable, error) {
	m, ok := member(v, name)
	if !ok || m == starlark.None {
		return nil, fmt.Errorf("%s (%s) has no %s; an env is a struct or dict with initial_observation() and step(action), a builder one with make_envs() (see `tkx doc rl`)", what, v.Type(), name)
	}
	c, ok := m.(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s.%s is a %s, want a function", what, name, m.Type())
	}
	return c, nil
}

// groupState is shared by the envs of one group: a one-slot semaphore
// that serialises their Starlark calls, acquired with the episode's context
// so that an episode waiting behind a hanging group-mate still honours its
// own time limit.
type groupState struct {
	once sync.Once
	sem  chan struct{}
}

func (g *groupState) lock(ctx context.Context) error {
	g.once.Do(func() { g.sem = make(chan struct{}, 1) })
	select {
	case g.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another env of the group: %w", context.Cause(ctx))
	}
}

func (g *groupState) unlock() { <-g.sem }

// starEnv is a Starlark env (struct or dict of functions).
type starEnv struct {
	e       *engine
	g       *groupState
	v       starlark.Value
	initial starlark.Callable
	step    starlark.Callable
	twoArgs bool
	what    string
}

// goEnv is an env implemented in Go that calls Starlark callbacks
// (problem_env, message_env).
type goEnv interface {
	starlark.Value
	reset() goEnv // a fresh copy: an env value may be reused by make_envs
	initialObservation(ctx context.Context, e *engine) ([]int, rollout.StopCondition, error)
	step(ctx context.Context, e *engine, a rollout.Action) (rollout.StepResult, error)
}

type lockedGoEnv struct {
	e   *engine
	g   *groupState
	env goEnv
}

func (l *lockedGoEnv) InitialObservation(ctx context.Context) ([]int, rollout.StopCondition, error) {
	if err := l.g.lock(ctx); err != nil {
		return nil, rollout.StopCondition{}, err
	}
	defer l.g.unlock()
	return l.env.initialObservation(ctx, l.e)
}

func (l *lockedGoEnv) Step(ctx context.Context, a rollout.Action) (rollout.StepResult, error) {
	if err := l.g.lock(ctx); err != nil {
		return rollout.StepResult{}, err
	}
	defer l.g.unlock()
	return l.env.step(ctx, l.e, a)
}

func newEnv(e *engine, g *groupState, v starlark.Value, what string) (rollout.Env, error) {
	if ge, ok := v.(goEnv); ok {
		return &lockedGoEnv{e: e, g: g, env: ge.reset()}, nil
	}
	init, err := callableMember(v, "initial_observation", what)
	if err != nil {
		return nil, err
	}
	step, err := callableMember(v, "step", what)
	if err != nil {
		return nil, err
	}
	two := false
	if f, ok := step.(*starlark.Function); ok && (f.NumParams() >= 2 || f.HasKwargs() || f.HasVarargs()) {
		two = true
	}
	return &starEnv{e: e, g: g, v: v, initial: init, step: step, twoArgs: two, what: what}, nil
}

func (s *starEnv) InitialObservation(ctx context.Context) ([]int, rollout.StopCondition, error) {
	if err := s.g.lock(ctx); err != nil {
		return nil, rollout.StopCondition{}, err
	}
	defer s.g.unlock()
	v, err := s.e.call(ctx, s.initial, nil)
	if err != nil {
		return nil, rollout.StopCondition{}, err
	}
	return parseObservation(v, s.what+".initial_observation()")
}

// parseObservation reads (observation, stop) or {"observation", "stop"}.
func parseObservation(v starlark.Value, what string) ([]int, rollout.StopCondition, error) {
	var obV, stopV starlark.Value = nil, starlark.None
	switch x := v.(type) {
	case starlark.Tuple:
		if len(x) != 2 {
			return nil, rollout.StopCondition{}, fmt.Errorf("%s returned a tuple of %d, want (observation, stop_condition)", what, len(x))
		}
		obV, stopV = x[0], x[1]
	case *starlark.Dict, *starlarkstruct.Struct:
		var ok bool
		if obV, ok = member(x, "observation"); !ok {
			return nil, rollout.StopCondition{}, fmt.Errorf("%s returned a %s without observation", what, v.Type())
		}
		if s, ok := member(x, "stop"); ok {
			stopV = s
		}
	default:
		return nil, rollout.StopCondition{}, fmt.Errorf("%s returned %s, want (observation, stop_condition): tokens or a ModelInput, and stop strings/tokens", what, v.Type())
	}
	ob, err := tokensOf(obV, what+": observation")
	if err != nil {
		return nil, rollout.StopCondition{}, err
	}
	stop, err := stopOf(stopV, what+": stop_condition")
	return ob, stop, err
}

func tokensOf(v starlark.Value, what string) ([]int, error) {
	mi, err := startinker.AsModelInput(v, what)
	if err != nil {
		return nil, err
	}
	toks, err := mi.Tokens()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (observations must be tokens only)", what, err)
	}
	out := make([]int, len(toks))
	for i, t := range toks {
		out[i] = int(t)
	}
	return out, nil
}

// stopOf reads None, a string, a list of strings or a list of token ids.
func stopOf(v starlark.Value, what string) (rollout.StopCondition, error) {
	if v == nil || v == starlark.None {
		return rollout.StopCondition{}, nil
	}
	if s, ok := starlark.AsString(v); ok {
		return rollout.StopCondition{Strings: []string{s}}, nil
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return rollout.StopCondition{}, fmt.Errorf("%s: got %s, want a list of strings or token ids", what, v.Type())
	}
	var out rollout.StopCondition
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		if s, ok := starlark.AsString(x); ok {
			out.Strings = append(out.Strings, s)
			continue
		}
		n, err := starlark.AsInt32(x)
		if err != nil || n < 0 {
			return rollout.StopCondition{}, fmt.Errorf("%s[%d]: got %s, want a string or a token id", what, i, x.String())
		}
		out.Tokens = append(out.Tokens, n)
	}
	if out.Strings != nil && out.Tokens != nil {
		return rollout.StopCondition{}, fmt.Errorf("%s mixes strings and token ids", what)
	}
	return out, nil
}

func actionExtra(a rollout.Action) *starlark.Dict {
	d := starlark.NewDict(2)
	_ = d.SetKey(starlark.String("logprobs"), host.Floats(a.Logprobs))
	_ = d.SetKey(starlark.String("stop_reason"), starlark.String(a.StopReason))
	return d
}

func (s *starEnv) Step(ctx context.Context, a rollout.Action) (rollout.StepResult, error) {
	if err := s.g.lock(ctx); err != nil {
		return rollout.StepResult{}, err
	}
	defer s.g.unlock()
	args := starlark.Tuple{host.Ints(a.Tokens)}
	if s.twoArgs {
		args = append(args, actionExtra(a))
	}
	v, err := s.e.call(ctx, s.step, args)
	if err != nil {
		return rollout.StepResult{}, err
	}
	return parseStepResult(v, s.what+".step()")
}

var (
	stepKeyNames = []string{"reward", "episode_done", "next_observation", "next_stop", "metrics", "logs"}
	stepKeys     = map[string]bool{"reward": true, "episode_done": true, "next_observation": true, "next_stop": true, "next_stop_condition": true, "metrics": true, "logs": true}
)

// parseStepResult reads {"reward", "episode_done", "next_observation",
// "next_stop", "metrics", "logs"} from a dict or struct.
func parseStepResult(v starlark.Value, what string) (rollout.StepResult, error) {
	switch v.(type) {
	case *starlark.Dict, *starlarkstruct.Struct:
	default:
		return rollout.StepResult{}, fmt.Errorf("%s returned %s, want a dict or struct with reward, episode_done, next_observation, next_stop, metrics, logs", what, v.Type())
	}
	if d, ok := v.(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			ks, _ := starlark.AsString(kv[0])
			if !stepKeys[ks] {
				return rollout.StepResult{}, fmt.Errorf("%s: unknown key %s%s", what, kv[0].String(), host.DidYouMean(ks, stepKeyNames))
			}
		}
	}
	var r rollout.StepResult
	rv, ok := member(v, "reward")
	if !ok {
		return r, fmt.Errorf("%s: no reward", what)
	}
	f, ok := starlark.AsFloat(rv)
	if !ok {
		return r, fmt.Errorf("%s: reward is %s, want a number", what, rv.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return r, fmt.Errorf("%s: reward %v is not finite", what, f)
	}
	r.Reward = f
	r.EpisodeDone = true
	if dv, ok := member(v, "episode_done"); ok && dv != starlark.None {
		b, ok := dv.(starlark.Bool)
		if !ok {
			return r, fmt.Errorf("%s: episode_done is %s, want a bool", what, dv.Type())
		}
		r.EpisodeDone = bool(b)
	}
	if ov, ok := member(v, "next_observation"); ok && ov != starlark.None {
		ob, err := tokensOf(ov, what+": next_observation")
		if err != nil {
			return r, err
		}
		r.NextObservation = ob
	} else if !r.EpisodeDone {
		return r, fmt.Errorf("%s: episode_done is False but there is no next_observation", what)
	}
	sv, ok := member(v, "next_stop")
	if !ok {
		sv, ok = member(v, "next_stop_condition")
	}
	if ok && sv != starlark.None {
		st, err := stopOf(sv, what+": next_stop")
		if err != nil {
			return r, err
		}
		r.NextStop = &st
	}
	if mv, ok := member(v, "metrics"); ok && mv != starlark.None {
		m, err := floatDict(mv, what+": metrics")
		if err != nil {
			return r, err
		}
		r.Metrics = m
	}
	if lv, ok := member(v, "logs"); ok && lv != starlark.None {
		m, err := logsOf(lv, what)
		if err != nil {
			return r, err
		}
		r.Logs = m
	}
	return r, nil
}

func floatDict(v starlark.Value, what string) (map[string]float64, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want a dict of str to number", what, v.Type())
	}
	out := make(map[string]float64, d.Len())
	for _, kv := range d.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return nil, fmt.Errorf("%s: key %s is not a string", what, kv[0].String())
		}
		var f float64
		switch x := kv[1].(type) {
		case starlark.Bool:
			if x {
				f = 1
			}
		default:
			var ok bool
			if f, ok = starlark.AsFloat(kv[1]); !ok {
				return nil, fmt.Errorf("%s[%q] is %s, want a number", what, k, kv[1].Type())
			}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s[%q] = %v is not finite", what, k, f)
		}
		out[k] = f
	}
	return out, nil
}

// starBuilder is a Starlark EnvGroupBuilder: make_envs() (required),
// compute_group_rewards(trajectories, envs) and logging_tags (optional).
type starBuilder struct {
	e       *engine
	v       starlark.Value
	make    starlark.Callable
	rewards starlark.Callable // nil: all 0
	tags    []string
	what    string
}

func newBuilder(e *engine, v starlark.Value, what string) (*starBuilder, error) {
	v.Freeze()
	mk, err := callableMember(v, "make_envs", what)
	if err != nil {
		return nil, err
	}
	b := &starBuilder{e: e, v: v, make: mk, what: what}
	if r, ok := member(v, "compute_group_rewards"); ok && r != starlark.None {
		c, ok := r.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s.compute_group_rewards is a %s, want a function", what, r.Type())
		}
		b.rewards = c
	}
	tv, ok := member(v, "logging_tags")
	if !ok {
		tv, ok = member(v, "tags")
	}
	if ok && tv != starlark.None {
		if c, isFn := tv.(starlark.Callable); isFn {
			th, release := e.in.NewThread(context.Background(), "rl logging_tags")
			res, err := starlark.Call(th, c, nil, nil)
			release()
			if err != nil {
				return nil, &tracedError{err}
			}
			tv = res
		}
		tags, err := host.AsStrings(tv, what+".logging_tags")
		if err != nil {
			return nil, err
		}
		b.tags = tags
	}
	return b, nil
}

func (b *starBuilder) Tags() []string { return b.tags }

type starGroupEnv struct {
	rollout.Env
	v starlark.Value
}

func (b *starBuilder) MakeEnvs(ctx context.Context) ([]rollout.Env, error) {
	v, err := b.e.call(ctx, b.make, nil)
	if err != nil {
		return nil, err
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s.make_envs() returned %s, want a list of envs", b.what, v.Type())
	}
	g := &groupState{}
	var envs []rollout.Env
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		env, err := newEnv(b.e, g, x, fmt.Sprintf("%s.make_envs()[%d]", b.what, i))
		if err != nil {
			return nil, err
		}
		envs = append(envs, starGroupEnv{Env: env, v: x})
	}
	return envs, nil
}

func (b *starBuilder) ComputeGroupRewards(ctx context.Context, trajs []rl.Trajectory, envs []rollout.Env) ([]float64, []map[string]float64, error) {
	if b.rewards == nil {
		return nil, nil, nil
	}
	tl := make([]starlark.Value, len(trajs))
	el := make([]starlark.Value, len(envs))
	for i := range trajs {
		tl[i] = trajectoryValue(&trajs[i])
		if ge, ok := envs[i].(starGroupEnv); ok {
			el[i] = ge.v
		} else {
			el[i] = starlark.None
		}
	}
	what := b.what + ".compute_group_rewards()"
	v, err := b.e.call(ctx, b.rewards, starlark.Tuple{starlark.NewList(tl), starlark.NewList(el)})
	if err != nil {
		return nil, nil, err
	}
	list, ok := v.(starlark.Indexable)
	if !ok {
		return nil, nil, fmt.Errorf("%s returned %s, want a list of rewards or (reward, metrics) pairs", what, v.Type())
	}
	rewards := make([]float64, list.Len())
	var metrics []map[string]float64
	for i := range list.Len() {
		x := list.Index(i)
		if t, ok := x.(starlark.Tuple); ok && len(t) == 2 {
			m, err := floatDict(t[1], fmt.Sprintf("%s[%d] metrics", what, i))
			if err != nil {
				return nil, nil, err
			}
			if metrics == nil {
				metrics = make([]map[string]float64, list.Len())
			}
			metrics[i] = m
			x = t[0]
		}
		f, ok := starlark.AsFloat(x)
		if !ok {
			return nil, nil, fmt.Errorf("%s[%d] is %s, want a number or (reward, metrics)", what, i, x.Type())
		}
		rewards[i] = f
	}
	return rewards, metrics, nil
}

// trajectoryValue is the read-only Starlark view of a trajectory given to
// compute_group_rewards and returned in groups.
func trajectoryValue(t *rl.Trajectory) starlark.Value {
	ts := make([]starlark.Value, len(t.Transitions))
	for i := range t.Transitions {
		tr := &t.Transitions[i]
		metrics := starlark.NewDict(len(tr.Metrics))
		keys := make([]string, 0, len(tr.Metrics))
		for k := range tr.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = metrics.SetKey(starlark.String(k), starlark.Float(tr.Metrics[k]))
		}
		var logs starlark.Value = starlark.NewDict(0)
		if tr.Logs != nil {
			if lv, err := host.ToStarlark(tr.Logs); err == nil {
				logs = lv
			}
		}
		ts[i] = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"observation":  host.Ints(tr.Observation),
			"action":       host.Ints(tr.Action),
			"logprobs":     host.Floats(tr.ActionLogprobs),
			"stop_reason":  starlark.String(tr.SampleStopReason),
			"reward":       starlark.Float(tr.Reward),
			"episode_done": starlark.Bool(tr.EpisodeDone),
			"metrics":      metrics,
			"logs":         logs,
		})
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"transitions":       starlark.NewList(ts),
		"final_observation": host.Ints(t.FinalObservation),
		"total_reward":      starlark.Float(t.TotalReward()),
		"stop_reason":       starlark.String(t.Reason()),
	})
}

// logsOf converts a logs dict to Go data (nested values stay ordered).
func logsOf(v starlark.Value, what string) (map[string]any, error) {
	if _, ok := v.(*starlark.Dict); !ok {
		return nil, fmt.Errorf("%s: logs is %s, want a dict", what, v.Type())
	}
	l, err := host.FromStarlark(v)
	if err != nil {
		return nil, fmt.Errorf("%s: logs: %w", what, err)
	}
	om, ok := l.(*host.OrderedMap)
	if !ok {
		return nil, fmt.Errorf("%s: logs is %s, want a dict", what, v.Type())
	}
	out := make(map[string]any, om.Len())
	for _, k := range om.Keys() {
		out[k], _ = om.Get(k)
	}
	return out, nil
}
