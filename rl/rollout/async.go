package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Versioned is a policy that knows which training step its weights come
// from (TinkerCompleter: the version given to SetClient).
type Versioned interface {
	TokenCompleter
	PolicyVersion() int
}

// PolicyVersion is the version of the current sampling client.
func (c *TinkerCompleter) PolicyVersion() int {
	_, v := c.Client()
	return v
}

// Sampled is one group finished by a Pool.
type Sampled struct {
	GroupResult
	// Version is the policy version when the group's rollout started (its
	// oldest weights); Seq is the order in which the builder was submitted.
	Version int
	Seq     int
	Builder EnvGroupBuilder
}

// Pool keeps rolling out groups in the background (the cookbook's async
// off-policy training with max_steps_off_policy, and stream_minibatch):
// Submit queues builders, workers roll them out with the policy's current
// weights, and Take hands finished groups to the trainer, requeueing any
// group sampled more than MaxStepsOffPolicy steps before the step being
// trained so that it is rolled out again with fresher weights. Rollouts keep
// running while the caller trains; Metrics reports how much they overlapped.
type Pool struct {
	policy Versioned
	opts   Options
	maxOff int

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []queued
	done     []Sampled
	err      error
	seq      int
	inflight int
	// busy accounting: total time with ≥ 1 group in flight.
	busy      time.Duration
	busySince time.Time

	// trainer-window accounting (between a Take returning and the next
	// Take being called).
	lastTakeEnd time.Time
	busyAtTake  time.Duration
	finishedAt  int // groups finished when the last Take returned
	finished    int
	requeued    int
	stats       map[string]float64
}

type queued struct {
	b   EnvGroupBuilder
	seq int
}

// NewPool starts workers goroutines rolling out submitted builders.
// maxStepsOffPolicy < 0 means no limit.
func NewPool(ctx context.Context, policy Versioned, opts Options, workers, maxStepsOffPolicy int) (*Pool, error) {
	if err := opts.Strategy.Validate(); err != nil {
		return nil, err
	}
	if workers < 1 {
		return nil, fmt.Errorf("rollout pool: workers = %d must be ≥ 1", workers)
	}
	p := &Pool{policy: policy, opts: opts, maxOff: maxStepsOffPolicy, stats: map[string]float64{}}
	p.cond = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	for w := 0; w < workers; w++ {
		p.wg.Add(1)
		go p.worker()
	}
	go func() {
		<-p.ctx.Done()
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	return p, nil
}

// Submit queues builders for rollout, in order.
func (p *Pool) Submit(builders ...EnvGroupBuilder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range builders {
		p.queue = append(p.queue, queued{b: b, seq: p.seq})
		p.seq++
	}
	p.cond.Broadcast()
}

// Pending is the number of builders queued or in flight plus the finished
// groups not taken yet.
func (p *Pool) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue) + p.inflight + len(p.done)
}

func (p *Pool) worker() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && p.ctx.Err() == nil {
			p.cond.Wait()
		}
		if p.ctx.Err() != nil {
			p.mu.Unlock()
			return
		}
		q := p.queue[0]
		p.queue = p.queue[1:]
		if p.inflight == 0 {
			p.busySince = time.Now()
		}
		p.inflight++
		p.mu.Unlock()

		version := p.policy.PolicyVersion()
		gr, err := RolloutGroup(p.ctx, q.seq, q.b, p.policy, p.opts)

		p.mu.Lock()
		p.inflight--
		if p.inflight == 0 {
			p.busy += time.Since(p.busySince)
		}
		if err != nil {
			if p.err == nil && p.ctx.Err() == nil {
				p.err = err
			}
		} else {
			p.done = append(p.done, Sampled{GroupResult: gr, Version: version, Seq: q.seq, Builder: q.b})
			p.finished++
		}
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

func (p *Pool) busyNow() time.Duration {
	b := p.busy
	if p.inflight > 0 {
		b += time.Since(p.busySince)
	}
	return b
}

// Take waits for n finished groups fresh enough to train step on
// (step − version ≤ MaxStepsOffPolicy) and returns them in submission
// order of completion. Stale groups are requeued (rolled out again). A
// FailFast rollout failure is returned as the error. Dropped groups
// (Group == nil) count towards n.
func (p *Pool) Take(ctx context.Context, n, step int) ([]Sampled, error) {
	called := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	stats := map[string]float64{}
	if !p.lastTakeEnd.IsZero() {
		train := called.Sub(p.lastTakeEnd)
		overlap := p.busyNow() - p.busyAtTake
		stats["async/train_s"] = train.Seconds()
		stats["async/sampling_during_train_s"] = overlap.Seconds()
		if train > 0 {
			stats["async/overlap_frac"] = min(1, overlap.Seconds()/train.Seconds())
		}
		stats["async/groups_finished_during_train"] = float64(p.finished - p.finishedAt)
	}
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	var out []Sampled
	requeued, maxStale := 0, 0
	for len(out) < n {
		if p.err != nil {
			return nil, p.err
		}
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if err := p.ctx.Err(); err != nil {
			return nil, fmt.Errorf("rollout pool closed: %w", context.Cause(p.ctx))
		}
		if len(p.done) == 0 {
			if len(p.queue) == 0 && p.inflight == 0 {
				return nil, fmt.Errorf("rollout pool: waiting for %d groups but only %d are left (submit more builders)", n, len(out))
			}
			p.cond.Wait()
			continue
		}
		s := p.done[0]
		p.done = p.done[1:]
		if stale := step - s.Version; p.maxOff >= 0 && stale > p.maxOff {
			if cur := p.policy.PolicyVersion(); step-cur > p.maxOff {
				// Rolling it out again would be just as stale: the caller
				// trains ahead of the weights it gives the policy.
				p.done = append([]Sampled{s}, p.done...)
				return nil, fmt.Errorf("rollout pool: step %d is more than max_steps_off_policy = %d steps ahead of the policy's version %d (set the new sampling client with its version after each step)", step, p.maxOff, cur)
			}
			p.queue = append([]queued{{b: s.Builder, seq: s.Seq}}, p.queue...)
			requeued++
			p.cond.Broadcast()
			continue
		}
		maxStale = max(maxStale, step-s.Version)
		out = append(out, s)
	}
	p.requeued += requeued
	end := time.Now()
	stats["async/wait_s"] = end.Sub(called).Seconds()
	stats["async/stale_requeued"] = float64(requeued)
	stats["async/max_staleness"] = float64(maxStale)
	p.lastTakeEnd, p.busyAtTake, p.finishedAt = end, p.busyNow(), p.finished
	p.stats = stats
	return out, nil
}

// Metrics are the timing and staleness figures of the last Take: async/
// train_s (trainer time between the previous Take and this one), async/
// sampling_during_train_s and async/overlap_frac (how much of it had
// rollouts in flight), async/groups_finished_during_train, async/wait_s,
// async/stale_requeued, async/max_staleness.
func (p *Pool) Metrics() map[string]float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]float64, len(p.stats)+1)
	for k, v := range p.stats {
		out[k] = v
	}
	out["async/total_stale_requeued"] = float64(p.requeued)
	return out
}

// Close stops the workers (in-flight rollouts are cancelled) and waits.
func (p *Pool) Close() {
	p.cancel(fmt.Errorf("rollout pool closed"))
	p.wg.Wait()
}
