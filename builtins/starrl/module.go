// Package starrl is the Starlark module `rl`: environments written in
// Starlark, rolled out concurrently in Go (rl/rollout), and the data
// processing of package rl (advantages, datums, KL, metrics) for the loops
// in stdlib/rl.star.
package starrl

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// Module is the rl module.
var Module = &host.Module{
	Name: "rl",
	Doc: `Reinforcement learning: environments in Starlark, rollouts in Go.

An env is a struct (or dict) of two functions, used for one episode:

    initial_observation() -> (observation, stop)
        observation: token ids or a ModelInput; stop: stop strings or token
        ids (renderer.get_stop_sequences()), or None.
    step(action) -> {"reward": float, "episode_done": bool,
                     "next_observation": tokens (when not done),
                     "next_stop": stop (optional), "metrics": {str: number},
                     "logs": {...}}
        action: the sampled token ids. A step(action, extra) with two
        parameters also gets extra = {"logprobs", "stop_reason"}.

An env group builder is a struct with make_envs() -> list of envs (fresh
ones each call: one group = the rollouts of one prompt), and optionally
compute_group_rewards(trajectories, envs) -> [reward or (reward, metrics)]
and logging_tags (list of str). Builders are frozen; keep per-episode
state in values make_envs creates. Envs of one group may share state: their
Starlark calls never run at the same time (other groups' do), so an env
that hangs stalls its own group until the time limit, not the others.

    def make_env(x, y):
        state = {"done": False}
        def initial_observation():
            return renderer.build_generation_prompt([{"role": "user", "content": "What is %d + %d?" % (x, y)}]), renderer.get_stop_sequences()
        def step(action):
            msg, _ = renderer.parse_response(action)
            ok = msg["content"].strip() == str(x + y)
            return {"reward": 1.0 if ok else 0.0, "episode_done": True, "metrics": {"correct": ok}}
        return struct(initial_observation = initial_observation, step = step)

    builder = struct(make_envs = lambda: [make_env(3, 4) for _ in range(8)], logging_tags = ["add"])

The same env in one line, in Go (the cookbook's ProblemEnv):

    env = rl.problem_env(renderer, "What is 3 + 4?", answer = "7", grader = "first_token")
    builder = rl.repeat_env_group(env, 8, logging_tags = ["add"])

Then:

    policy = rl.token_completer(sampling_client, max_tokens = 16)
    out = rl.do_group_rollouts([builder], policy, strategy = "min_viable_group", timeout = 30)
    batch = rl.training_data(out.groups)          # advantages = reward - group mean
    training_client.forward_backward(batch.data, "importance_sampling")

A failing env, a wrong return type or an env past its time limit is
reported with its Starlark traceback (out.failures) and handled per the
strategy: fail_fast stops with the error, retry_on_failure re-runs the group
with fresh envs (max_retries), min_viable_group keeps the group when at least
min_group_size episodes succeeded. stdlib/rl.star has the training loops.`,
	Funcs: []host.Func{
		{Name: "problem_env", Impl: newProblemEnv, Doc: `problem_env(renderer, question, answer=None, grader="boxed", check_answer=None, check_format=None, format_coef=0.1, convo_prefix=None) -> env

A single-turn question env (the cookbook's ProblemEnv), run in Go. The prompt
is convo_prefix + the question as a user message. The response is parsed
with the renderer; reward = format_coef * (format - 1) + correct, where
format needs a clean parse (stop sequence or EOS) and check_format(text)
(default: the grader found an answer), and correct is check_answer(text)
(a function of the response text) or, without it, the grader's extraction
of the response compared with answer by grading.grade_answer. grader:
boxed (last \boxed{}), gsm8k ("#### x"), first_token (the first
whitespace-separated word), exact. Metrics: format, correct, stop/<reason>.
An answer the grader cannot parse scores 0.`},
		{Name: "message_env", Impl: newMessageEnv, Doc: `message_env(renderer, messages, step, failed_parse_reward=-1.0, context_overflow_reward=-0.1, max_trajectory_tokens=0) -> env

A multi-turn message-level env (the cookbook's EnvFromMessageEnv), run in Go:
each turn the conversation is rendered, the sampled response parsed, and
step(message) or step(message, messages) is called with the assistant
message (and the whole conversation). step returns {"reward",
"episode_done", "next_messages" (appended before the next turn), "metrics",
"logs"}. A response that fails to parse ends the episode with
failed_parse_reward; a conversation that outgrows the context (or
max_trajectory_tokens) with context_overflow_reward.`},
		{Name: "repeat_env_group", Impl: repeatEnvGroup, Doc: `repeat_env_group(env, group_size, logging_tags=[]) -> builder

A group builder of group_size copies of a problem_env or message_env (each
copy starts fresh).`},
		{Name: "token_completer", Impl: tokenCompleter, Doc: `token_completer(sampling_client, max_tokens, temperature=1.0, context_window=0, max_concurrency=64, version=0) -> policy

The policy rollouts sample from (the cookbook's TinkerTokenCompleter):
max_tokens is capped so that prompt + completion fit context_window (0: no
cap; a prompt that leaves no room gives an empty action with stop reason
context_overflow), and at most max_concurrency sample requests are in
flight. policy.set_sampling_client(client, version) swaps the weights
(version: the training step they come from) for the next requests;
policy.version, policy.sampling_client read them back.`},
		{Name: "message_completer", Impl: newMessageCompleter, Doc: `message_completer(policy, renderer) -> completer

The cookbook's MessageCompleter: completer.complete(messages) renders the
conversation, samples one response from the token_completer's current
weights and returns the parsed assistant message (a dict). For judges and
the other side of multi-agent envs; calling it from an env's step blocks
that env's group while it samples.`},
		{Name: "do_group_rollouts", Impl: doGroupRollouts, Doc: `do_group_rollouts(builders, policy, strategy="fail_fast", max_retries=3, min_group_size=1, timeout=0, max_turns=0, group_concurrency=0) -> result

Rolls out every builder's group at once, each episode on its own goroutine
and Starlark thread. policy is a token_completer or a Starlark function
(observation_tokens, stop) -> tokens or (tokens, logprobs). timeout (seconds)
bounds each episode. result.groups are the kept rl.TrajectoryGroup values
(builder order), result.failures a list of {group, episode, attempt, phase,
kind, error} with the env's traceback in error, result.num_dropped the
dropped groups, result.metrics the counters (rollouts/failures,
rollouts/timeouts, rollouts/dropped_groups, time/rollouts,
time/starlark_env_s: time inside Starlark env calls summed over goroutines,
time/starlark_share: that over wall time x GOMAXPROCS).`},
		{Name: "rollout_pool", Impl: rolloutPool, Doc: `rollout_pool(policy, workers=8, max_steps_off_policy=-1, strategy="fail_fast", max_retries=3, min_group_size=1, timeout=0, max_turns=0) -> pool

Background rollouts for async off-policy training and streaming minibatches:
pool.submit(builders) queues groups, workers roll them out with the policy's
current weights while the caller trains, and pool.take(n, step) returns n
finished groups whose policy version is at most max_steps_off_policy steps
behind step (staler ones are rolled out again; -1: no limit).
pool.metrics() has the timing of the last take (async/train_s,
async/sampling_during_train_s, async/overlap_frac, async/wait_s,
async/stale_requeued, async/max_staleness); pool.pending counts queued,
running and untaken groups; pool.close() stops the workers.`},
		{Name: "compute_advantages", Impl: computeAdvantages, Doc: `compute_advantages(groups) -> list of lists

Per group, each trajectory's total reward minus the group mean (no std
normalisation).`},
		{Name: "remove_constant_reward_groups", Impl: removeConstant, Doc: `remove_constant_reward_groups(groups) -> (kept, num_constant)

Drops groups whose rewards are all equal (no signal); keeps one if all are.`},
		{Name: "training_data", Impl: trainingData, Doc: `training_data(groups, advantages=None) -> batch

Datums of the groups (advantages default to compute_advantages(groups)):
multi-turn episodes merge into one datum when each observation extends the
previous turn; action tokens carry the sampled logprobs, the advantage and
mask 1. batch.data is the list of tinker Datums with the mask stripped
(target_tokens, logprobs, advantages); batch.split(n) cuts it into n
batches; batch.incorporate_kl_penalty(reference_sampling_client, coef,
discount=0.0) adds the KL penalty to the advantages and returns
{"kl_policy_base"}; batch.num_datums, num_tokens, num_action_tokens.`},
		{Name: "kl_sample_train", Impl: klSampleTrain, Doc: `kl_sample_train(batches, outputs) -> dict

optim/kl_sample_train_v1, _v2 and optim/entropy from the sampling logprobs
of the batches and the forward_backward outputs (one per batch) of the
training model.`},
		{Name: "trajectory_metrics", Impl: trajectoryMetrics, Doc: `trajectory_metrics(groups) -> dict

env/all/... metrics (reward/total, turns, tokens, stop/<reason>, by_group/*,
every env metric's mean) and env/<tag>/... per logging tag.`},
		{Name: "write_rollout_summaries", Impl: writeRolloutSummaries, Doc: `write_rollout_summaries(log_dir, step, groups, tokenizer, prefix="train", max_groups=4) -> path

Writes log_dir/iteration_NNNNNN/<prefix>_rollout_summaries.jsonl (one
record per trajectory of the first max_groups groups: decoded observation
and action per turn, rewards, advantage, metrics, logs) and a readable
<prefix>_rollout_summaries.txt beside it; returns the .jsonl path.`},
	},
}

