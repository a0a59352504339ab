package tinker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// QueueState is what a try_again answer said about the request's queue.
type QueueState struct {
	State  string // "active", "paused_rate_limit", "paused_capacity", or "" before any answer
	Reason string
}

// String renders e.g. "paused: rate limit (concurrent training clients rate limit hit)".
func (q QueueState) String() string {
	var s string
	switch q.State {
	case "", protocol.QueueStateActive:
		s = "active"
	case protocol.QueueStatePausedRateLimit:
		s = "paused: rate limit"
	case protocol.QueueStatePausedCapacity:
		s = "paused: capacity"
	default:
		s = q.State
	}
	if q.Reason != "" {
		s += " (" + q.Reason + ")"
	}
	return s
}

// Future is the pending result of an asynchronous call. Its result is
// computed in the background (polling retrieve_future) as soon as the
// request is on the wire.
type Future[T any] struct {
	done chan struct{}
	val  T
	err  error

	mu        sync.Mutex
	requestID string
	queue     QueueState
}

func newFuture[T any]() *Future[T] { return &Future[T]{done: make(chan struct{})} }

func (f *Future[T]) resolve(v T, err error) {
	f.val, f.err = v, err
	close(f.done)
}

// Result waits for the result or for ctx to end.
func (f *Future[T]) Result(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

// ResultTimeout waits at most d (d ≤ 0: no limit) and returns a
// *TimeoutError when the result is not there by then.
func (f *Future[T]) ResultTimeout(ctx context.Context, d time.Duration) (T, error) {
	if d <= 0 {
		return f.Result(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	case <-t.C:
		var zero T
		return zero, &TimeoutError{RequestID: f.RequestID(), After: d}
	}
}

// Done reports whether the result is available.
func (f *Future[T]) Done() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Wait returns a channel closed when the result is available.
func (f *Future[T]) Wait() <-chan struct{} { return f.done }

// RequestID is the server's request id once submitted ("" before; chunked
// calls report the first chunk's id).
func (f *Future[T]) RequestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requestID
}

// QueueState is the latest queue state the server reported.
func (f *Future[T]) QueueState() QueueState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queue
}

func (f *Future[T]) setRequestID(id string) {
	f.mu.Lock()
	if f.requestID == "" {
		f.requestID = id
	}
	f.mu.Unlock()
}

func (f *Future[T]) setQueue(q QueueState) {
	f.mu.Lock()
	f.queue = q
	f.mu.Unlock()
}

// pollSpec describes how to poll one request id.
type pollSpec struct {
	requestID   string
	requestType string        // X-Tinker-Request-Type
	roundtrip   time.Duration // submit round trip, reported on iteration 0
	proto       bool          // the result is protobuf (Accept: application/x-protobuf)
	sampler     bool          // queue-state default reasons for samplers
	onQueue     func(QueueState)
}

// pollResult is the final answer of retrieve_future.
type pollResult struct {
	contentType string
	body        []byte
}

// pollState names the states of the retrieve_future state machine.
type pollState int

const (
	statePoll        pollState = iota // send a retrieve_future
	stateBackoff                      // 429 / connection error: capped exponential back-off
	stateBillingWait                  // 402: sleep 5 s, up to the billing budget
	stateDone                         // result in hand
	stateFailed                       // terminal error
)

