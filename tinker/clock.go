package tinker

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Clock abstracts time for retry back-off so tests can run without real
// sleeps and assert the delays.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Backoff computes capped exponential delays with jitter:
// min(Base·2^attempt, Max) · (1 − Jitter·r), r uniform in [0,1).
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64
	Rand   func() float64 // nil = math/rand/v2
}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return time.Duration(float64(d) * (1 - b.Jitter*r()))
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or an HTTP
// date); values outside (0, 60 s] are ignored, as in the SDK.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			d := time.Duration(ms * float64(time.Millisecond))
			if d > 0 && d <= 60*time.Second {
				return d, true
			}
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		d = time.Duration(s * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	if d > 0 && d <= 60*time.Second {
		return d, true
	}
	return 0, false
}
