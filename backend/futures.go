package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

// ErrorCategory is the `category` of a failed future: "user" for bad input
// the caller must fix, "server" for failures on our side.
type ErrorCategory string

const (
	CategoryUser    ErrorCategory = "user"
	CategoryServer  ErrorCategory = "server"
	CategoryUnknown ErrorCategory = "unknown"
)

// RequestError is an error with a category, as a future reports it
// (`{"error": msg, "category": cat}`).
type RequestError struct {
	Category ErrorCategory
	Msg      string
	// Status is the HTTP status when the error is returned at submit time
	// (0 = 400 for user errors, 500 otherwise).
	Status int
}

func (e *RequestError) Error() string { return e.Msg }

// userErr builds a user-category error.
func userErr(format string, args ...any) *RequestError {
	return &RequestError{Category: CategoryUser, Msg: sprintf(format, args...)}
}

// serverErr builds a server-category error.
func serverErr(format string, args ...any) *RequestError {
	return &RequestError{Category: CategoryServer, Msg: sprintf(format, args...)}
}

// asRequestError classifies any error: a *RequestError keeps its category,
// anything else becomes a server error.
func asRequestError(err error) *RequestError {
	if err == nil {
		return nil
	}
	if re, ok := err.(*RequestError); ok {
		return re
	}
	return &RequestError{Category: CategoryServer, Msg: err.Error()}
}

// Result is a completed request's payload. Exactly one of JSON or Proto is
// the canonical form; a result may carry both (ForwardBackward and Sample
// results are served as protobuf when the caller accepts it, JSON otherwise).
type Result struct {
	// Value is the typed result, kept so in-process callers and tests can
	// look at it without decoding.
	Value any
	// JSON is the JSON body; when nil it is encoded from Value on first
	// use (protobuf results are rarely asked for as JSON).
	JSON     []byte
	jsonOnce sync.Once
	jsonErr  error
	// Proto is the protobuf body, for ForwardBackwardOutput and
	// SampleResponse; nil for the JSON-only results.
	Proto []byte
}

// jsonBody returns the JSON form of the result.
func (r *Result) jsonBody() ([]byte, error) {
	r.jsonOnce.Do(func() {
		if r.JSON == nil {
			r.JSON, r.jsonErr = json.Marshal(r.Value)
		}
	})
	return r.JSON, r.jsonErr
}

// future is one request's eventual result.
type future struct {
	id       string
	kind     string // e.g. "ForwardBackward", for errors and metrics
	modelID  string
	created  time.Time
	done     chan struct{}
	finished time.Time
	// delivered is when the full result was last sent; delivered results
	// are dropped sooner than undelivered ones.
	delivered time.Time
	result    *Result
	err       *RequestError
}

func (f *future) isDone() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// futureStore holds futures until some time after they complete.
type futureStore struct {
	mu       sync.Mutex
	futures  map[string]*future
	expired  map[string]time.Time // tombstones of expired ids → 410
	retain   time.Duration
	lastGC   time.Time
	nowFunc  func() time.Time
	inflight int
	// draining is closed when the server shuts down: long-polls return.
	draining  chan struct{}
	drainOnce sync.Once
}

func newFutureStore(retain time.Duration) *futureStore {
	return &futureStore{
		futures:  map[string]*future{},
		expired:  map[string]time.Time{},
		retain:   retain,
		nowFunc:  time.Now,
		draining: make(chan struct{}),
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// create registers a new pending future.
func (s *futureStore) create(kind, modelID string) *future {
	f := &future{id: newRequestID(), kind: kind, modelID: modelID, created: s.nowFunc(), done: make(chan struct{})}
	s.mu.Lock()
	s.futures[f.id] = f
	s.inflight++
	s.gcLocked()
	s.mu.Unlock()
	return f
}

// complete resolves f with a result or an error. It is a no-op the second
// time.
func (s *futureStore) complete(f *future, r *Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.isDone() {
		return
	}
	f.result = r
	f.err = asRequestError(err)
	f.finished = s.nowFunc()
	s.inflight--
	close(f.done)
}

// lookupState says what retrieve_future found.
type lookupState int

const (
	futureFound lookupState = iota
	futureUnknown
	futureExpired
)

func (s *futureStore) get(id string) (*future, lookupState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked()
	if f, ok := s.futures[id]; ok {
		return f, futureFound
	}
	if _, ok := s.expired[id]; ok {
		return nil, futureExpired
	}
	return nil, futureUnknown
}

// wait blocks until f completes, ctx ends or the long-poll window passes.
// It reports whether f is done.
func (s *futureStore) wait(ctx context.Context, f *future, window time.Duration) bool {
	if f.isDone() {
		return true
	}
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	case <-s.draining:
		return f.isDone()
	}
}

// drain ends every long-poll now and in future.
func (s *futureStore) drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// gcLocked drops completed futures older than retain, leaving a tombstone
// (for 410 Gone) that itself lives for 4×retain.
func (s *futureStore) gcLocked() {
	now := s.nowFunc()
	if now.Sub(s.lastGC) < time.Second && len(s.futures) < 100000 {
		return
	}
	s.lastGC = now
	for id, f := range s.futures {
		if !f.isDone() {
			continue
		}
		if now.Sub(f.finished) > s.retain || (!f.delivered.IsZero() && now.Sub(f.delivered) > min(s.retain, deliveredRetain)) {
			delete(s.futures, id)
			s.expired[id] = now
		}
	}
	for id, t := range s.expired {
		if now.Sub(t) > 4*s.retain {
			delete(s.expired, id)
		}
	}
}

// deliveredRetain is how long a result stays retrievable after it was
// sent in full (in case the answer was lost on the way and the client asks
// again).
const deliveredRetain = 2 * time.Minute

// markDelivered records that f's full result was sent.
func (s *futureStore) markDelivered(f *future) {
	s.mu.Lock()
	f.delivered = s.nowFunc()
	s.mu.Unlock()
}

// pending reports how many futures are not yet complete.
func (s *futureStore) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}
