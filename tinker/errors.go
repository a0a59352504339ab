package tinker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrClosed is returned by calls on a closed ServiceClient.
var ErrClosed = errors.New("tinker: client closed")

// APIError is a non-2xx HTTP answer. Body is the (redacted, truncated)
// response body. Status 401 means the credential was rejected.
type APIError struct {
	Method string
	Path   string
	Status int
	Body   string
}

func (e *APIError) Error() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("tinker: %s %s: authentication failed (401): the server rejected the credential; check TINKER_API_KEY: %s", e.Method, e.Path, e.Body)
	case http.StatusPaymentRequired:
		return fmt.Sprintf("tinker: %s %s: billing (402): %s", e.Method, e.Path, e.Body)
	}
	return fmt.Sprintf("tinker: %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// IsAuth reports whether the error is a 401.
func (e *APIError) IsAuth() bool { return e.Status == http.StatusUnauthorized }

// ConnectionError means no HTTP answer came back (refused, reset, DNS,
// attempt timed out) after the retries the call allows.
type ConnectionError struct {
	Method  string
	Path    string
	BaseURL string
	Err     error
}

func (e *ConnectionError) Error() string {
	return fmt.Sprintf("tinker: cannot reach %s (%s %s): %v", e.BaseURL, e.Method, e.Path, e.Err)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// MalformedResponseError means the server answered 2xx with a body that
// does not parse as the expected type.
type MalformedResponseError struct {
	Method string
	Path   string
	Err    error
}

func (e *MalformedResponseError) Error() string {
	return fmt.Sprintf("tinker: malformed response to %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *MalformedResponseError) Unwrap() error { return e.Err }

// RequestFailedError is a future that completed with
// {"error","category"}. Category is "user", "server" or "unknown".
type RequestFailedError struct {
	RequestID string
	Message   string
	Category  string
}

func (e *RequestFailedError) Error() string {
	return fmt.Sprintf("tinker: request %s failed (%s error): %s", e.RequestID, e.Category, e.Message)
}

// FutureExpiredError is a 410 from retrieve_future: the server no longer
// holds the future's result (it expired or the server restarted).
type FutureExpiredError struct {
	RequestID string
	Body      string
}

func (e *FutureExpiredError) Error() string {
	return fmt.Sprintf("tinker: future %s expired: the server no longer has it (410 Gone); resubmit the request: %s", e.RequestID, e.Body)
}

// TimeoutError is Future.ResultTimeout giving up. It matches
// context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	RequestID string
	After     time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("tinker: request %s: no result after %s", e.RequestID, e.After)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }
