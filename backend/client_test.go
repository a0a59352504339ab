package backend_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/backend"
	"github.com/tkx-dev/tkx/hfhub"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker"
	"github.com/tkx-dev/tkx/tokenizer"
)

// offline resolves real model names from the Hugging Face cache only.
func offline() *backend.LocalProvider {
	p := backend.NewLocalProvider()
	p.TokenizerFor = func(name string) (tokenizer.Tokenizer, error) {
		c := hfhub.NewClient()
		c.Offline = true
		return tokenizer.ForModelWith(context.Background(), c, name)
	}
	return p
}

func tokens(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

func ceDatum(seq []int32) tinker.Datum {
	tg := make([]int64, len(seq)-1)
	w := make([]float32, len(seq)-1)
	for i := range tg {
		tg[i], w[i] = int64(seq[i+1]), 1
	}
	return tinker.Datum{ModelInput: protocol.FromTokens(seq[:len(seq)-1]), LossFnInputs: map[string]protocol.TensorData{
		"target_tokens": protocol.Int64Tensor(tg), "weights": protocol.Float32Tensor(w)}}
}

// runClientFlow drives the Go tinker client through training, checkpoints,
// sampling and REST calls against a backend.
func runClientFlow(t *testing.T, opts tinker.Options) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts.HeartbeatInterval = -1
	sc, err := tinker.NewServiceClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	caps, err := sc.GetServerCapabilities(ctx)
	if err != nil || len(caps.SupportedModels) == 0 {
		t.Fatalf("capabilities: %v %+v", err, caps)
	}
	tc, err := sc.CreateLoraTrainingClient(ctx, "tkx/local-tiny", tinker.LoraOptions{Rank: 4})
	if err != nil {
		t.Fatal(err)
	}
	data := []tinker.Datum{ceDatum(tokens("User: hi\nAssistant: hello there")), ceDatum(tokens("User: 2+2?\nAssistant: 4"))}
	adam := protocol.AdamParams{LearningRate: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}
	var first, last float64
	for step := 0; step < 5; step++ {
		fb, err := tc.ForwardBackward(ctx, data, "cross_entropy", nil)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := tc.OptimStep(ctx, adam) // pipelined: submitted before fb is awaited
		if err != nil {
			t.Fatal(err)
		}
		out, err := fb.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Result(ctx); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = out.Metrics["loss:sum"]
		}
		last = out.Metrics["loss:sum"]
	}
	if !(last < first) {
		t.Fatalf("loss %v -> %v", first, last)
	}
	sf, err := tc.SaveState(ctx, "c1", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := sf.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samp, err := tc.SaveWeightsAndGetSamplingClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lpf, err := samp.ComputeLogprobs(ctx, protocol.FromTokens(tokens("User: hi")))
	if err != nil {
		t.Fatal(err)
	}
	lps, err := lpf.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lps) != 8 || !math.IsNaN(lps[0]) || math.IsNaN(lps[1]) {
		t.Fatalf("compute_logprobs %v", lps)
	}
	seed := int64(3)
	mt := 10
	sp := protocol.DefaultSamplingParams()
	sp.Seed, sp.MaxTokens = &seed, &mt
	r1f, _ := samp.Sample(ctx, protocol.FromTokens(tokens("User: hi\nAssistant:")), 2, sp, tinker.SampleOptions{})
	r2f, _ := samp.Sample(ctx, protocol.FromTokens(tokens("User: hi\nAssistant:")), 2, sp, tinker.SampleOptions{})
	r1, err1 := r1f.Result(ctx)
	r2, err2 := r2f.Result(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range r1.Sequences {
		if len(r1.Sequences[i].Tokens) == 0 || !equal(r1.Sequences[i].Tokens, r2.Sequences[i].Tokens) {
			t.Fatalf("sampling not deterministic: %v vs %v", r1.Sequences[i].Tokens, r2.Sequences[i].Tokens)
		}
	}
	// Resume from the checkpoint in a new training client.
	tc2, err := sc.CreateTrainingClientFromState(ctx, saved.Path, true, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := tc.Forward(ctx, data, "cross_entropy", nil)
	f2, _ := tc2.Forward(ctx, data, "cross_entropy", nil)
	o1, err1 := f1.Result(ctx)
	o2, err2 := f2.Result(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if o1.Metrics["loss:sum"] != o2.Metrics["loss:sum"] {
		t.Fatalf("loaded model differs: %v vs %v", o1.Metrics["loss:sum"], o2.Metrics["loss:sum"])
	}
	// Bad input comes back as an error naming the problem.
	bad := ceDatum(tokens("abc"))
	bad.ModelInput.Chunks[0].Tokens[0] = 5000
	if fb, err := tc.ForwardBackward(ctx, []tinker.Datum{bad}, "cross_entropy", nil); err == nil {
		_, err = fb.Result(ctx)
		if err == nil || !strings.Contains(err.Error(), "out of vocabulary") {
			t.Fatalf("OOV through the client: %v", err)
		}
	} else if !strings.Contains(err.Error(), "out of vocabulary") {
		t.Fatalf("OOV through the client: %v", err)
	}
	// ...and the model still trains afterwards (the rejected seq_id does not
	// stall the queue).
	fb, err := tc.ForwardBackward(ctx, data, "cross_entropy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Result(ctx); err != nil {
		t.Fatal(err)
	}
	rc := sc.CreateRestClient()
	cks, err := rc.ListCheckpoints(ctx, tc.ModelID())
	if err != nil || len(cks.Checkpoints) != 1 || cks.Checkpoints[0].TinkerPath != saved.Path {
		t.Fatalf("list checkpoints: %v %+v", err, cks)
	}
	au, err := rc.GetCheckpointArchiveURLFromTinkerPath(ctx, saved.Path)
	if err != nil || au.URL == "" {
		t.Fatalf("archive url: %v %+v", err, au)
	}
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClientInProcess(t *testing.T) {
	e, err := backend.NewEngine(backend.Options{DataDir: t.TempDir(), Logf: t.Logf, Provider: offline()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	runClientFlow(t, tinker.Options{BaseURL: backend.InProcessBaseURL, HTTPClient: backend.NewInProcessClient(e.Handler())})
}

// The client completes the same flow against `tkx serve` on a socket with
// 10% injected faults of every kind.
func TestClientOverHTTPWithFaults(t *testing.T) {
	fc, err := backend.ParseFaults("rate=0.1,kinds=5xx+429+408+drop+slow,seed=1,slow=50ms")
	if err != nil {
		t.Fatal(err)
	}
	e, err := backend.NewEngine(backend.Options{DataDir: t.TempDir(), Faults: fc, APIKey: "tml-test", Logf: t.Logf, LongPoll: time.Second, Provider: offline()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	runClientFlow(t, tinker.Options{BaseURL: "http://" + ln.Addr().String(), APIKey: "tml-test"})
	t.Logf("injected faults: %v", e.FaultCounts())
}
