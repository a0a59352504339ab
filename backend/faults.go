package backend

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultConfig makes the server misbehave on purpose, for resilience tests.
// Each request to /api/v1/ draws from a PRNG seeded with Seed (in arrival
// order, so a sequential client sees the same faults every run); with
// probability Rate it gets one of Kinds:
//
//	5xx   a 500 or 503 with a JSON error body
//	429   429 Too Many Requests with Retry-After: 1
//	408   408 Request Timeout
//	drop  the connection is closed without a response
//	slow  the request is delayed by SlowDelay, then served normally
//
// Faults strike before the request is processed, so a retry is always safe.
type FaultConfig struct {
	Rate      float64
	Kinds     []string
	Seed      uint64
	SlowDelay time.Duration
}

var faultKinds = []string{"5xx", "429", "408", "drop", "slow"}

// ParseFaults parses "rate=0.1,kinds=5xx+429+408+drop+slow,seed=1[,slow=2s]".
// An empty spec means no faults.
func ParseFaults(spec string) (*FaultConfig, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	fc := &FaultConfig{Kinds: faultKinds, SlowDelay: 1500 * time.Millisecond}
	rateSet := false
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("faults: %q is not key=value (want rate=0.1,kinds=5xx+429+408+drop+slow,seed=1)", part)
		}
		switch k {
		case "rate":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("faults: rate=%q must be a number in [0,1]", v)
			}
			fc.Rate = r
			rateSet = true
		case "kinds":
			fc.Kinds = nil
			for _, kind := range strings.Split(v, "+") {
				kind = strings.TrimSpace(kind)
				valid := false
				for _, known := range faultKinds {
					if kind == known {
						valid = true
					}
				}
				if !valid {
					return nil, fmt.Errorf("faults: unknown kind %q (known: %s)", kind, strings.Join(faultKinds, ", "))
				}
				fc.Kinds = append(fc.Kinds, kind)
			}
		case "seed":
			s, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("faults: seed=%q must be a non-negative integer", v)
			}
			fc.Seed = s
		case "slow":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("faults: slow=%q must be a duration like 2s", v)
			}
			fc.SlowDelay = d
		default:
			return nil, fmt.Errorf("faults: unknown key %q (known: rate, kinds, seed, slow)", k)
		}
	}
	if !rateSet {
		return nil, fmt.Errorf("faults: rate= is required")
	}
	return fc, nil
}

func (fc *FaultConfig) String() string {
	return fmt.Sprintf("rate=%g,kinds=%s,seed=%d,slow=%s", fc.Rate, strings.Join(fc.Kinds, "+"), fc.Seed, fc.SlowDelay)
}

// faultInjector decides, deterministically, which requests fail.
type faultInjector struct {
	cfg   FaultConfig
	mu    sync.Mutex
	rng   *rand.Rand
	count map[string]int
}

func newFaultInjector(cfg FaultConfig) *faultInjector {
	return &faultInjector{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x746b78)), count: map[string]int{}}
}

// draw returns the fault for the next request, or "".
func (fi *faultInjector) draw() string {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	u := fi.rng.Float64()
	pick := fi.rng.IntN(1 << 30)
	if u >= fi.cfg.Rate || len(fi.cfg.Kinds) == 0 {
		return ""
	}
	kind := fi.cfg.Kinds[pick%len(fi.cfg.Kinds)]
	if kind == "5xx" {
		if pick/len(fi.cfg.Kinds)%2 == 0 {
			kind = "500"
		} else {
			kind = "503"
		}
	}
	fi.count[kind]++
	return kind
}

// counts reports how many faults of each kind were injected.
func (fi *faultInjector) counts() map[string]int {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	out := map[string]int{}
	for k, v := range fi.count {
		out[k] = v
	}
	return out
}

// wrap returns a handler that injects faults before calling next.
func (fi *faultInjector) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") || r.URL.Path == "/api/v1/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		switch kind := fi.draw(); kind {
		case "":
		case "500", "503":
			code, _ := strconv.Atoi(kind)
			writeJSON(w, code, map[string]any{"error": "injected fault: " + kind, "category": "server"})
			return
		case "429":
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "injected fault: rate limited"})
			return
		case "408":
			writeJSON(w, http.StatusRequestTimeout, map[string]any{"error": "injected fault: request timeout"})
			return
		case "drop":
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			// No hijacking possible (HTTP/2): abort the handler, which
			// resets the stream.
			panic(http.ErrAbortHandler)
		case "slow":
			if !sleepCtx(r.Context(), fi.cfg.SlowDelay) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
