package host

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"go.starlark.net/starlark"
)

// ItemError is the failure of one call of parallel_map; it carries the
// index of the item and the call's own Starlark backtrace.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string {
	var evalErr *starlark.EvalError
	if errors.As(e.Err, &evalErr) {
		return fmt.Sprintf("item %d failed:\n%s", e.Index, evalErr.Backtrace())
	}
	return fmt.Sprintf("item %d failed: %v", e.Index, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

func parallelMap(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	var items starlark.Iterable
	workers := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f, "items", &items, "workers?", &workers); err != nil {
		return nil, err
	}
	if workers < 0 {
		return nil, fmt.Errorf("%s: workers must be >= 0, got %d", fn.Name(), workers)
	}
	var list []starlark.Value
	iter := items.Iterate()
	var x starlark.Value
	for iter.Next(&x) {
		list = append(list, x)
	}
	iter.Done()
	in := InterpreterOf(thread)
	if in == nil {
		return nil, fmt.Errorf("%s: called from a thread the tkx host did not make", fn.Name())
	}
	results, err := ParallelCall(Context(thread), in, f, list, workers)
	if err != nil {
		return nil, err
	}
	return starlark.NewList(results), nil
}

// ParallelCall calls f(item) for every item on up to workers goroutines,
// each with its own thread of in. Items are frozen first so threads can
// share them without locks. The first error cancels the other calls.
func ParallelCall(ctx context.Context, in *Interpreter, f starlark.Callable, items []starlark.Value, workers int) ([]starlark.Value, error) {
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(items))
	for _, it := range items {
		it.Freeze()
	}
	f.Freeze()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	results := make([]starlark.Value, len(items))
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			th, release := in.NewThread(ctx, fmt.Sprintf("parallel_map worker %d", w))
			defer release()
			for i := range next {
				v, err := starlark.Call(th, f, starlark.Tuple{items[i]}, nil)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = &ItemError{Index: i, Err: err}
						cancel(firstErr)
					}
					mu.Unlock()
					continue
				}
				results[i] = v
			}
		}(w)
	}
feed:
	for i := range items {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return results, nil
}