func interp(thread *starlark.Thread, fn *starlark.Builtin) (*host.Interpreter, error) {
	in := host.InterpreterOf(thread)
	if in == nil {
		return nil, fmt.Errorf("%s: needs a thread of the tkx interpreter", fn.Name())
	}
	return in, nil
}

// ---- builders ----

type repeatGroup struct {
	env  goEnv
	n    int
	tags []string
}

func (r *repeatGroup) String() string {
	return fmt.Sprintf("<rl.repeat_env_group %d x %s>", r.n, r.env.Type())
}
func (r *repeatGroup) Type() string         { return "rl.repeat_env_group" }
func (r *repeatGroup) Freeze()              {}
func (r *repeatGroup) Truth() starlark.Bool { return true }
func (r *repeatGroup) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: rl.repeat_env_group")
}
func (r *repeatGroup) AttrNames() []string { return []string{"env", "group_size", "logging_tags"} }
func (r *repeatGroup) Attr(name string) (starlark.Value, error) {
	switch name {
	case "env":
		return r.env, nil
	case "group_size":
		return starlark.MakeInt(r.n), nil
	case "logging_tags":
		ts := make([]starlark.Value, len(r.tags))
		for i, t := range r.tags {
			ts[i] = starlark.String(t)
		}
		return starlark.NewList(ts), nil
	}
	return nil, nil
}

