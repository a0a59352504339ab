package tinker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker/tinkertest"
)

func TestHappyPathAndHeaders(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	if tc.ModelID() != "sess-1:train:0" {
		t.Fatalf("model id %q", tc.ModelID())
	}
	fb, err := tc.ForwardBackward(e.ctx, []Datum{datum(5), datum(3)}, protocol.LossCrossEntropy, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fb.Result(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LossFnOutputs) != 2 || out.LossFnOutputs[0]["logprobs"].Len() != 5 || out.Metrics["loss:sum"] != 4 {
		t.Fatalf("output %+v", out)
	}
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	if r, err := op.Result(e.ctx); err != nil || r.Metrics["learning_rate:mean"] != 1e-4 {
		t.Fatalf("%+v %v", r, err)
	}
	sv, _ := tc.SaveState(e.ctx, "step1", nil, false)
	if r, err := sv.Result(e.ctx); err != nil || r.Path != "tinker://sess-1:train:0/weights/step1" {
		t.Fatalf("%+v %v", r, err)
	}
	ss, _ := tc.SaveWeightsForSampler(e.ctx, "s1", nil)
	sr, err := ss.Result(e.ctx)
	if err != nil || sr.Path != "tinker://sess-1:train:0/sampler_weights/s1" {
		t.Fatalf("%+v %v", sr, err)
	}
	lf, _ := tc.LoadState(e.ctx, "tinker://sess-1:train:0/weights/step1", true)
	if _, err := lf.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	info, err := tc.GetInfo(e.ctx)
	if err != nil || info.ModelData.TokenizerID != "tkx/local-tiny" || *info.LoraRank != 32 {
		t.Fatalf("%+v %v", info, err)
	}
	samp, err := tc.CreateSamplingClient(e.ctx, sr.Path)
	if err != nil {
		t.Fatal(err)
	}
	max := 3
	p := protocol.DefaultSamplingParams()
	p.MaxTokens = &max
	sf, err := samp.Sample(e.ctx, protocol.FromTokens([]int32{1, 2}), 2, p, SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sf.Result(e.ctx)
	if err != nil || len(res.Sequences) != 2 || len(res.Sequences[0].Tokens) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	lp, _ := samp.ComputeLogprobs(e.ctx, protocol.FromTokens([]int32{1, 2, 3}))
	lps, err := lp.Result(e.ctx)
	if err != nil || len(lps) != 3 || !math.IsNaN(lps[0]) || lps[2] != -0.5 {
		t.Fatalf("%v %v", lps, err)
	}
	sc2, err := tc.SaveWeightsAndGetSamplingClient(e.ctx)
	if err != nil || sc2.ID() != "sess-1:sample:1" {
		t.Fatalf("%v %v", sc2, err)
	}
	un, _ := tc.Unload(e.ctx)
	if _, err := un.Result(e.ctx); err != nil {
		t.Fatal(err)
	}

	// Bootstrap: client/config with sdk_version, then create_session.
	all := e.srv.Requests("")
	if all[0].Path != protocol.PathClientConfig || !strings.Contains(string(all[0].Body), `"sdk_version":"0.25.0"`) {
		t.Fatalf("first request %s %s", all[0].Path, all[0].Body)
	}
	if len(e.srv.Requests(protocol.PathCreateSession)) != 1 {
		t.Fatal("create_session not sent exactly once")
	}
	for _, r := range all {
		if r.Header.Get("X-API-Key") != testKey {
			t.Errorf("%s: X-API-Key missing", r.Path)
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "tkx/") {
			t.Errorf("%s: User-Agent %q", r.Path, r.Header.Get("User-Agent"))
		}
		if r.Method != http.MethodGet && r.Path != protocol.PathRetrieveFuture && !strings.HasPrefix(r.Header.Get("X-Idempotency-Key"), "tkx-retry-") {
			t.Errorf("%s: idempotency key %q", r.Path, r.Header.Get("X-Idempotency-Key"))
		}
	}
	fbReq := e.srv.Requests(protocol.PathForwardBackward)[0]
	if fbReq.Header.Get("Content-Type") != protocol.ContentTypeProtobuf || fbReq.SeqID != 1 {
		t.Fatalf("fwd/bwd content type %q seq %d", fbReq.Header.Get("Content-Type"), fbReq.SeqID)
	}
	polls := e.srv.Requests(protocol.PathRetrieveFuture)
	var sawFB bool
	for _, r := range polls {
		if r.Header.Get("X-Tinker-Request-Type") == "ForwardBackward" {
			sawFB = true
			if !strings.Contains(r.Header.Get("Accept"), protocol.ContentTypeProtobuf) {
				t.Errorf("fwd/bwd poll Accept %q", r.Header.Get("Accept"))
			}
			if r.Header.Get("X-Tinker-Request-Iteration") != "0" || r.Header.Get("X-Tinker-Create-Promise-Roundtrip-Time") == "" {
				t.Errorf("first poll headers %v", r.Header)
			}
			if !strings.Contains(string(r.Body), `"allow_metadata_only":true`) {
				t.Errorf("first poll body %s", r.Body)
			}
		}
	}
	if !sawFB {
		t.Fatal("no ForwardBackward poll")
	}
	// Training seq_ids: fb 1, optim 2, save 3, save_for_sampler 4, load 5, unnamed save 6.
	var seqs []int
	for _, r := range all {
		switch r.Path {
		case protocol.PathForwardBackward, protocol.PathOptimStep, protocol.PathSaveWeights, protocol.PathSaveWeightsForSampler, protocol.PathLoadWeights:
			seqs = append(seqs, r.SeqID)
		}
	}
	if want := []int{1, 2, 3, 4, 5, 6}; !slices.Equal(seqs, want) {
		t.Fatalf("seq ids %v want %v", seqs, want)
	}
	// Sampling seq ids start at 0 per sampling client.
	as := e.srv.Requests(protocol.PathASample)
	if as[0].SeqID != 0 || as[1].SeqID != 1 || as[0].Header.Get("X-Tinker-Sampling-Backpressure") != "1" {
		t.Fatalf("asample seq %d %d", as[0].SeqID, as[1].SeqID)
	}
}

func TestPipeliningBackToBack(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	// The fwd/bwd result is held back until optim_step's POST has arrived:
	// a client that waited for the result before sending optim_step would
	// hang here and fail on the context deadline.
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	e.ctx = ctx
	e.srv.Script(protocol.PathRetrieveFuture, tinkertest.Step{Until: e.srv.Arrived(protocol.PathOptimStep), JSON: protocol.TryAgainResponse{QueueState: "active"}})
	fb, _ := tc.ForwardBackward(e.ctx, []Datum{datum(4)}, protocol.LossCrossEntropy, nil)
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	if _, err := op.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	all := e.srv.Requests("")
	fbAt, optAt, lastFBPoll := -1, -1, -1
	var fbID string
	for i, r := range all {
		switch r.Path {
		case protocol.PathForwardBackward:
			fbAt = i
		case protocol.PathOptimStep:
			optAt = i
		}
	}
	fbID = "req-2" // create_model is req-1
	for i, r := range all {
		if r.Path == protocol.PathRetrieveFuture && requestIDOf(t, r) == fbID {
			lastFBPoll = i
		}
	}
	if !(fbAt < optAt && optAt < lastFBPoll) {
		t.Fatalf("optim_step not pipelined: fb at %d, optim at %d, last fb poll at %d", fbAt, optAt, lastFBPoll)
	}
	// Nothing else of this model went on the wire between the two.
	for _, r := range all[fbAt+1 : optAt] {
		if r.Path != protocol.PathRetrieveFuture {
			t.Fatalf("unexpected %s between fwd/bwd and optim_step", r.Path)
		}
	}
}

func TestChunkingOrderAndMetricReduction(t *testing.T) {
	for _, parallel := range []bool{true, false} {
		e := newEnv(t)
		e.srv.ClientConfig = map[string]any{"fwdbwd_max_chunk_len": 2, "parallel_fwdbwd_chunks": parallel}
		tc := e.training(t)
		data := []Datum{datum(3), datum(3), datum(3), datum(3), datum(2)}
		fb, err := tc.ForwardBackward(e.ctx, data, protocol.LossCrossEntropy, nil)
		if err != nil {
			t.Fatal(err)
		}
		op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
		out, err := fb.Result(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := op.Result(e.ctx); err != nil {
			t.Fatal(err)
		}
		if len(out.LossFnOutputs) != 5 || out.LossFnOutputs[4]["logprobs"].Len() != 2 {
			t.Fatalf("outputs %d", len(out.LossFnOutputs))
		}
		// loss:sum adds up; datums:mean is the datum-weighted mean of 2,2,1.
		if out.Metrics["loss:sum"] != 0.5*14 || math.Abs(out.Metrics["datums:mean"]-1.8) > 1e-12 {
			t.Fatalf("metrics %v", out.Metrics)
		}
		var seqs []int
		for _, r := range e.srv.Requests("") {
			if r.Path == protocol.PathForwardBackward || r.Path == protocol.PathOptimStep {
				seqs = append(seqs, r.SeqID)
			}
		}
		if len(seqs) != 4 || seqs[3] != 4 {
			t.Fatalf("parallel=%v: seqs %v", parallel, seqs)
		}
		if parallel {
			if seqs[2] != 1 || !(seqs[0] == 2 && seqs[1] == 3 || seqs[0] == 3 && seqs[1] == 2) {
				t.Fatalf("first chunk not sent last: %v", seqs)
			}
		} else if !slices.Equal(seqs, []int{1, 2, 3, 4}) {
			t.Fatalf("sequential chunks out of order: %v", seqs)
		}
	}
}

func TestValidationBeforeSending(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	bad := datum(4)
	bad.LossFnInputs["weights"] = protocol.Float32Tensor([]float32{1, 1, 1})
	_, err := tc.ForwardBackward(e.ctx, []Datum{datum(4), bad}, protocol.LossCrossEntropy, nil)
	if err == nil || err.Error() != `tinker: forward_backward: datum 1: loss_fn_inputs["weights"]: has 3 elements, model_input has 4 tokens` {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.srv.Requests(protocol.PathForwardBackward)); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	// The failed call consumed no seq_id.
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	op.Result(e.ctx)
	if s := e.srv.Requests(protocol.PathOptimStep)[0].SeqID; s != 1 {
		t.Fatalf("seq %d", s)
	}
	if _, err := tc.OptimStep(e.ctx, AdamParams{LearningRate: -1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}); err == nil {
		t.Fatal("negative lr accepted")
	}
}

func TestRetrieveFutureStateMachine(t *testing.T) {
	cases := []struct {
		name   string
		steps  []tinkertest.Step
		check  func(t *testing.T, e *env, err error)
		opts   func(*Options)
		config map[string]any
	}{
		{name: "try_again then result", steps: []tinkertest.Step{tinkertest.TryAgain("paused_rate_limit", ""), tinkertest.TryAgain("paused_capacity", "busy"), tinkertest.TryAgain("active", "")},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(e.clock.Sleeps()) != 0 {
					t.Fatalf("try_again slept: %v", e.clock.Sleeps())
				}
				logs := e.logs.String()
				if !strings.Contains(logs, "paused: rate limit (concurrent training clients rate limit hit)") || !strings.Contains(logs, "paused: capacity (busy)") {
					t.Fatalf("queue state not surfaced:\n%s", logs)
				}
			}},
		{name: "complete_metadata", steps: []tinkertest.Step{{JSON: map[string]any{"status": "complete_metadata", "response_payload_size": 10}}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
				polls := e.srv.Requests(protocol.PathRetrieveFuture)
				last := polls[len(polls)-1]
				if !strings.Contains(string(last.Body), `"allow_metadata_only":false`) || last.Header.Get("X-Tinker-Request-Iteration") != "1" {
					t.Fatalf("re-poll %s %v", last.Body, last.Header)
				}
			}},
		{name: "5xx and 408 re-poll at once", steps: []tinkertest.Step{{Status: 500, Body: "oops"}, {Status: 503}, {Status: 408, JSON: map[string]string{"queue_state": "active"}}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil || len(e.clock.Sleeps()) != 0 {
					t.Fatalf("%v sleeps %v", err, e.clock.Sleeps())
				}
			}},
		{name: "persistent 5xx fails", opts: func(o *Options) { o.MaxServerErrorPolls = 6 },
			steps: []tinkertest.Step{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}, {Status: 502, Body: "bad gateway"}},
			check: func(t *testing.T, e *env, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 502 {
					t.Fatalf("err = %v", err)
				}
				if s := e.clock.Sleeps(); len(s) != 2 {
					t.Fatalf("expected back-off after 3 consecutive 5xx, sleeps %v", s)
				}
			}},
		{name: "429 honours Retry-After then backs off", steps: []tinkertest.Step{{Status: 429, Header: map[string]string{"Retry-After": "7"}}, {Status: 429}, {Status: 429}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
				s := e.clock.Sleeps()
				// Retry-After 7s; then k=1: 2s·(1−0.25·0.5)=1.75s; k=2: 4s·0.875=3.5s.
				want := []time.Duration{7 * time.Second, 1750 * time.Millisecond, 3500 * time.Millisecond}
				if len(s) != 3 || s[0] != want[0] || s[1] != want[1] || s[2] != want[2] {
					t.Fatalf("sleeps %v want %v", s, want)
				}
			}},
		{name: "dropped connection backs off", steps: []tinkertest.Step{{Drop: true}, {Drop: true}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
				s := e.clock.Sleeps()
				if len(s) != 2 || s[0] != 875*time.Millisecond || s[1] != 1750*time.Millisecond {
					t.Fatalf("sleeps %v", s)
				}
			}},
		{name: "slow answer times out the attempt", opts: func(o *Options) { o.PollTimeout = 100 * time.Millisecond }, steps: []tinkertest.Step{{Delay: 5 * time.Second}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil || len(e.clock.Sleeps()) != 1 {
					t.Fatalf("%v %v", err, e.clock.Sleeps())
				}
			}},
		{name: "410 expired", steps: []tinkertest.Step{{Status: 410, Body: `{"detail":"gone"}`}},
			check: func(t *testing.T, e *env, err error) {
				var fe *FutureExpiredError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "no longer has it") {
					t.Fatalf("err = %v", err)
				}
			}},
		{name: "user error", steps: []tinkertest.Step{tinkertest.Failed("target token 999 out of range", "user")},
			check: func(t *testing.T, e *env, err error) {
				var rf *RequestFailedError
				if !errors.As(err, &rf) || rf.Category != "user" || !strings.Contains(err.Error(), "target token 999") {
					t.Fatalf("err = %v", err)
				}
			}},
		{name: "400 retried 3 times then ok", steps: []tinkertest.Step{{Status: 400}, {Status: 400}, {Status: 400}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
			}},
		{name: "400 fatal after 3 retries", steps: []tinkertest.Step{{Status: 400}, {Status: 400}, {Status: 400}, {Status: 400, Body: "bad"}},
			check: func(t *testing.T, e *env, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 400 {
					t.Fatalf("err = %v", err)
				}
			}},
		{name: "402 billing pause", steps: []tinkertest.Step{{Status: 402}, {Status: 402}},
			check: func(t *testing.T, e *env, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if s := e.clock.Sleeps(); len(s) != 2 || s[0] != 5*time.Second {
					t.Fatalf("sleeps %v", s)
				}
			}},
		{name: "402 beyond budget", config: map[string]any{"billing_exception_max_pause_duration_sec": 10},
			steps: []tinkertest.Step{{Status: 402}, {Status: 402}, {Status: 402}, {Status: 402, Body: "pay up"}},
			check: func(t *testing.T, e *env, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 402 || len(e.clock.Sleeps()) != 2 {
					t.Fatalf("err = %v sleeps %v", err, e.clock.Sleeps())
				}
			}},
		{name: "malformed result", steps: []tinkertest.Step{{Body: "{not json"}},
			check: func(t *testing.T, e *env, err error) {
				var me *MalformedResponseError
				if !errors.As(err, &me) {
					t.Fatalf("err = %v", err)
				}
			}},
		{name: "unknown request id 404", steps: []tinkertest.Step{{Status: 404, Body: `{"error":"unknown request"}`}},
			check: func(t *testing.T, e *env, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 404 {
					t.Fatalf("err = %v", err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) {
				if c.opts != nil {
					c.opts(o)
				}
			})
			if c.config != nil {
				e.srv.ClientConfig = c.config
			}
			tc := e.training(t)
			e.srv.Script(protocol.PathRetrieveFuture, c.steps...)
			op, err := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
			if err != nil {
				t.Fatal(err)
			}
			_, err = op.Result(e.ctx)
			noKey(t, err)
			c.check(t, e, err)
		})
	}
}

