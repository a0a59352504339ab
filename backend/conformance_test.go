package backend

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/hfhub"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tokenizer"
)

// startServer runs the real HTTP server on 127.0.0.1:0 over a data dir.
func startServer(t *testing.T, dir string, mod func(*Options)) (*Engine, *rawClient, func()) {
	t.Helper()
	opts := Options{DataDir: dir, LongPoll: 2 * time.Second, Logf: t.Logf, Provider: offlineProvider()}
	if mod != nil {
		mod(&opts)
	}
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.Handler()}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		e.Close()
	}
	t.Cleanup(stop)
	return e, &rawClient{t: t, base: "http://" + ln.Addr().String(), hc: &http.Client{Timeout: 60 * time.Second}}, stop
}

// offlineProvider is the local provider resolving real model names from
// the Hugging Face cache only (tests never touch the network).
func offlineProvider() *LocalProvider {
	p := NewLocalProvider()
	p.TokenizerFor = func(name string) (tokenizer.Tokenizer, error) {
		c := hfhub.NewClient()
		c.Offline = true
		return tokenizer.ForModelWith(context.Background(), c, name)
	}
	return p
}

func floatsOf(td protocol.TensorData) []float32 {
	v, _ := td.Dense()
	return v
}

// TestConformance runs a protocol conformance sequence against `tkx serve`'s
// handler on a real socket, with raw HTTP (no tinker client), on the tiny
// local model, then restarts the server over the same data directory.
//
// With TKX_CONFORMANCE_URL set (e.g. http://127.0.0.1:8100 of a running
// `tkx serve`, and TKX_CONFORMANCE_KEY for its --api-key) the same
// sequence runs against that server instead, without the restart.
func TestConformance(t *testing.T) {
	if u := os.Getenv("TKX_CONFORMANCE_URL"); u != "" {
		c := &rawClient{t: t, base: strings.TrimRight(u, "/"), hc: &http.Client{Timeout: 60 * time.Second}, key: os.Getenv("TKX_CONFORMANCE_KEY")}
		conformance(t, c, nil)
		return
	}
	dir := t.TempDir()
	_, c, stop := startServer(t, dir, nil)
	restart := func() *rawClient {
		stop()
		_, c2, _ := startServer(t, dir, nil)
		return c2
	}
	conformance(t, c, restart)
}

// conformance is the sequence; restart, when not nil, restarts the server
// over the same data directory and returns a client for the new one.
func conformance(t *testing.T, c *rawClient, restart func() *rawClient) {
	const base = "tkx/local-tiny"

	// Bootstrap.
	var cfg protocol.ClientConfigResponse
	c.mustJSON(protocol.PathClientConfig, protocol.ClientConfigRequest{SDKVersion: protocol.SDKVersion}, &cfg)
	if cfg.PJWTAuthEnabled || cfg.ProtoCompressFwdbwd {
		t.Fatalf("client config %+v", cfg)
	}
	var dyn protocol.DynamicConfigResponse
	c.mustJSON(protocol.PathClientDynamicConfig, protocol.ClientConfigRequest{SDKVersion: protocol.SDKVersion}, &dyn)
	var caps protocol.ServerCapabilities
	if c.get(protocol.PathGetServerCapabilities, &caps) != 200 || len(caps.SupportedModels) < 2 {
		t.Fatalf("capabilities %+v", caps)
	}
	sid := c.session()
	var hb protocol.SessionHeartbeatResponse
	c.mustJSON(protocol.PathSessionHeartbeat, protocol.SessionHeartbeatRequest{SessionID: sid}, &hb)
	if hb.Type != "session_heartbeat" {
		t.Fatalf("heartbeat %+v", hb)
	}

	// Create a LoRA model.
	mid := c.createModel(sid, 0, base, 4)

	// Training with forward_backward (protobuf) and optim_step pipelined:
	// both are submitted before either is awaited.
	text := bytesOf("The cat sat on the mat. The cat sat on the mat.")
	datum := ceDatum(text)
	adam := protocol.AdamParams{LearningRate: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}
	seq := int32(1)
	var losses []float64
	for step := 0; step < 6; step++ {
		fb := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: seq, LossFn: "cross_entropy", Data: []protocol.Datum{datum}})
		opt := c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: int(seq + 1), AdamParams: adam})
		seq += 2
		out := c.fbAwait(fb)
		c.awaitJSON(opt, nil)
		losses = append(losses, out.Metrics["loss:sum"])
		if lp := floatsOf(out.LossFnOutputs[0]["logprobs"]); len(lp) != len(text)-1 {
			t.Fatalf("logprobs has %d entries, want %d", len(lp), len(text)-1)
		}
	}
	if !(losses[len(losses)-1] < losses[0]) {
		t.Fatalf("loss did not fall: %v", losses)
	}

	// forward (forward_only) returns loss and logprobs without training.
	fwd := func(model string, s int32) []float32 {
		out := c.fbAwait(c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: model, SeqID: s, LossFn: "cross_entropy", Data: []protocol.Datum{datum}, ForwardOnly: true}))
		if _, ok := out.Metrics["loss:sum"]; !ok {
			t.Fatalf("forward without loss:sum: %v", out.Metrics)
		}
		return floatsOf(out.LossFnOutputs[0]["logprobs"])
	}
	lpA := fwd(mid, seq)
	lpB := fwd(mid, seq+1)
	seq += 2
	for i := range lpA {
		if lpA[i] != lpB[i] {
			t.Fatalf("forward_only changed the model")
		}
	}

	// Checkpoints.
	var sw protocol.SaveWeightsResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: int(seq), Path: "step6"}), &sw)
	seq++
	var ss protocol.SaveWeightsForSamplerResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeightsForSampler, protocol.SaveWeightsForSamplerRequest{ModelID: mid, SeqID: int(seq), Path: "step6s"}), &ss)
	seq++

	// Prompt logprobs from the sampler equal forward logprobs.
	var cs protocol.CreateSamplingSessionResponse
	c.mustJSON(protocol.PathCreateSamplingSession, protocol.CreateSamplingSessionRequest{SessionID: sid, SamplingSessionSeqID: 0, ModelPath: ss.Path}, &cs)
	one := 1
	clp := protocol.DefaultSamplingParams()
	clp.MaxTokens = &one
	prompt := text[:len(text)]
	pr := c.sampleAwait(c.submit(protocol.PathASample, protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens(prompt), SamplingParams: clp,
		SamplingSessionID: cs.SamplingSessionID, PromptLogprobs: true, TopkPromptLogprobs: 3}))
	if len(pr.PromptLogprobs) != len(prompt) || !math.IsNaN(float64(pr.PromptLogprobs[0])) {
		t.Fatalf("prompt_logprobs: %d values, first %v; want %d with NaN first", len(pr.PromptLogprobs), pr.PromptLogprobs[:1], len(prompt))
	}
	for i := 1; i < len(prompt); i++ {
		if d := math.Abs(float64(pr.PromptLogprobs[i] - lpA[i-1])); d > 1e-4 {
			t.Fatalf("prompt logprob %d = %v, forward says %v", i, pr.PromptLogprobs[i], lpA[i-1])
		}
	}
	tk := pr.TopkPromptLogprobs
	if tk == nil || tk.K != 3 || tk.PromptLength != len(prompt) || tk.Logprobs[0] != protocol.TopkEmptyLogprob {
		t.Fatalf("topk prompt logprobs %+v", tk)
	}
	for i := 1; i < len(prompt); i++ {
		if tk.Logprobs[i*3] < pr.PromptLogprobs[i]-1e-4 || tk.Logprobs[i*3] < tk.Logprobs[i*3+1] {
			t.Fatalf("top-k row %d not sorted or below the actual token", i)
		}
	}

	// Sampling determinism: same seed → same tokens; stop token honoured.
	seed := int64(1234)
	mt := 24
	sp := protocol.DefaultSamplingParams()
	sp.Seed, sp.MaxTokens = &seed, &mt
	sreq := protocol.SampleRequest{NumSamples: 4, Prompt: protocol.FromTokens(bytesOf("The cat")), SamplingParams: sp, SamplingSessionID: cs.SamplingSessionID}
	s1 := c.sampleAwait(c.submit(protocol.PathASample, sreq))
	s2 := c.sampleAwait(c.submit(protocol.PathASample, sreq))
	for i := range s1.Sequences {
		if !equalI32(s1.Sequences[i].Tokens, s2.Sequences[i].Tokens) {
			t.Fatalf("same seed, different samples")
		}
		if len(s1.Sequences[i].Logprobs) != len(s1.Sequences[i].Tokens) {
			t.Fatalf("sample %d: %d logprobs for %d tokens", i, len(s1.Sequences[i].Logprobs), len(s1.Sequences[i].Tokens))
		}
	}
	if equalI32(s1.Sequences[0].Tokens, s1.Sequences[1].Tokens) && equalI32(s1.Sequences[1].Tokens, s1.Sequences[2].Tokens) {
		t.Fatalf("num_samples draws are identical")
	}
	// Stop strings: generation ends as soon as the text contains one.
	g := protocol.DefaultSamplingParams()
	g.Seed, g.MaxTokens = &seed, &mt
	g.Temperature = 0
	greedy := c.sampleAwait(c.submit(protocol.PathASample, protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens(bytesOf("The cat")), SamplingParams: g, SamplingSessionID: cs.SamplingSessionID}))
	gt := greedy.Sequences[0].Tokens
	if len(gt) >= 3 {
		stopStr := string([]byte{byte(gt[1]), byte(gt[2])})
		g.Stop = &protocol.Stop{Strings: []string{stopStr}}
		st := c.sampleAwait(c.submit(protocol.PathASample, protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens(bytesOf("The cat")), SamplingParams: g, SamplingSessionID: cs.SamplingSessionID}))
		got := st.Sequences[0]
		if got.StopReason != "stop" || !strings.Contains(string(i32Bytes(got.Tokens)), stopStr) || len(got.Tokens) > 3 {
			t.Fatalf("stop string %q: got %q (%s)", stopStr, i32Bytes(got.Tokens), got.StopReason)
		}
	}

	// Load the training checkpoint into a new model (create_model +
	// load_weights with optimizer): identical forward logprobs.
	m2 := c.createModel(sid, 1, base, 4)
	c.awaitJSON(c.submit(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: m2, SeqID: 1, Path: sw.Path, Optimizer: true}), nil)
	lpC := fwd(m2, 2)
	for i := range lpA {
		if lpA[i] != lpC[i] {
			t.Fatalf("logprobs after load differ at %d: %v vs %v", i, lpA[i], lpC[i])
		}
	}
	// Both continue identically: save → load → continue equals uninterrupted.
	step := func(model string, s int32) float64 {
		fb := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: model, SeqID: s, LossFn: "cross_entropy", Data: []protocol.Datum{datum}})
		c.awaitJSON(c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: model, SeqID: int(s + 1), AdamParams: adam}), nil)
		return c.fbAwait(fb).Metrics["loss:sum"]
	}
	step(mid, seq)
	step(m2, 3)
	a, b := fwd(mid, seq+2), fwd(m2, 5)
	seq += 3
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("continued training diverged after load at %d: %v vs %v", i, a[i], b[i])
		}
	}

	// REST: listing, archive, TTL, publish, delete.
	var lst protocol.CheckpointsListResponse
	if code := c.get(protocol.TrainingRunCheckpointsPath(mid), &lst); code != 200 || len(lst.Checkpoints) != 2 {
		t.Fatalf("list checkpoints: %d %+v", code, lst)
	}
	var arch protocol.CheckpointArchiveURLResponse
	if code := c.get(protocol.CheckpointPath(mid, "weights/step6")+"/archive", &arch); code != 200 || arch.URL == "" {
		t.Fatalf("archive url: %d %+v", code, arch)
	}
	areq, _ := http.NewRequest("GET", arch.URL, nil)
	if c.key != "" {
		areq.Header.Set(protocol.HeaderAPIKey, c.key)
	}
	resp, err := c.hc.Do(areq)
	if err != nil {
		t.Fatal(err)
	}
	files := tarNames(t, resp.Body)
	resp.Body.Close()
	if strings.Join(files, ",") != "adapter_config.json,adapter_model.safetensors,checkpoint_complete" {
		t.Fatalf("archive holds %v", files)
	}
	code, _, _ := c.do("PUT", protocol.CheckpointPath(mid, "weights/step6")+"/ttl", protocol.ContentTypeJSON, []byte(`{"ttl_seconds":0}`), nil)
	if code != 400 {
		t.Fatalf("ttl 0: %d", code)
	}
	code, _, _ = c.do("PUT", protocol.CheckpointPath(mid, "weights/step6")+"/ttl", protocol.ContentTypeJSON, []byte(`{"ttl_seconds":3600}`), nil)
	if code/100 != 2 {
		t.Fatalf("ttl: %d", code)
	}
	if code, _, _ = c.do("POST", protocol.CheckpointPath(mid, "weights/step6")+"/publish", "", nil, nil); code/100 != 2 {
		t.Fatalf("publish: %d", code)
	}
	if code, _, _ = c.do("POST", protocol.CheckpointPath(mid, "weights/step6")+"/publish", "", nil, nil); code != 409 {
		t.Fatalf("publish twice: %d", code)
	}
	var runs protocol.TrainingRunsResponse
	if code := c.get(protocol.PathTrainingRuns+"?limit=1000", &runs); code != 200 || !hasRun(runs, mid) {
		t.Fatalf("training runs: %d %+v", code, runs)
	}
	var run protocol.TrainingRun
	if c.get(protocol.TrainingRunPath(mid), &run); run.LastCheckpoint == nil || run.LastCheckpoint.TinkerPath != sw.Path || run.LoraRank == nil || *run.LoraRank != 4 {
		t.Fatalf("training run %+v", run)
	}
	var sess protocol.SessionResponse
	if c.get(protocol.SessionPath(sid), &sess); len(sess.TrainingRunIDs) != 2 || len(sess.SamplerIDs) != 1 {
		t.Fatalf("session %+v", sess)
	}

	// Bad input: 4xx naming the problem, and the server keeps serving.
	bad := ceDatum(bytesOf("abc"))
	bad.ModelInput.Chunks[0].Tokens[0] = 288
	code, body := c.fbProto(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: seq, LossFn: "cross_entropy", Data: []protocol.Datum{bad}})
	if code != 400 || !strings.Contains(errText(body), "token 288 at position 0 is out of vocabulary [0,288)") {
		t.Fatalf("OOV: %d %s", code, body)
	}
	seq++
	code, body = c.postJSON(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: sid, ModelSeqID: 9, BaseModel: "acme/unknown-7b"})
	if code != 400 || !strings.Contains(errText(body), `unknown base model "acme/unknown-7b"`) {
		t.Fatalf("unknown base: %d %s", code, body)
	}
	code, _, body = c.do("POST", protocol.PathCreateSession, protocol.ContentTypeJSON, []byte("{not json"), nil)
	if code != 400 {
		t.Fatalf("malformed: %d %s", code, body)
	}
	fwd(mid, seq)

	// Restart: a new server over the same data directory still has the
	// checkpoints, and loading one reproduces the logprobs.
	c2 := c
	if restart != nil {
		c2 = restart()
	}
	var lst2 protocol.CheckpointsListResponse
	if code := c2.get(protocol.TrainingRunCheckpointsPath(mid), &lst2); code != 200 || len(lst2.Checkpoints) != 2 {
		t.Fatalf("after restart: %d %+v", code, lst2)
	}
	sid2 := c2.session()
	m3 := c2.createModel(sid2, 0, base, 4)
	c2.awaitJSON(c2.submit(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: m3, SeqID: 1, Path: sw.Path}), nil)
	out := c2.fbAwait(c2.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: m3, SeqID: 2, LossFn: "cross_entropy", Data: []protocol.Datum{datum}, ForwardOnly: true}))
	lpD := floatsOf(out.LossFnOutputs[0]["logprobs"])
	for i := range lpA {
		if lpA[i] != lpD[i] {
			t.Fatalf("after restart logprobs differ at %d", i)
		}
	}
	// Create-via-load (seq 0 is the load itself).
	zero := 1
	var lr protocol.LoadWeightsResponse
	c2.awaitJSON(c2.submit(protocol.PathLoadWeights, protocol.LoadWeightsRequest{SessionID: sid2, ModelSeqID: &zero, Path: sw.Path, Optimizer: true}), &lr)
	if lr.ModelID != sid2+":train:1" {
		t.Fatalf("create via load: %+v", lr)
	}
	// Delete.
	if code, _, _ := c2.do("DELETE", protocol.CheckpointPath(mid, "sampler_weights/step6s"), "", nil, nil); code/100 != 2 {
		t.Fatalf("delete: %d", code)
	}
	if code := c2.get(protocol.CheckpointPath(mid, "sampler_weights/step6s")+"/archive", nil); code != 404 {
		t.Fatalf("archive of deleted: %d", code)
	}
}

func hasRun(r protocol.TrainingRunsResponse, id string) bool {
	for _, x := range r.TrainingRuns {
		if x.TrainingRunID == id {
			return true
		}
	}
	return false
}

func i32Bytes(t []int32) []byte {
	b := make([]byte, 0, len(t))
	for _, v := range t {
		if v < 256 {
			b = append(b, byte(v))
		}
	}
	return b
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		if h.Size == 0 && h.Name != "checkpoint_complete" {
			t.Fatalf("archive file %s is empty", h.Name)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return names
}