func repeatEnvGroup(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var envV starlark.Value
	var n int
	var tagsV starlark.Value = starlark.NewList(nil)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "env", &envV, "group_size", &n, "logging_tags?", &tagsV); err != nil {
		return nil, err
	}
	ge, ok := envV.(goEnv)
	if !ok {
		return nil, fmt.Errorf("%s: env: got %s, want an rl.problem_env or rl.message_env (for Starlark envs, write a builder with make_envs)", fn.Name(), envV.Type())
	}
	if n < 1 {
		return nil, fmt.Errorf("%s: group_size = %d must be ≥ 1", fn.Name(), n)
	}
	tags, err := host.AsStrings(tagsV, fn.Name()+": logging_tags")
	if err != nil {
		return nil, err
	}
	return &repeatGroup{env: ge, n: n, tags: tags}, nil
}

type goRepeatBuilder struct {
	e *engine
	r *repeatGroup
}

func (b *goRepeatBuilder) Tags() []string { return b.r.tags }
func (b *goRepeatBuilder) MakeEnvs(ctx context.Context) ([]rollout.Env, error) {
	g := &groupState{}
	envs := make([]rollout.Env, b.r.n)
	for i := range envs {
		envs[i] = &lockedGoEnv{e: b.e, g: g, env: b.r.env.reset()}
	}
	return envs, nil
}
func (b *goRepeatBuilder) ComputeGroupRewards(context.Context, []rl.Trajectory, []rollout.Env) ([]float64, []map[string]float64, error) {
	return nil, nil, nil
}

func toBuilders(e *engine, v starlark.Value, what string) ([]rollout.EnvGroupBuilder, error) {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a list of env group builders", what, v.Type())
	}
	var out []rollout.EnvGroupBuilder
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		w := fmt.Sprintf("%s[%d]", what, i)
		if r, ok := x.(*repeatGroup); ok {
			out = append(out, &goRepeatBuilder{e: e, r: r})
			continue
		}
		b, err := newBuilder(e, x, w)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// ---- policies ----

type starPolicy struct {
	e  *engine
	fn starlark.Callable
}

func (p *starPolicy) PolicyVersion() int { return 0 }

