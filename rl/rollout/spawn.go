package rollout

import "time"

// Episode goroutines are reused: a Starlark call grows a fresh goroutine's
// stack several times (runtime.newstack was a quarter of the CPU time of
// 512 trivial Starlark envs), so a worker that finishes waits a while for
// the next function instead of exiting, keeping its grown stack.

const workerIdle = 2 * time.Second

var idleWorkers = make(chan func())

// spawn runs f on an idle worker goroutine, or a new one.
func spawn(f func()) {
	select {
	case idleWorkers <- f:
	default:
		go worker(f)
	}
}

func worker(f func()) {
	f()
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		select {
		case f := <-idleWorkers:
			f()
			t.Reset(workerIdle)
		case <-t.C:
			return
		}
	}
}
