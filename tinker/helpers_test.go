package tinker

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker/tinkertest"
)

const testKey = "tml-SECRET-test-key-0123456789"

type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	f.mu.Unlock()
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	srv   *tinkertest.Server
	sc    *ServiceClient
	clock *fakeClock
	logs  *syncBuf
	ctx   context.Context
}

func newEnv(t *testing.T, mod ...func(*Options)) *env {
	t.Helper()
	srv := tinkertest.New()
	srv.APIKey = testKey
	t.Cleanup(srv.Close)
	e := &env{srv: srv, clock: newFakeClock(), logs: &syncBuf{}}
	opts := Options{
		BaseURL:           srv.URL,
		APIKey:            testKey,
		Clock:             e.clock,
		Logger:            slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HeartbeatInterval: -1,
		Rand:              func() float64 { return 0.5 },
	}
	for _, m := range mod {
		m(&opts)
	}
	sc, err := NewServiceClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.sc = sc
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	t.Cleanup(func() {
		sc.Close()
		// The key must never reach a log line.
		if strings.Contains(e.logs.String(), testKey) {
			t.Errorf("API key leaked into logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) training(t *testing.T) *TrainingClient {
	t.Helper()
	tc, err := e.sc.CreateLoraTrainingClient(e.ctx, "tkx/local-tiny", LoraOptions{Rank: 4})
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func datum(n int) Datum {
	toks := make([]int32, n)
	tt := make([]int64, n)
	w := make([]float32, n)
	for i := range toks {
		toks[i] = int32(i % 250)
		tt[i] = int64((i + 1) % 250)
		w[i] = 1
	}
	return Datum{ModelInput: protocol.FromTokens(toks), LossFnInputs: map[string]TensorData{
		protocol.InputTargetTokens: protocol.Int64Tensor(tt), protocol.InputWeights: protocol.Float32Tensor(w)}}
}

func noKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Fatalf("API key leaked into error: %v", err)
	}
}

func requestIDOf(t *testing.T, r tinkertest.Request) string {
	var v struct {
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.RequestID
}