func (p *starPolicy) Complete(ctx context.Context, ob []int, stop rollout.StopCondition) (rollout.Action, error) {
	var stopV starlark.Value = starlark.None
	switch {
	case stop.Tokens != nil:
		stopV = host.Ints(stop.Tokens)
	case stop.Strings != nil:
		ss := make([]starlark.Value, len(stop.Strings))
		for i, s := range stop.Strings {
			ss[i] = starlark.String(s)
		}
		stopV = starlark.NewList(ss)
	}
	v, err := p.e.call(ctx, p.fn, starlark.Tuple{host.Ints(ob), stopV})
	if err != nil {
		return rollout.Action{}, err
	}
	var toksV, lpsV starlark.Value = v, nil
	if t, ok := v.(starlark.Tuple); ok && len(t) == 2 {
		toksV, lpsV = t[0], t[1]
	}
	toks, err := host.AsInts(toksV, "policy function result")
	if err != nil {
		return rollout.Action{}, err
	}
	lps := make([]float64, len(toks))
	if lpsV != nil {
		if lps, err = host.AsFloats(lpsV, "policy function logprobs"); err != nil {
			return rollout.Action{}, err
		}
		if len(lps) != len(toks) {
			return rollout.Action{}, fmt.Errorf("policy function returned %d tokens but %d logprobs", len(toks), len(lps))
		}
	}
	return rollout.Action{Tokens: toks, Logprobs: lps, StopReason: "stop"}, nil
}

func toPolicy(e *engine, v starlark.Value, what string) (rollout.Versioned, error) {
	switch p := v.(type) {
	case *policy:
		return p.v, nil
	case starlark.Callable:
		v.Freeze()
		return &starPolicy{e: e, fn: p}, nil
	}
	return nil, fmt.Errorf("%s: got %s, want an rl.token_completer or a function (tokens, stop) -> tokens", what, v.Type())
}

func tokenCompleter(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		scV                         starlark.Value
		maxTokens                   int
		temperature                 = host.Number(1.0)
		ctxWindow, maxConc, version = 0, 64, 0
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "sampling_client", &scV, "max_tokens", &maxTokens, "temperature?", &temperature,
		"context_window?", &ctxWindow, "max_concurrency?", &maxConc, "version?", &version); err != nil {
		return nil, err
	}
	sc, ok := startinker.AsSamplingClient(scV)
	if !ok {
		return nil, fmt.Errorf("%s: sampling_client: got %s, want a tinker SamplingClient", fn.Name(), scV.Type())
	}
	c, err := rollout.NewTinkerCompleter(sc, maxTokens, float64(temperature), ctxWindow, maxConc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	c.SetClient(sc, version)
	p := newPolicy(c)
	p.setClientValue(scV)
	return p, nil
}

func setSamplingClient(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	p := fn.Receiver().(*policy)
	if p.c == nil {
		return nil, fmt.Errorf("%s: this policy has no sampling client", fn.Name())
	}
	var scV starlark.Value
	var version int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "sampling_client", &scV, "version", &version); err != nil {
		return nil, err
	}
	sc, ok := startinker.AsSamplingClient(scV)
	if !ok {
		return nil, fmt.Errorf("%s: sampling_client: got %s, want a tinker SamplingClient", fn.Name(), scV.Type())
	}
	p.c.SetClient(sc, version)
	p.setClientValue(scV)
	return starlark.None, nil
}

// ---- rollouts ----

type rolloutArgs struct {
	strategy     string
	maxRetries   int
	minGroupSize int
	timeout      host.Number
	maxTurns     int
}

func (a *rolloutArgs) unpackSpec() []any {
	return []any{"strategy?", &a.strategy, "max_retries?", &a.maxRetries, "min_group_size?", &a.minGroupSize, "timeout?", &a.timeout, "max_turns?", &a.maxTurns}
}

