package backend

import (
	"fmt"
	"net/http"
	"os"
	"sync"
)

// InProcessBaseURL is the base URL to use with NewInProcessClient (any
// host works; this one reads well in logs).
const InProcessBaseURL = "http://local"

var shared struct {
	once sync.Once
	e    *Engine
	err  error
}

// SharedEngine returns the process-wide local engine over DefaultDataDir()
// ($TKX_HOME), creating it on first use. Everything in one process that
// selects the local backend (base URL "local" or no TINKER_API_KEY) shares
// it, so checkpoints saved by one client are visible to the others.
// $TKX_FAULTS (same syntax as `tkx serve --faults`) injects faults into it.
func SharedEngine() (*Engine, error) {
	shared.once.Do(func() {
		fc, err := ParseFaults(os.Getenv("TKX_FAULTS"))
		if err != nil {
			shared.err = fmt.Errorf("TKX_FAULTS: %w", err)
			return
		}
		shared.e, shared.err = NewEngine(Options{Faults: fc})
	})
	return shared.e, shared.err
}

// LocalClient returns an *http.Client served in-process by SharedEngine,
// for use with base URL InProcessBaseURL.
func LocalClient() (*http.Client, error) {
	e, err := SharedEngine()
	if err != nil {
		return nil, err
	}
	return NewInProcessClient(e.Handler()), nil
}
