package starrl

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// object is the shared shape of the module's Go values: read-only
// attributes and bound methods.
type object struct {
	typ     string
	str     func() string
	attrs   func(name string) starlark.Value
	names   []string // attribute names
	methods map[string]host.BuiltinFunc
	self    starlark.Value
}

func (o *object) String() string        { return o.str() }
func (o *object) Type() string          { return o.typ }
func (o *object) Freeze()               {}
func (o *object) Truth() starlark.Bool  { return true }
func (o *object) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", o.typ) }
func (o *object) AttrNames() []string {
	out := append([]string(nil), o.names...)
	for k := range o.methods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
func (o *object) Attr(name string) (starlark.Value, error) {
	if m, ok := o.methods[name]; ok {
		return starlark.NewBuiltin(o.typ+"."+name, m).BindReceiver(o.self), nil
	}
	if o.attrs != nil {
		if v := o.attrs(name); v != nil {
			return v, nil
		}
	}
	return nil, nil
}

// ---- policy ----

// policy is a TokenCompleter as a Starlark value: a TinkerCompleter
// (token_completer) or any Go policy (PolicyValue).
type policy struct {
	object
	v       rollout.Versioned
	c       *rollout.TinkerCompleter // nil for other policies
	mu      sync.Mutex
	clientV starlark.Value
}

type unversioned struct{ rollout.TokenCompleter }

func (unversioned) PolicyVersion() int { return 0 }

// PolicyValue wraps a Go policy for rl.do_group_rollouts and
// rl.rollout_pool (a rollout.Versioned one reports its version; others
// are version 0).
func PolicyValue(tc rollout.TokenCompleter) starlark.Value {
	v, ok := tc.(rollout.Versioned)
	if !ok {
		v = unversioned{tc}
	}
	p := &policy{v: v}
	p.object = object{
		typ: "rl.policy",
		str: func() string { return fmt.Sprintf("<rl.policy %T>", tc) },
		attrs: func(name string) starlark.Value {
			if name == "version" {
				return starlark.MakeInt(v.PolicyVersion())
			}
			return nil
		},
		names: []string{"version"},
		self:  p,
	}
	return p
}

func newPolicy(c *rollout.TinkerCompleter) *policy {
	p := &policy{c: c, v: c}
	p.object = object{
		typ: "rl.token_completer",
		str: func() string {
			return fmt.Sprintf("<rl.token_completer max_tokens=%d version=%d>", c.MaxTokens, c.PolicyVersion())
		},
		attrs: func(name string) starlark.Value {
			switch name {
			case "version":
				return starlark.MakeInt(c.PolicyVersion())
			case "max_tokens":
				return starlark.MakeInt(c.MaxTokens)
			case "temperature":
				return starlark.Float(c.Temperature)
			case "sampling_client":
				p.mu.Lock()
				defer p.mu.Unlock()
				return p.clientV
			}
			return nil
		},
		names:   []string{"max_tokens", "sampling_client", "temperature", "version"},
		methods: map[string]host.BuiltinFunc{"set_sampling_client": setSamplingClient},
		self:    p,
	}
	return p
}

// the Starlark value of the current client (kept to hand it back).
func (p *policy) setClientValue(v starlark.Value) {
	p.mu.Lock()
	p.clientV = v
	p.mu.Unlock()
}

// ---- groups ----

// group is a finished TrajectoryGroup with its logging tags and the policy
// version that sampled it.
type group struct {
	object
	g        rl.TrajectoryGroup
	tags     []string
	version  int
	failures []*rollout.Failure
	once     sync.Once
	trajs    *starlark.List
}

func newGroup(g rl.TrajectoryGroup, tags []string, version int, failures []*rollout.Failure) *group {
	v := &group{g: g, tags: tags, version: version, failures: failures}
	v.object = object{
		typ: "rl.TrajectoryGroup",
		str: func() string {
			return fmt.Sprintf("<rl.TrajectoryGroup %d trajectories, rewards %v>", len(v.g.Trajectories), v.g.TotalRewards())
		},
		attrs: func(name string) starlark.Value {
			switch name {
			case "trajectories":
				v.once.Do(func() {
					ts := make([]starlark.Value, len(v.g.Trajectories))
					for i := range v.g.Trajectories {
						ts[i] = trajectoryValue(&v.g.Trajectories[i])
					}
					v.trajs = starlark.NewList(ts)
					v.trajs.Freeze()
				})
				return v.trajs
			case "total_rewards":
				return host.Floats(v.g.TotalRewards())
			case "final_rewards":
				if v.g.FinalRewards == nil {
					return host.Floats(make([]float64, len(v.g.Trajectories)))
				}
				return host.Floats(v.g.FinalRewards)
			case "tags":
				ts := make([]starlark.Value, len(v.tags))
				for i, t := range v.tags {
					ts[i] = starlark.String(t)
				}
				return starlark.NewList(ts)
			case "version":
				return starlark.MakeInt(v.version)
			case "is_constant_reward":
				return starlark.Bool(v.g.IsConstantReward())
			case "rollout_errors":
				errs := make([]starlark.Value, len(v.g.RolloutErrors))
				for i, e := range v.g.RolloutErrors {
					errs[i] = starlark.String(e.Type + ": " + e.Message)
				}
				return starlark.NewList(errs)
			}
			return nil
		},
		names: []string{"final_rewards", "is_constant_reward", "rollout_errors", "tags", "total_rewards", "trajectories", "version"},
		self:  v,
	}
	return v
}

func asGroups(v starlark.Value, what string) ([]*group, error) {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a list of rl.TrajectoryGroup", what, v.Type())
	}
	var out []*group
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		g, ok := x.(*group)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: got %s, want an rl.TrajectoryGroup (from do_group_rollouts or a pool)", what, i, x.Type())
		}
		out = append(out, g)
	}
	return out, nil
}

