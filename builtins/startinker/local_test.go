package startinker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/backend"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker"
)

// TestClientAgainstLocalBackend runs the Go client end to end against the
// embedded engine through its in-process transport.
func TestClientAgainstLocalBackend(t *testing.T) {
	eng, err := backend.NewEngine(backend.Options{DataDir: t.TempDir(), Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sc, err := tinker.NewServiceClient(tinker.Options{BaseURL: backend.InProcessBaseURL, HTTPClient: backend.NewInProcessClient(eng.Handler()),
		HeartbeatInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tc, err := sc.CreateLoraTrainingClient(ctx, "tkx/local-tiny", tinker.LoraOptions{Rank: 4})
	if err != nil {
		t.Fatal(err)
	}
	text := []int32{72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100}
	d := protocol.Datum{ModelInput: protocol.FromTokens(text[:len(text)-1]), LossFnInputs: map[string]protocol.TensorData{
		"target_tokens": protocol.Int64Tensor(toInt64(text[1:])), "weights": protocol.Float32Tensor(ones(len(text) - 1))}}
	var losses []float64
	for step := 0; step < 3; step++ {
		fb, err := tc.ForwardBackward(ctx, []protocol.Datum{d, d}, protocol.LossCrossEntropy, nil)
		if err != nil {
			t.Fatal(err)
		}
		ap := protocol.DefaultAdamParams()
		ap.LearningRate = 1e-2
		op, err := tc.OptimStep(ctx, ap)
		if err != nil {
			t.Fatal(err)
		}
		out, err := fb.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := op.Result(ctx); err != nil {
			t.Fatal(err)
		}
		if len(out.LossFnOutputs) != 2 || out.LossFnOutputs[0]["logprobs"].Len() != len(text)-1 {
			t.Fatalf("outputs %+v", out.LossFnOutputs)
		}
		loss, ok := out.Metrics["loss:sum"]
		if !ok || math.IsNaN(loss) || loss <= 0 {
			t.Fatalf("metrics %v", out.Metrics)
		}
		losses = append(losses, loss)
	}
	if !(losses[2] < losses[0]) {
		t.Fatalf("loss did not decrease: %v", losses)
	}
	// forward (forward_only) on a batch.
	many := make([]protocol.Datum, 5)
	for i := range many {
		many[i] = d
	}
	fwd, err := tc.Forward(ctx, many, protocol.LossCrossEntropy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := fwd.Result(ctx); err != nil || len(out.LossFnOutputs) != 5 {
		t.Fatalf("%v", err)
	}
	cust, err := tc.ForwardBackwardCustom(ctx, []protocol.Datum{d}, func(_ []protocol.Datum, lps [][]float32) (float64, map[string]float64, [][]float32, error) {
		g := make([]float32, len(lps[0]))
		loss := 0.0
		for i, v := range lps[0] {
			loss -= float64(v)
			g[i] = -1
		}
		return loss, nil, [][]float32{g}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cust.Result(ctx); err != nil {
		t.Fatal(err)
	}
	sv, _ := tc.SaveState(ctx, "ckpt1", nil, false)
	saved, err := sv.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := tc.SaveWeightsForSampler(ctx, "samp1", nil)
	sres, err := sp.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samp, err := sc.CreateSamplingClient(ctx, tinker.SamplingOptions{ModelPath: sres.Path})
	if err != nil {
		t.Fatal(err)
	}
	p := protocol.DefaultSamplingParams()
	n := 5
	p.MaxTokens = &n
	sf, err := samp.Sample(ctx, protocol.FromTokens(text[:3]), 2, p, tinker.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sf.Result(ctx)
	if err != nil || len(res.Sequences) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, s := range res.Sequences {
		if len(s.Tokens) == 0 || len(s.Tokens) > 5 {
			t.Fatalf("sequence %+v", s)
		}
	}
	lf, _ := samp.ComputeLogprobs(ctx, protocol.FromTokens(text[:4]))
	lps, err := lf.Result(ctx)
	if err != nil || len(lps) != 4 || !math.IsNaN(lps[0]) || lps[1] > 0 {
		t.Fatalf("%v %v", lps, err)
	}
	tc2, err := sc.CreateTrainingClientFromState(ctx, saved.Path, true, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc2.ModelID() == tc.ModelID() {
		t.Fatal("same model")
	}
	rc := sc.CreateRestClient()
	cks, err := rc.ListCheckpoints(ctx, tc.ModelID())
	if err != nil || len(cks.Checkpoints) < 2 {
		t.Fatalf("%+v %v", cks, err)
	}
	var buf bytes.Buffer
	if _, err := rc.DownloadCheckpointArchive(ctx, saved.Path, &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the checkpoint archive after %v: %v", names, err)
		}
		names = append(names, h.Name)
	}
	if len(names) == 0 {
		t.Fatal("empty archive")
	}
	t.Logf("archive: %v", names)
	// Bad input reaches the user as one clear error.
	bad := protocol.Datum{ModelInput: protocol.FromTokens([]int32{1, 2}), LossFnInputs: map[string]protocol.TensorData{"target_tokens": protocol.Int64Tensor([]int64{5, 99999})}}
	bf, err := tc.ForwardBackward(ctx, []protocol.Datum{bad}, protocol.LossCrossEntropy, nil)
	if err == nil {
		_, err = bf.Result(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("out-of-vocab target: %v", err)
	}
}

func toInt64(x []int32) []int64 {
	out := make([]int64, len(x))
	for i, v := range x {
		out[i] = int64(v)
	}
	return out
}

func ones(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// TestModuleSelectsLocalBackend checks that with no key and no base URL the
// module serves calls from the embedded backend.
func TestModuleSelectsLocalBackend(t *testing.T) {
	t.Setenv("TINKER_API_KEY", "")
	t.Setenv("TINKER_BASE_URL", "")
	defer CloseAll()
	thread := &starlark.Thread{Name: "test"}
	sc, err := starlark.Call(thread, Module.Value().Members["service_client"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.(*object).payload.(*tinker.ServiceClient).BaseURL(); got != backend.InProcessBaseURL {
		t.Fatalf("base URL %q", got)
	}
}

// TestGoldenLocal runs testdata/tinker/local/*.star against the embedded
// backend (no key, no base URL), as a recipe would by default.
func TestGoldenLocal(t *testing.T) {
	t.Setenv("TINKER_API_KEY", "")
	t.Setenv("TINKER_BASE_URL", "")
	defer CloseAll()
	startest.RunDir(t, "../../testdata/tinker/local", startest.Options{Modules: []*host.Module{Module}, MaxSteps: 100_000_000})
}