func (a *rolloutArgs) options(name string) (rollout.Options, error) {
	if a.timeout < 0 {
		return rollout.Options{}, fmt.Errorf("%s: timeout = %v must be ≥ 0 (seconds; 0: none)", name, a.timeout)
	}
	o := rollout.Options{
		Strategy: rollout.Strategy{Kind: a.strategy, MaxRetries: a.maxRetries, MinGroupSize: a.minGroupSize},
		Timeout:  time.Duration(float64(a.timeout) * float64(time.Second)),
		MaxTurns: a.maxTurns,
	}
	if err := o.Strategy.Validate(); err != nil {
		return o, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

func newRolloutArgs() rolloutArgs {
	return rolloutArgs{strategy: rollout.FailFast, maxRetries: 3, minGroupSize: 1}
}

func doGroupRollouts(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	in, err := interp(thread, fn)
	if err != nil {
		return nil, err
	}
	var buildersV, policyV starlark.Value
	ra := newRolloutArgs()
	groupConc := 0
	spec := append([]any{"builders", &buildersV, "policy", &policyV}, ra.unpackSpec()...)
	spec = append(spec, "group_concurrency?", &groupConc)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, spec...); err != nil {
		return nil, err
	}
	opts, err := ra.options(fn.Name())
	if err != nil {
		return nil, err
	}
	opts.GroupConcurrency = groupConc
	e := &engine{in: in}
	builders, err := toBuilders(e, buildersV, "builders")
	if err != nil {
		return nil, err
	}
	pol, err := toPolicy(e, policyV, fn.Name()+": policy")
	if err != nil {
		return nil, err
	}
	version := pol.PolicyVersion()
	res, err := rollout.DoGroupRollouts(host.Context(thread), builders, pol, e.options(opts))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	var groups []*group
	var failures []starlark.Value
	for _, g := range res.Groups {
		for _, f := range g.Failures {
			failures = append(failures, failureValue(f))
		}
		if g.Group != nil {
			groups = append(groups, newGroup(*g.Group, g.Tags, version, g.Failures))
		}
	}
	metrics := res.Metrics()
	metrics["time/starlark_env_s"] = time.Duration(e.starlarkN.Load()).Seconds()
	if res.Wall > 0 {
		// Time inside Starlark env calls, summed over goroutines, over
		// the CPU time available (wall x GOMAXPROCS).
		metrics["time/starlark_share"] = float64(e.starlarkN.Load()) / (float64(res.Wall) * float64(runtime.GOMAXPROCS(0)))
	}
	mv, _ := host.ToStarlark(metrics)
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"groups":      groupsList(groups),
		"failures":    starlark.NewList(failures),
		"num_dropped": starlark.MakeInt(res.NumDropped),
		"metrics":     mv,
	}), nil
}

func rolloutPool(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	in, err := interp(thread, fn)
	if err != nil {
		return nil, err
	}
	var policyV starlark.Value
	workers, maxOff := 8, -1
	ra := newRolloutArgs()
	spec := append([]any{"policy", &policyV, "workers?", &workers, "max_steps_off_policy?", &maxOff}, ra.unpackSpec()...)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, spec...); err != nil {
		return nil, err
	}
	opts, err := ra.options(fn.Name())
	if err != nil {
		return nil, err
	}
	e := &engine{in: in}
	pol, err := toPolicy(e, policyV, fn.Name()+": policy")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(host.Context(thread))
	p, err := rollout.NewPool(ctx, pol, e.options(opts), workers, maxOff)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	pv := &pool{p: p, eng: e, cancel: cancel}
	pv.object = object{
		typ: "rl.RolloutPool",
		str: func() string { return fmt.Sprintf("<rl.RolloutPool pending=%d>", p.Pending()) },
		attrs: func(name string) starlark.Value {
			if name == "pending" {
				return starlark.MakeInt(p.Pending())
			}
			return nil
		},
		names:   []string{"pending"},
		methods: map[string]host.BuiltinFunc{"submit": poolSubmit, "take": poolTake, "metrics": poolMetrics, "close": poolClose},
		self:    pv,
	}
	return pv, nil
}

func poolSubmit(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pv := fn.Receiver().(*pool)
	var bV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "builders", &bV); err != nil {
		return nil, err
	}
	bs, err := toBuilders(pv.eng, bV, "builders")
	if err != nil {
		return nil, err
	}
	pv.p.Submit(bs...)
	return starlark.None, nil
}

func poolTake(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pv := fn.Receiver().(*pool)
	var n, step int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n, "step", &step); err != nil {
		return nil, err
	}
	got, err := pv.p.Take(host.Context(thread), n, step)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	var out []starlark.Value
	for _, s := range got {
		if s.Group != nil {
			out = append(out, newGroup(*s.Group, s.Tags, s.Version, s.Failures))
		}
	}
	return starlark.NewList(out), nil
}

func poolMetrics(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pv := fn.Receiver().(*pool)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	m := pv.p.Metrics()
	m["time/starlark_env_s"] = time.Duration(pv.eng.starlarkN.Load()).Seconds()
	return host.ToStarlark(m)
}

func poolClose(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pv := fn.Receiver().(*pool)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	pv.p.Close()
	pv.cancel()
	return starlark.None, nil
}
