package starrl_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins"
	"github.com/tkx-dev/tkx/builtins/starrl"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// The rollout-throughput benchmark: 512 concurrent trivial Starlark envs
// (64 groups x 8), each one turn, against a Go policy that answers after a
// fixed latency (0: the engine's own overhead is the whole denominator, the
// worst case for the Starlark share; 2ms: a fast sampler). It reports
// starlark_share = time inside Starlark env/builder calls (summed over
// goroutines) / (wall time x GOMAXPROCS), and the same rollouts with
// equivalent Go envs for comparison (go_env_ns/op).

const benchEnvs = `
def make_env(i):
    state = {"n": 0}
    def initial_observation():
        return [1, 2, 3, i % 50], [0]
    def step(action):
        state["n"] += 1
        return {"reward": float(action[0] == 7), "episode_done": True, "metrics": {"len": len(action)}}
    return struct(initial_observation = initial_observation, step = step)

def builder(g):
    return struct(make_envs = lambda: [make_env(g * 8 + k) for k in range(8)], logging_tags = ["bench"])

def run(policy):
    return rl.do_group_rollouts([builder(g) for g in range(64)], policy)
`

type latencyPolicy struct{ d time.Duration }

func (p latencyPolicy) Complete(ctx context.Context, ob []int, stop rollout.StopCondition) (rollout.Action, error) {
	if p.d > 0 {
		time.Sleep(p.d)
	}
	return rollout.Action{Tokens: []int{7, ob[len(ob)-1]}, Logprobs: []float64{-1, -1}, StopReason: "stop"}, nil
}

// goEnv is the same trivial env in Go.
type goEnv struct{ i int }

func (e *goEnv) InitialObservation(context.Context) ([]int, rollout.StopCondition, error) {
	return []int{1, 2, 3, e.i % 50}, rollout.StopCondition{Tokens: []int{0}}, nil
}
func (e *goEnv) Step(_ context.Context, a rollout.Action) (rollout.StepResult, error) {
	r := 0.0
	if a.Tokens[0] == 7 {
		r = 1
	}
	return rollout.StepResult{Reward: r, EpisodeDone: true, Metrics: map[string]float64{"len": float64(len(a.Tokens))}}, nil
}

type goBuilder struct{ g int }

func (b goBuilder) MakeEnvs(context.Context) ([]rollout.Env, error) {
	out := make([]rollout.Env, 8)
	for k := range out {
		out[k] = &goEnv{i: b.g*8 + k}
	}
	return out, nil
}
func (goBuilder) ComputeGroupRewards(context.Context, []rl.Trajectory, []rollout.Env) ([]float64, []map[string]float64, error) {
	return nil, nil, nil
}
func (goBuilder) Tags() []string { return []string{"bench"} }

func BenchmarkRollouts512StarlarkEnvs(b *testing.B) {
	for _, lat := range []time.Duration{0, 2 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", lat), func(b *testing.B) {
			in := host.New(host.Options{Modules: builtins.All()})
			globals, err := in.ExecFile(context.Background(), "bench.star", benchEnvs)
			if err != nil {
				b.Fatal(host.FormatError(err))
			}
			pol := starrl.PolicyValue(latencyPolicy{lat}) // a Go policy: no Starlark time of its own
			run := globals["run"]
			th, release := in.NewThread(context.Background(), "bench")
			defer release()
			var share, starS, wallS float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v, err := starlark.Call(th, run, starlark.Tuple{pol}, nil)
				if err != nil {
					b.Fatal(host.FormatError(err))
				}
				m, _ := v.(starlark.HasAttrs).Attr("metrics")
				d := m.(*starlark.Dict)
				get := func(k string) float64 {
					x, _, _ := d.Get(starlark.String(k))
					f, _ := starlark.AsFloat(x)
					return f
				}
				starS += get("time/starlark_env_s")
				wallS += get("time/rollouts")
			}
			b.StopTimer()
			share = starS / (wallS * float64(runtime.GOMAXPROCS(0)))
			b.ReportMetric(share*100, "starlark_%")
			b.ReportMetric(wallS/float64(b.N)*1e3, "wall_ms/op")

			// The same rollouts with Go envs.
			builders := make([]rollout.EnvGroupBuilder, 64)
			for g := range builders {
				builders[g] = goBuilder{g}
			}
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := rollout.DoGroupRollouts(context.Background(), builders, latencyPolicy{lat}, rollout.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "go_env_wall_ms/op")
		})
	}
}

const benchLocal = `
def setup():
    service = tinker.service_client()
    tc = service.create_lora_training_client(base_model = "tkx/local-tiny", rank = 4)
    return rl.token_completer(tc.save_weights_and_get_sampling_client(), max_tokens = 8, context_window = 256, max_concurrency = 64)
`

// BenchmarkRollouts512LocalTiny is the same 512 trivial Starlark envs
// sampled for real from tkx/local-tiny on the embedded backend (8 tokens
// each, first turn batched per group): the Starlark share of a real
// rollout's wall time.
func BenchmarkRollouts512LocalTiny(b *testing.B) {
	in := host.New(host.Options{Modules: builtins.All()})
	globals, err := in.ExecFile(context.Background(), "bench.star", benchEnvs+benchLocal)
	if err != nil {
		b.Fatal(host.FormatError(err))
	}
	th, release := in.NewThread(context.Background(), "bench")
	defer release()
	pol, err := starlark.Call(th, globals["setup"], nil, nil)
	if err != nil {
		b.Fatal(host.FormatError(err))
	}
	var starS, wallS float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := starlark.Call(th, globals["run"], starlark.Tuple{pol}, nil)
		if err != nil {
			b.Fatal(host.FormatError(err))
		}
		m, _ := v.(starlark.HasAttrs).Attr("metrics")
		d := m.(*starlark.Dict)
		get := func(k string) float64 {
			x, _, _ := d.Get(starlark.String(k))
			f, _ := starlark.AsFloat(x)
			return f
		}
		starS += get("time/starlark_env_s")
		wallS += get("time/rollouts")
	}
	b.ReportMetric(starS/(wallS*float64(runtime.GOMAXPROCS(0)))*100, "starlark_%")
	b.ReportMetric(512*float64(b.N)/wallS, "episodes/s")
}