func groupsList(gs []*group) *starlark.List {
	out := make([]starlark.Value, len(gs))
	for i, g := range gs {
		out[i] = g
	}
	return starlark.NewList(out)
}

func failureValue(f *rollout.Failure) starlark.Value {
	d := starlark.NewDict(5)
	_ = d.SetKey(starlark.String("group"), starlark.MakeInt(f.Group))
	_ = d.SetKey(starlark.String("episode"), starlark.MakeInt(f.Episode))
	_ = d.SetKey(starlark.String("attempt"), starlark.MakeInt(f.Attempt))
	_ = d.SetKey(starlark.String("phase"), starlark.String(f.Phase))
	_ = d.SetKey(starlark.String("kind"), starlark.String(f.Kind))
	_ = d.SetKey(starlark.String("error"), starlark.String(f.Err.Error()))
	return d
}

// ---- training batches ----

// batch is the training data of some groups: datums with their mask (for
// metrics and the KL penalty); .data strips it.
type batch struct {
	object
	data []rl.Datum
	once sync.Once
	wire *starlark.List
	err  error
}

func newBatch(data []rl.Datum) *batch {
	b := &batch{data: data}
	b.object = object{
		typ: "rl.TrainingBatch",
		str: func() string { return fmt.Sprintf("<rl.TrainingBatch %d datums>", len(b.data)) },
		attrs: func(name string) starlark.Value {
			switch name {
			case "num_datums":
				return starlark.MakeInt(len(b.data))
			case "num_tokens":
				n := 0
				for _, d := range b.data {
					n += d.Len()
				}
				return starlark.MakeInt(n)
			case "num_action_tokens":
				n := 0
				for _, d := range b.data {
					for _, m := range d.Floats[rl.KeyMask] {
						if m > 0 {
							n++
						}
					}
				}
				return starlark.MakeInt(n)
			}
			return nil
		},
		names:   []string{"data", "num_action_tokens", "num_datums", "num_tokens"},
		methods: map[string]host.BuiltinFunc{"split": batchSplit, "incorporate_kl_penalty": batchKL},
		self:    b,
	}
	return b
}

// Attr adds the (lazily converted) data attribute.
func (b *batch) Attr(name string) (starlark.Value, error) {
	if name == "data" {
		l, err := b.wireData()
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	return b.object.Attr(name)
}

func (b *batch) wireData() (*starlark.List, error) {
	b.once.Do(func() {
		ps, err := rl.ToProtocolBatch(b.data)
		if err != nil {
			b.err = err
			return
		}
		vs := make([]starlark.Value, len(ps))
		for i, p := range ps {
			vs[i] = startinker.NewDatum(p)
		}
		b.wire = starlark.NewList(vs)
		b.wire.Freeze()
	})
	return b.wire, b.err
}

// ---- pool ----

type pool struct {
	object
	p      *rollout.Pool
	eng    *engine
	pol    *policy
	cancel context.CancelFunc
}