func TestQueueStateCallbackAndFutureState(t *testing.T) {
	var got []QueueState
	e := newEnv(t, func(o *Options) {
		o.OnQueueState = func(id string, q QueueState) { got = append(got, q) }
	})
	tc := e.training(t)
	e.srv.Script(protocol.PathRetrieveFuture, tinkertest.TryAgain("paused_rate_limit", "slow down"))
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	if _, err := op.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].String() != "paused: rate limit (slow down)" {
		t.Fatalf("%v", got)
	}
	if op.QueueState().State != "paused_rate_limit" {
		t.Fatalf("future queue state %+v", op.QueueState())
	}
}

func TestCancellationAndTimeout(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	steps := make([]tinkertest.Step, 1000)
	for i := range steps {
		steps[i] = tinkertest.Step{Delay: 20 * time.Millisecond, JSON: protocol.TryAgainResponse{QueueState: "active"}}
	}
	e.srv.Script(protocol.PathRetrieveFuture, steps...)
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	_, err := op.ResultTimeout(e.ctx, 50*time.Millisecond)
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// Cancelling the submit context stops the poll loop.
	ctx, cancel := context.WithCancel(e.ctx)
	op2, _ := tc.OptimStep(ctx, protocol.DefaultAdamParams())
	time.Sleep(30 * time.Millisecond)
	cancel()
	select {
	case <-op2.Wait():
	case <-time.After(5 * time.Second):
		t.Fatal("poll did not stop after cancel")
	}
	if _, err := op2.Result(e.ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	// Close cancels outstanding polls too.
	op3, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	e.sc.Close()
	select {
	case <-op3.Wait():
	case <-time.After(5 * time.Second):
		t.Fatal("poll did not stop after Close")
	}
	if _, err := e.sc.CreateLoraTrainingClient(e.ctx, "x", LoraOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestSubmitFaults(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		clock := newFakeClock()
		sc, _ := NewServiceClient(Options{BaseURL: "http://" + addr, APIKey: testKey, Clock: clock, HeartbeatInterval: -1, SubmitRetryBudget: 10 * time.Second})
		defer sc.Close()
		_, err := sc.CreateLoraTrainingClient(context.Background(), "b", LoraOptions{})
		var ce *ConnectionError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cannot reach http://"+addr) {
			t.Fatalf("err = %v", err)
		}
		noKey(t, err)
		if len(clock.Sleeps()) == 0 {
			t.Fatal("no retries")
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		e := newEnv(t)
		sc, _ := NewServiceClient(Options{BaseURL: e.srv.URL, APIKey: "tml-wrong-key", HeartbeatInterval: -1, Clock: e.clock})
		defer sc.Close()
		_, err := sc.CreateLoraTrainingClient(e.ctx, "b", LoraOptions{})
		var ae *APIError
		if !errors.As(err, &ae) || !ae.IsAuth() || !strings.Contains(err.Error(), "TINKER_API_KEY") || strings.Contains(err.Error(), "tml-wrong-key") {
			t.Fatalf("err = %v", err)
		}
		if len(e.clock.Sleeps()) != 0 {
			t.Fatal("401 was retried")
		}
	})
	t.Run("malformed submit answer", func(t *testing.T) {
		e := newEnv(t)
		e.srv.Script(protocol.PathCreateModel, tinkertest.Step{Status: 202, Body: "<html>"})
		_, err := e.sc.CreateLoraTrainingClient(e.ctx, "b", LoraOptions{})
		var me *MalformedResponseError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "/api/v1/create_model") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("429 and 5xx on submit are retried", func(t *testing.T) {
		e := newEnv(t)
		e.srv.Script(protocol.PathCreateModel, tinkertest.Step{Status: 429, Header: map[string]string{"Retry-After": "3"}}, tinkertest.Step{Status: 503}, tinkertest.Step{Drop: true})
		tc := e.training(t)
		if tc.ModelID() == "" {
			t.Fatal("no model")
		}
		// (Go's transport itself may retry the dropped POST once, as it
		// carries an idempotency key, so the drop may cost no back-off.)
		s := e.clock.Sleeps()
		if len(s) < 2 || s[0] != 3*time.Second || s[1] != 1750*time.Millisecond {
			t.Fatalf("sleeps %v", s)
		}
		reqs := e.srv.Requests(protocol.PathCreateModel)
		if len(reqs) != 4 {
			t.Fatalf("%d create_model requests", len(reqs))
		}
		for _, r := range reqs[1:] {
			if r.Header.Get("X-Idempotency-Key") != reqs[0].Header.Get("X-Idempotency-Key") {
				t.Fatal("idempotency key not reused across retries")
			}
		}
	})
	t.Run("seq_id out of range from server", func(t *testing.T) {
		e := newEnv(t)
		tc := e.training(t)
		e.srv.Script(protocol.PathForwardBackward, tinkertest.Step{Status: 400, JSON: protocol.RequestFailedResponse{Error: "seq_id 0 out of range", Category: "user"}})
		fb, _ := tc.ForwardBackward(e.ctx, []Datum{datum(2)}, protocol.LossCrossEntropy, nil)
		_, err := fb.Result(e.ctx)
		if err == nil || !strings.Contains(err.Error(), "seq_id 0 out of range") || !strings.Contains(err.Error(), "400") {
			t.Fatalf("err = %v", err)
		}
		// The next request still goes out (the turn was passed on).
		op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
		if _, err := op.Result(e.ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("seq_id overflow on the client", func(t *testing.T) {
		e := newEnv(t)
		tc := e.training(t)
		tc.nextSeq = math.MaxInt32
		if _, err := tc.ForwardBackward(e.ctx, []Datum{datum(2)}, protocol.LossCrossEntropy, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.OptimStep(e.ctx, protocol.DefaultAdamParams()); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestKeyRedactedEverywhere(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	// A server that echoes the key back in errors and queue reasons.
	e.srv.Script(protocol.PathRetrieveFuture,
		tinkertest.TryAgain("paused_rate_limit", "key "+testKey+" is rate limited"),
		tinkertest.Step{Status: 500, Body: "internal: " + testKey},
		tinkertest.Failed("bad key "+testKey, "user"))
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	_, err := op.Result(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v", err)
	}
	noKey(t, err)
	e.srv.Script(protocol.PathOptimStep, tinkertest.Step{Status: 403, Body: "forbidden for " + testKey})
	_, err = mustFuture(tc.OptimStep(e.ctx, protocol.DefaultAdamParams())).Result(e.ctx)
	noKey(t, err)
	if !strings.Contains(e.logs.String(), "[REDACTED]") {
		t.Fatalf("expected a redacted log line:\n%s", e.logs.String())
	}
	// (newEnv's cleanup asserts the key never reached the logs.)
}

func mustFuture[T any](f *Future[T], err error) *Future[T] {
	if err != nil {
		panic(err)
	}
	return f
}

func TestJWTAuth(t *testing.T) {
	e := newEnv(t)
	e.srv.ClientConfig = map[string]any{"pjwt_auth_enabled": true}
	e.srv.APIKey = "" // the fake accepts anything; check what is sent
	tc := e.training(t)
	_ = tc
	reqs := e.srv.Requests("")
	if reqs[1].Path != protocol.PathAuthToken || reqs[1].Header.Get("X-API-Key") != testKey {
		t.Fatalf("auth token exchange: %s", reqs[1].Path)
	}
	last := reqs[len(reqs)-1]
	if !strings.HasPrefix(last.Header.Get("X-API-Key"), "eyJ") {
		t.Fatalf("JWT not used: %q", last.Header.Get("X-API-Key"))
	}
}

func TestDynamicConfig404AndHeartbeat(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.HeartbeatInterval = 5 * time.Millisecond })
	if _, err := e.sc.SessionID(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Requests(protocol.PathClientDynamicConfig)); n != 1 {
		t.Fatalf("dynamic config requests %d", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.srv.Requests(protocol.PathSessionHeartbeat)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeats")
		}
		time.Sleep(5 * time.Millisecond)
	}
	hb := e.srv.Requests(protocol.PathSessionHeartbeat)[0]
	if string(hb.Body) != `{"session_id":"sess-1","type":"session_heartbeat"}` {
		t.Fatalf("heartbeat body %s", hb.Body)
	}
	e.sc.Close()
	n := len(e.srv.Requests(protocol.PathSessionHeartbeat))
	time.Sleep(30 * time.Millisecond)
	// (one request already on its way when Close ran may still land)
	if m := len(e.srv.Requests(protocol.PathSessionHeartbeat)); m > n+1 {
		t.Fatalf("heartbeats continued after Close: %d → %d", n, m)
	}
}

func TestForwardBackwardCustom(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	data := []Datum{datum(3), datum(2)}
	delete(data[1].LossFnInputs, "weights")
	var seen [][]float32
	fb, err := tc.ForwardBackwardCustom(e.ctx, data, func(d []Datum, lps [][]float32) (float64, map[string]float64, [][]float32, error) {
		seen = lps
		grads := make([][]float32, len(lps))
		loss := 0.0
		for i, lp := range lps {
			grads[i] = make([]float32, len(lp))
			for j, v := range lp {
				loss -= float64(v) * 2
				grads[i][j] = -2
			}
		}
		return loss, map[string]float64{"custom:mean": 7}, grads, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	out, err := fb.Result(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || len(seen[0]) != 3 || seen[0][0] != -0.5 {
		t.Fatalf("logprobs %v", seen)
	}
	if out.Metrics["custom:mean"] != 7 || out.Metrics["loss:sum"] != 5 {
		t.Fatalf("metrics %v", out.Metrics)
	}
	reqs := e.srv.Requests(protocol.PathForwardBackward)
	if len(reqs) != 2 {
		t.Fatalf("%d fwd/bwd requests", len(reqs))
	}
	fwd, _ := protocol.DecodeForwardBackwardRequest(reqs[0].Body)
	bwd, _ := protocol.DecodeForwardBackwardRequest(reqs[1].Body)
	if !fwd.ForwardOnly || bwd.ForwardOnly || fwd.SeqID != 1 || bwd.SeqID != 2 {
		t.Fatalf("fwd %v/%d bwd %v/%d", fwd.ForwardOnly, fwd.SeqID, bwd.ForwardOnly, bwd.SeqID)
	}
	if w := fwd.Data[1].LossFnInputs["weights"].Float32; len(w) != 2 || w[0] != 0 {
		t.Fatalf("forward weights %v", w)
	}
	if w := bwd.Data[0].LossFnInputs["weights"].Float32; w[0] != 2 {
		t.Fatalf("backward weights %v (want −grad = 2)", w)
	}
	// optim_step (seq 3) went out only after the backward pass.
	if s := e.srv.Requests(protocol.PathOptimStep)[0].SeqID; s != 3 {
		t.Fatalf("optim seq %d", s)
	}
	bad := []Datum{datum(2)}
	bad[0].LossFnInputs["advantages"] = protocol.Float32Tensor([]float32{1, 1})
	if _, err := tc.ForwardBackwardCustom(e.ctx, bad, nil); err == nil || !strings.Contains(err.Error(), `"advantages"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSampleResubmitsExpiredFuture(t *testing.T) {
	e := newEnv(t)
	sc, err := e.sc.CreateSamplingClient(e.ctx, SamplingOptions{BaseModel: "tkx/local-tiny"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Script(protocol.PathRetrieveFuture, tinkertest.Step{Status: 410})
	f, _ := sc.Sample(e.ctx, protocol.FromTokens([]int32{1}), 1, protocol.DefaultSamplingParams(), SampleOptions{})
	if _, err := f.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Requests(protocol.PathASample)); n != 2 {
		t.Fatalf("%d sample submissions", n)
	}
	if _, err := sc.Sample(e.ctx, protocol.FromTokens(nil), 1, protocol.DefaultSamplingParams(), SampleOptions{}); err == nil {
		t.Fatal("empty prompt accepted")
	}
	if _, err := e.sc.CreateSamplingClient(e.ctx, SamplingOptions{}); err == nil {
		t.Fatal("no model accepted")
	}
}

func TestRestClient(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	rc := e.sc.CreateRestClient()
	runs, err := rc.ListTrainingRuns(e.ctx, 0, 0, "", "")
	if err != nil || len(runs.TrainingRuns) != 1 || runs.TrainingRuns[0].TrainingRunID != tc.ModelID() {
		t.Fatalf("%+v %v", runs, err)
	}
	q := e.srv.Requests(protocol.PathTrainingRuns)[0].Query
	if q != "access_scope=owned&limit=20&offset=0" {
		t.Fatalf("query %q", q)
	}
	cks, err := rc.ListCheckpoints(e.ctx, tc.ModelID())
	if err != nil || cks.Checkpoints[0].Time.Year() != 2025 {
		t.Fatalf("%+v %v", cks, err)
	}
	path := "tinker://" + tc.ModelID() + "/weights/a"
	au, err := rc.GetCheckpointArchiveURLFromTinkerPath(e.ctx, path)
	if err != nil || !strings.HasSuffix(au.URL, "archive.tar") || au.Expires.Sub(e.clock.Now()) != 15*time.Minute {
		t.Fatalf("%+v %v", au, err)
	}
	e.srv.Script(protocol.CheckpointPath(tc.ModelID(), "weights/a")+"/archive",
		tinkertest.Step{Status: 503}, tinkertest.Step{JSON: map[string]string{"url": "https://x/y", "expires": "2026-01-01T00:30:00Z"}})
	au, err = rc.GetCheckpointArchiveURL(e.ctx, tc.ModelID(), "weights/a")
	if err != nil || au.URL != "https://x/y" || len(e.clock.Sleeps()) != 1 || e.clock.Sleeps()[0] != 30*time.Second {
		t.Fatalf("%+v %v %v", au, err, e.clock.Sleeps())
	}
	if err := rc.DeleteCheckpointFromTinkerPath(e.ctx, path); err != nil {
		t.Fatal(err)
	}
	if d := e.srv.Requests(""); d[len(d)-1].Method != http.MethodDelete || d[len(d)-1].Path != "/api/v1/training_runs/sess-1:train:0/checkpoints/weights/a" {
		t.Fatalf("delete %s %s", d[len(d)-1].Method, d[len(d)-1].Path)
	}
	ttl := int64(60)
	if err := rc.SetCheckpointTTLFromTinkerPath(e.ctx, path, &ttl); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if err := rc.SetCheckpointTTL(e.ctx, tc.ModelID(), "weights/a", &zero); err == nil {
		t.Fatal("ttl 0 accepted")
	}
	if err := rc.PublishCheckpointFromTinkerPath(e.ctx, path, true); err != nil {
		t.Fatal(err)
	}
	if err := rc.DeleteCheckpointFromTinkerPath(e.ctx, "weights/a"); err == nil {
		t.Fatal("bad path accepted")
	}
	if _, err := rc.ListSessions(e.ctx, 0, 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sc.GetServerCapabilities(e.ctx); err != nil {
		t.Fatal(err)
	}
	tc2, err := e.sc.CreateTrainingClientFromState(e.ctx, path, true, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	creates := e.srv.Requests(protocol.PathCreateModel)
	var cm protocol.CreateModelRequest
	json.Unmarshal(creates[len(creates)-1].Body, &cm)
	if cm.LoraConfig.Rank != 8 || cm.LoraConfig.TrainUnembed || cm.ModelSeqID != 1 {
		t.Fatalf("create from state: %+v", cm.LoraConfig)
	}
	loads := e.srv.Requests(protocol.PathLoadWeights)
	if !strings.Contains(string(loads[0].Body), `"optimizer":true`) || loads[0].SeqID != 1 || tc2.ModelID() != "sess-1:train:1" {
		t.Fatalf("load %s", loads[0].Body)
	}
}

func TestBaseURLAndEnv(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/":     "http://127.0.0.1:8080",
		"http://h:1/api/v1":          "http://h:1",
		"https://x/services/tinker/": "https://x/services/tinker",
		"":                           protocol.DefaultBaseURL,
	} {
		got, err := NormalizeBaseURL(in)
		if err != nil || got != want {
			t.Errorf("%q → %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"local", "ftp://x", "nohost", "http://user:pw@h/"} {
		if _, err := NormalizeBaseURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if !WantsLocal("", "") || !WantsLocal("local", "k") || WantsLocal("", "k") || WantsLocal("http://x", "") {
		t.Fatal("WantsLocal")
	}
	t.Setenv("TINKER_API_KEY", "k1")
	t.Setenv("TINKER_TAGS", "a, b,,c")
	o := OptionsFromEnv()
	if o.APIKey != "k1" || len(o.Tags) != 3 {
		t.Fatalf("%+v", o)
	}
}

func TestBackoffBounds(t *testing.T) {
	for _, r := range []float64{0, 0.999} {
		b := Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: 0.25, Rand: func() float64 { return r }}
		for k := 0; k < 10; k++ {
			d := b.Delay(k)
			hi := time.Duration(math.Min(math.Pow(2, float64(k)), 30) * float64(time.Second))
			if d > hi || d < hi*3/4 {
				t.Fatalf("k=%d r=%v: %s not in [%s, %s]", k, r, d, hi*3/4, hi)
			}
		}
	}
	now := time.Now()
	h := http.Header{}
	h.Set("Retry-After", "120")
	if _, ok := retryAfter(h, now); ok {
		t.Fatal("Retry-After > 60 s honoured")
	}
	h.Set("Retry-After-Ms", "250")
	if d, ok := retryAfter(h, now); !ok || d != 250*time.Millisecond {
		t.Fatal(d)
	}
}

func TestZstdCompressedForwardBackward(t *testing.T) {
	e := newEnv(t)
	e.srv.ClientConfig = map[string]any{"proto_compress_fwdbwd": true}
	tc := e.training(t)
	// The fake cannot read zstd: answer the submit by hand and check the body.
	e.srv.Script(protocol.PathForwardBackward, tinkertest.Step{Status: 400, Body: `{"error":"stop"}`})
	fb, _ := tc.ForwardBackward(e.ctx, []Datum{datum(64)}, protocol.LossCrossEntropy, nil)
	fb.Result(e.ctx)
	r := e.srv.Requests(protocol.PathForwardBackward)[0]
	if r.Header.Get("Content-Encoding") != "zstd" {
		t.Fatalf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	dec, _ := zstd.NewReader(nil)
	raw, err := dec.DecodeAll(r.Body, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.DecodeForwardBackwardRequest(raw)
	if err != nil || req.SeqID != 1 || len(req.Data) != 1 {
		t.Fatalf("%+v %v", req, err)
	}
}

func TestTelemetryOnlyWhenAsked(t *testing.T) {
	e := newEnv(t)
	e.sc.SessionID(e.ctx)
	if n := len(e.srv.Requests(protocol.PathTelemetry)); n != 0 {
		t.Fatalf("telemetry sent without being asked: %d", n)
	}
	e2 := newEnv(t, func(o *Options) { o.Telemetry = true })
	e2.sc.SessionID(e2.ctx)
	e2.sc.Close()
	tel := e2.srv.Requests(protocol.PathTelemetry)
	if len(tel) != 2 || !strings.Contains(string(tel[0].Body), "SESSION_START") || !strings.Contains(string(tel[1].Body), "SESSION_END") {
		t.Fatalf("telemetry %d", len(tel))
	}
}

func TestDownloadArchiveSendsKeyOnlyToOwnOrigin(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	rc := e.sc.CreateRestClient()
	path := "tinker://" + tc.ModelID() + "/weights/a"
	archive := protocol.CheckpointPath(tc.ModelID(), "weights/a") + "/archive"
	e.srv.Script(archive, tinkertest.Step{JSON: map[string]string{"url": e.srv.URL + "/dl/a.tar", "expires": "2026-01-01T00:15:00Z"}})
	e.srv.Script("/dl/a.tar", tinkertest.Step{Body: "TARBYTES"})
	var buf strings.Builder
	n, err := rc.DownloadCheckpointArchive(e.ctx, path, &buf)
	if err != nil || n != 8 || buf.String() != "TARBYTES" {
		t.Fatalf("%d %q %v", n, buf.String(), err)
	}
	if got := e.srv.Requests("/dl/a.tar")[0].Header.Get("X-API-Key"); got != testKey {
		t.Fatal("own-origin download without the key")
	}
	other := tinkertest.New()
	defer other.Close()
	other.Script("/signed", tinkertest.Step{Body: "X"})
	e.srv.Script(archive, tinkertest.Step{Status: 302, Header: map[string]string{"Location": other.URL + "/signed"}})
	if _, err := rc.DownloadCheckpointArchive(e.ctx, path, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := other.Requests("/signed")[0].Header.Get("X-API-Key"); got != "" {
		t.Fatal("API key sent to a foreign host")
	}
}

func TestCreateFromStateViaLoadWeights(t *testing.T) {
	e := newEnv(t)
	e.srv.ClientConfig = map[string]any{"create_model_via_load_weights": true}
	tc, err := e.sc.CreateTrainingClientFromState(e.ctx, "tinker://run:train:0/weights/a", false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc.ModelID() != "sess-1:train:0" || len(e.srv.Requests(protocol.PathCreateModel)) != 0 {
		t.Fatalf("model %q", tc.ModelID())
	}
	var lw map[string]any
	json.Unmarshal(e.srv.Requests(protocol.PathLoadWeights)[0].Body, &lw)
	if lw["session_id"] != "sess-1" || lw["model_seq_id"] != 0.0 || lw["base_model"] != "tkx/local-tiny" || lw["model_id"] != nil {
		t.Fatalf("load body %v", lw)
	}
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	op.Result(e.ctx)
	if s := e.srv.Requests(protocol.PathOptimStep)[0].SeqID; s != 1 {
		t.Fatalf("first seq after create-via-load: %d", s)
	}
}

func TestForwardBackwardCustomFailureLeavesNoSeqGap(t *testing.T) {
	e := newEnv(t)
	tc := e.training(t)
	fb, err := tc.ForwardBackwardCustom(e.ctx, []Datum{datum(3)}, func([]Datum, [][]float32) (float64, map[string]float64, [][]float32, error) {
		return 0, nil, nil, errors.New("my loss exploded")
	})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := tc.OptimStep(e.ctx, protocol.DefaultAdamParams())
	if _, err := fb.Result(e.ctx); err == nil || !strings.Contains(err.Error(), "loss function: my loss exploded") {
		t.Fatalf("err = %v", err)
	}
	if _, err := op.Result(e.ctx); err != nil {
		t.Fatal(err)
	}
	reqs := e.srv.Requests(protocol.PathForwardBackward)
	if len(reqs) != 2 {
		t.Fatalf("%d fwd/bwd requests", len(reqs))
	}
	filler, _ := protocol.DecodeForwardBackwardRequest(reqs[1].Body)
	if filler.SeqID != 2 || filler.ForwardOnly || filler.Data[0].LossFnInputs["weights"].Float32[0] != 0 {
		t.Fatalf("filler %+v", filler)
	}
	if s := e.srv.Requests(protocol.PathOptimStep)[0].SeqID; s != 3 {
		t.Fatalf("optim seq %d", s)
	}
}