// poll runs the retrieve_future state machine until the result arrives, the
// future fails, or ctx ends.
//
//	try_again (200 or 408)      → record queue_state, re-poll at once
//	complete_metadata           → re-poll with allow_metadata_only=false
//	{error, category}           → *RequestFailedError
//	5xx                         → re-poll at once (back-off after 3 in a row;
//	                              fail after MaxServerErrorPolls in a row)
//	429, connection error       → sleep min(2^k, 30 s)·(1−0.25·r), or Retry-After;
//	                              k grows while they repeat, resets on any other answer
//	402                         → sleep 5 s, for up to billing_exception_max_pause_duration_sec
//	400                         → retried 3 times, then fatal
//	410                         → *FutureExpiredError
//	other 4xx                   → *APIError
func (c *core) poll(ctx context.Context, spec pollSpec) (pollResult, error) {
	bo := Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: 0.25, Rand: c.rand}
	allowMeta := true
	iteration := 0
	backoffK := 0
	badRequests := 0
	serverErrors := 0
	var billingStart time.Time
	var lastQueueLog time.Time
	var lastQueue string
	var wait time.Duration
	var result pollResult
	var failure error
	state := statePoll
	accept := protocol.ContentTypeJSON
	if spec.proto {
		accept = protocol.ContentTypeProtobuf + ", " + protocol.ContentTypeJSON
	}
	for {
		switch state {
		case stateDone:
			return result, nil
		case stateFailed:
			return pollResult{}, failure
		case stateBackoff, stateBillingWait:
			if err := c.clock.Sleep(ctx, wait); err != nil {
				return pollResult{}, err
			}
			state = statePoll
			continue
		}
		if err := ctx.Err(); err != nil {
			return pollResult{}, context.Cause(ctx)
		}
		if err := c.maybeRefreshJWT(ctx); err != nil {
			return pollResult{}, err
		}
		body, _ := json.Marshal(protocol.RetrieveFutureRequest{RequestID: spec.requestID, AllowMetadataOnly: allowMeta})
		h := http.Header{}
		h.Set(protocol.HeaderRequestIteration, strconv.Itoa(iteration))
		if spec.requestType != "" {
			h.Set(protocol.HeaderRequestType, spec.requestType)
		}
		if iteration == 0 {
			h.Set(protocol.HeaderPromiseRoundtripTime, strconv.FormatFloat(spec.roundtrip.Seconds(), 'f', 6, 64))
		}
		r := &request{method: http.MethodPost, path: protocol.PathRetrieveFuture, body: body, accept: accept, header: h, timeout: c.opts.PollTimeout}
		iteration++
		resp, err := c.once(ctx, r, "")
		if err != nil {
			var ce *ConnectionError
			if !errors.As(err, &ce) {
				return pollResult{}, err // ctx ended
			}
			wait = bo.Delay(backoffK)
			backoffK++
			c.logf(slog.LevelDebug, "tinker: retrieve_future %s: %v; retrying in %s", spec.requestID, err, wait)
			state = stateBackoff
			continue
		}
		if resp.status != http.StatusTooManyRequests {
			backoffK = 0
		}
		if resp.status < 500 {
			serverErrors = 0
		}
		switch {
		case resp.status == http.StatusOK || resp.status == http.StatusAccepted:
			ct := resp.header.Get("Content-Type")
			if protocol.IsProtobufContentType(ct) {
				result, state = pollResult{contentType: ct, body: resp.body}, stateDone
				continue
			}
			fb, err := protocol.ClassifyFutureBody(resp.body)
			if err != nil {
				failure, state = &MalformedResponseError{Method: r.method, Path: r.path, Err: fmt.Errorf("request %s: %v", spec.requestID, err)}, stateFailed
				continue
			}
			switch fb.Kind {
			case protocol.FutureTryAgain:
				q := QueueState{State: fb.TryAgain.QueueState, Reason: fb.TryAgain.QueueStateReason}
				if q.Reason == "" {
					q.Reason = protocol.QueueStateReasonDefault(q.State, spec.sampler)
				}
				if spec.onQueue != nil {
					spec.onQueue(q)
				}
				if q.State != "" && q.State != protocol.QueueStateActive {
					now := c.clock.Now()
					if q.State != lastQueue || now.Sub(lastQueueLog) >= time.Minute {
						c.logf(slog.LevelWarn, "tinker: request %s %s", spec.requestID, q)
						lastQueueLog, lastQueue = now, q.State
					}
					if c.opts.OnQueueState != nil {
						c.opts.OnQueueState(spec.requestID, q)
					}
				}
			case protocol.FutureCompleteMetadata:
				allowMeta = false
			case protocol.FutureFailed:
				failure, state = &RequestFailedError{RequestID: spec.requestID, Message: c.redact(fb.Failed.Error), Category: fb.Failed.Category}, stateFailed
			default:
				result, state = pollResult{contentType: ct, body: resp.body}, stateDone
			}
		case resp.status == http.StatusRequestTimeout:
			if fb, err := protocol.ClassifyFutureBody(resp.body); err == nil && fb.Kind == protocol.FutureTryAgain {
				q := QueueState{State: fb.TryAgain.QueueState, Reason: fb.TryAgain.QueueStateReason}
				if spec.onQueue != nil {
					spec.onQueue(q)
				}
			}
		case resp.status >= 500:
			serverErrors++
			if serverErrors >= c.opts.MaxServerErrorPolls {
				failure, state = c.apiError(r, resp), stateFailed
			} else if serverErrors > 3 {
				wait, state = bo.Delay(serverErrors-4), stateBackoff
			}
		case resp.status == http.StatusTooManyRequests:
			wait = bo.Delay(backoffK)
			if ra, ok := retryAfter(resp.header, c.clock.Now()); ok {
				wait = ra
			}
			backoffK++
			state = stateBackoff
		case resp.status == http.StatusGone:
			failure, state = &FutureExpiredError{RequestID: spec.requestID, Body: c.redact(string(resp.body))}, stateFailed
		case resp.status == http.StatusPaymentRequired:
			now := c.clock.Now()
			if billingStart.IsZero() {
				billingStart = now
			}
			if now.Sub(billingStart) >= time.Duration(c.config().BillingExceptionMaxPauseDurationSec)*time.Second {
				failure, state = c.apiError(r, resp), stateFailed
				continue
			}
			c.logf(slog.LevelWarn, "tinker: request %s: billing pause (402): %s", spec.requestID, resp.body)
			wait, state = 5*time.Second, stateBillingWait
		case resp.status == http.StatusBadRequest:
			badRequests++
			if badRequests > 3 {
				failure, state = c.apiError(r, resp), stateFailed
			}
		default:
			failure, state = c.apiError(r, resp), stateFailed
		}
	}
}
