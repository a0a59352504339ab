package backend

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tokenizer"
)

func newFakeEngine(t *testing.T, mod func(*Options)) (*Engine, *fakeProvider, *rawClient) {
	t.Helper()
	p := newFakeProvider()
	opts := Options{DataDir: t.TempDir(), Provider: p, LongPoll: 200 * time.Millisecond, Logf: t.Logf}
	if mod != nil {
		mod(&opts)
	}
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, p, &rawClient{t: t, base: "http://local", hc: NewInProcessClient(e.Handler())}
}

const fakeBase = "fake/unigram"

func TestEngineTrainSaveLoadSample(t *testing.T) {
	_, p, c := newFakeEngine(t, nil)
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 4)

	// Pipelining: forward_backward and optim_step submitted before waiting.
	seq := bytesOf("hello hello hello")
	fb := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(seq)}})
	opt := c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 2, AdamParams: protocol.AdamParams{LearningRate: 0.5, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}})
	out := c.fbAwait(fb)
	lpT := out.LossFnOutputs[0]["logprobs"]
	if len(out.LossFnOutputs) != 1 || lpT.Len() != len(seq)-1 {
		t.Fatalf("bad outputs %+v", out.LossFnOutputs)
	}
	loss0 := out.Metrics["loss:sum"]
	var or protocol.OptimStepResponse
	c.awaitJSON(opt, &or)
	fb2 := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 3, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(seq)}, ForwardOnly: true})
	if loss1 := c.fbAwait(fb2).Metrics["loss:sum"]; !(loss1 < loss0) {
		t.Fatalf("loss did not fall: %v -> %v", loss0, loss1)
	}

	var sw protocol.SaveWeightsResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: 4, Path: "ck1"}), &sw)
	if sw.Path != "tinker://"+mid+"/weights/ck1" {
		t.Fatalf("save path %q", sw.Path)
	}
	var ss protocol.SaveWeightsForSamplerResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeightsForSampler, protocol.SaveWeightsForSamplerRequest{ModelID: mid, SeqID: 5, Path: "s1"}), &ss)
	if ss.Path != "tinker://"+mid+"/sampler_weights/s1" {
		t.Fatalf("sampler save path %q", ss.Path)
	}
	// Saving the same name again without overwrite is a user error.
	e1 := c.awaitErr(c.submit(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: 6, Path: "ck1"}))
	if e1.Category != "user" || !strings.Contains(e1.Error, "already exists") {
		t.Fatalf("duplicate save: %+v", e1)
	}
	// Load with optimizer state.
	var lw protocol.LoadWeightsResponse
	c.awaitJSON(c.submit(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: mid, SeqID: 7, Path: sw.Path, Optimizer: true}), &lw)
	// A sampler checkpoint has no optimizer state.
	code, body := c.postJSON(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: mid, SeqID: 8, Path: ss.Path, Optimizer: true})
	if code != 400 || !strings.Contains(string(body), "no optimizer state") {
		t.Fatalf("load sampler ckpt with optimizer: %d %s", code, body)
	}
	// seq 8 was consumed by the rejected request: seq 9 runs without waiting.
	c.awaitJSON(c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 9, AdamParams: protocol.DefaultAdamParams()}), nil)

	want := []string{"fb", "optim", "fb", "save", "save", "load", "optim"} // the duplicate save fails before writing
	if got := p.calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v, want %v", got, want)
	}

	// Sampling from the saved checkpoint, with a seed: deterministic.
	var cs protocol.CreateSamplingSessionResponse
	c.mustJSON(protocol.PathCreateSamplingSession, protocol.CreateSamplingSessionRequest{SessionID: sid, SamplingSessionSeqID: 0, ModelPath: ss.Path}, &cs)
	if cs.SamplingSessionID != sid+":sample:0" {
		t.Fatalf("sampler id %q", cs.SamplingSessionID)
	}
	seed := int64(7)
	mt := 12
	sp := protocol.DefaultSamplingParams()
	sp.Seed, sp.MaxTokens = &seed, &mt
	sreq := protocol.SampleRequest{NumSamples: 3, Prompt: protocol.FromTokens(bytesOf("hi")), SamplingParams: sp, SamplingSessionID: cs.SamplingSessionID, PromptLogprobs: true}
	r1 := c.sampleAwait(c.submit(protocol.PathASample, sreq))
	r2 := c.sampleAwait(c.submit(protocol.PathASample, sreq))
	if len(r1.Sequences) != 3 {
		t.Fatalf("%d sequences", len(r1.Sequences))
	}
	for i := range r1.Sequences {
		if !equalI32(r1.Sequences[i].Tokens, r2.Sequences[i].Tokens) {
			t.Fatalf("same seed, different samples: %v vs %v", r1.Sequences[i].Tokens, r2.Sequences[i].Tokens)
		}
	}
	if len(r1.PromptLogprobs) != 2 || r1.PromptLogprobs[0] == r1.PromptLogprobs[0] {
		t.Fatalf("prompt logprobs %v: want 2 with NaN first", r1.PromptLogprobs)
	}
	var si protocol.SamplerInfoResponse
	if code := c.get(protocol.SamplerPath(cs.SamplingSessionID), &si); code != 200 || si.BaseModel != fakeBase || si.ModelPath != ss.Path {
		t.Fatalf("sampler info %d %+v", code, si)
	}

	// Unnamed save → sampling session.
	n := 1
	var us protocol.SaveWeightsForSamplerResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeightsForSampler, protocol.SaveWeightsForSamplerRequest{ModelID: mid, SeqID: 10, SamplingSessionSeqID: &n}), &us)
	if us.SamplingSessionID != sid+":sample:1" || us.Path != "" {
		t.Fatalf("unnamed save: %+v", us)
	}
	sreq.SamplingSessionID = us.SamplingSessionID
	c.sampleAwait(c.submit(protocol.PathASample, sreq))

	// get_info, weights_info.
	var gi protocol.GetInfoResponse
	c.mustJSON(protocol.PathGetInfo, protocol.GetInfoRequest{ModelID: mid}, &gi)
	if gi.LoraRank == nil || *gi.LoraRank != 4 || gi.ModelData.ModelName != fakeBase {
		t.Fatalf("get_info %+v", gi)
	}
	var wi protocol.WeightsInfoResponse
	c.mustJSON(protocol.PathWeightsInfo, protocol.WeightsInfoRequest{TinkerPath: sw.Path}, &wi)
	if wi.BaseModel != fakeBase || wi.LoraRank == nil || *wi.LoraRank != 4 {
		t.Fatalf("weights_info %+v", wi)
	}
}

func equalI32(a, b []int32) bool {
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

func TestEngineSamplingRunsWhileTrainingBlocks(t *testing.T) {
	_, p, c := newFakeEngine(t, nil)
	p.block = make(chan struct{})
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	fb := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abc"))}})
	// Training is stuck in forward_backward; sampling must still answer.
	var cs protocol.CreateSamplingSessionResponse
	c.mustJSON(protocol.PathCreateSamplingSession, protocol.CreateSamplingSessionRequest{SessionID: sid, BaseModel: fakeBase}, &cs)
	mt := 4
	sp := protocol.DefaultSamplingParams()
	sp.MaxTokens = &mt
	res := c.sampleAwait(c.submit(protocol.PathASample, protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens(bytesOf("x")), SamplingParams: sp, SamplingSessionID: cs.SamplingSessionID}))
	if len(res.Sequences[0].Tokens) != 4 {
		t.Fatalf("sample %+v", res.Sequences)
	}
	close(p.block)
	c.fbAwait(fb)
}

func TestEngineModelsTrainConcurrently(t *testing.T) {
	_, p, c := newFakeEngine(t, nil)
	p.block = make(chan struct{})
	sid := c.session()
	m1 := c.createModel(sid, 0, fakeBase, 1)
	m2 := c.createModel(sid, 1, fakeBase, 1)
	f1 := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: m1, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abc"))}})
	f2 := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: m2, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abc"))}})
	deadline := time.Now().Add(10 * time.Second)
	for p.inflight.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := p.inflight.Load(); got != 2 {
		t.Fatalf("%d models in forward_backward at once, want 2", got)
	}
	close(p.block)
	c.fbAwait(f1)
	c.fbAwait(f2)
}

func TestEngineConcurrentClientsRace(t *testing.T) {
	_, _, c := newFakeEngine(t, nil)
	sid := c.session()
	var wg sync.WaitGroup
	for m := 0; m < 3; m++ {
		mid := c.createModel(sid, m, fakeBase, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Submit in scrambled order from several goroutines.
			var inner sync.WaitGroup
			ids := make([]string, 6)
			for s := 6; s >= 1; s-- {
				inner.Add(1)
				go func(s int) {
					defer inner.Done()
					if s%2 == 1 {
						ids[s-1] = c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: int32(s), LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abcd"))}})
					} else {
						ids[s-1] = c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: s, AdamParams: protocol.DefaultAdamParams()})
					}
				}(s)
			}
			inner.Wait()
			for s, id := range ids {
				if s%2 == 0 {
					c.fbAwait(id)
				} else {
					c.awaitJSON(id, nil)
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			mt := 3
			sp := protocol.DefaultSamplingParams()
			sp.MaxTokens = &mt
			c.sampleAwait(c.submit(protocol.PathASample, protocol.SampleRequest{NumSamples: 2, Prompt: protocol.FromTokens(bytesOf("q")), SamplingParams: sp, BaseModel: fakeBase}))
		}()
	}
	wg.Wait()
}

func TestEngineSeqGapDoesNotStall(t *testing.T) {
	_, _, c := newFakeEngine(t, func(o *Options) { o.SeqGapTimeout = 100 * time.Millisecond })
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	// seq 1 never arrives (the client crashed mid-send).
	id := c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 2, AdamParams: protocol.DefaultAdamParams()})
	c.awaitJSON(id, nil)
	code, body := c.postJSON(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 1, AdamParams: protocol.DefaultAdamParams()})
	if code != 400 || !strings.Contains(string(body), "skipped") {
		t.Fatalf("late seq_id: %d %s", code, body)
	}
}

func TestEngineBadInput(t *testing.T) {
	e, _, c := newFakeEngine(t, nil)
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	type tc struct {
		name string
		req  *protocol.ForwardBackwardRequest
		want string
	}
	good := ceDatum(bytesOf("abcdef"))
	oov := ceDatum(bytesOf("abc"))
	oov.ModelInput.Chunks[0].Tokens[1] = 9999
	long := ceDatum(make([]int32, 200))
	mism := ceDatum(bytesOf("abcdef"))
	mism.LossFnInputs["weights"] = protocol.Float32Tensor([]float32{1, 1})
	badTarget := ceDatum(bytesOf("abc"))
	badTarget.LossFnInputs["target_tokens"] = protocol.Int64Tensor([]int64{1, -3})
	noAdv := ceDatum(bytesOf("abc"))
	seq := int32(1)
	cases := []tc{
		{"oov", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{good, oov}, LossFn: "cross_entropy"}, "data[1].model_input token 9999 at position 1 is out of vocabulary"},
		{"too long", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{long}, LossFn: "cross_entropy"}, "data[0].model_input has 199 tokens, longer than fake/unigram's context of 64"},
		{"mismatched", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{mism}, LossFn: "cross_entropy"}, `data[0].loss_fn_inputs["weights"] has 2 elements but model_input has 5 tokens`},
		{"bad target", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{badTarget}, LossFn: "cross_entropy"}, `target_tokens"][1] = -3 is out of vocabulary`},
		{"unknown loss", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{good}, LossFn: "hinge"}, `unknown loss_fn "hinge" (supported: cispo, cross_entropy, dro, importance_sampling, ppo)`},
		{"missing input", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{noAdv}, LossFn: "ppo"}, `data[0].loss_fn_inputs lacks "logprobs", which loss_fn "ppo" needs`},
		{"dro without beta", &protocol.ForwardBackwardRequest{Data: []protocol.Datum{good}, LossFn: "dro"}, `loss_fn "dro" needs loss_fn_config.beta`},
		{"empty batch", &protocol.ForwardBackwardRequest{LossFn: "cross_entropy"}, "at least one datum"},
	}
	for _, k := range cases {
		k.req.ModelID = mid
		k.req.SeqID = seq
		seq++
		code, body := c.fbProto(k.req)
		var fr protocol.RequestFailedResponse
		json.Unmarshal(body, &fr)
		if code != 400 || fr.Category != "user" || !strings.Contains(fr.Error, k.want) {
			t.Errorf("%s: %d %s; want 400 naming %q", k.name, code, body, k.want)
		}
	}
	// seq_id 0 is out of range for training requests.
	code, body := c.fbProto(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 0, LossFn: "cross_entropy", Data: []protocol.Datum{good}})
	if code != 400 || !strings.Contains(string(body), "seq_id = 0 is out of range") {
		t.Errorf("seq 0: %d %s", code, body)
	}
	// Every rejected seq_id was consumed: the next one runs at once.
	c.fbAwait(c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: seq, LossFn: "cross_entropy", Data: []protocol.Datum{good}}))
	seq++

	// Malformed bodies.
	code, _, body = c.do("POST", protocol.PathForwardBackward, protocol.ContentTypeProtobuf, []byte{0xff, 0xff, 0xff}, nil)
	if code != 400 || !strings.Contains(string(body), "malformed protobuf") {
		t.Errorf("bad protobuf: %d %s", code, body)
	}
	code, _, body = c.do("POST", protocol.PathOptimStep, protocol.ContentTypeJSON, []byte(`{"model_id":`), nil)
	if code != 400 || !strings.Contains(string(body), "malformed JSON body for /api/v1/optim_step") {
		t.Errorf("bad JSON: %d %s", code, body)
	}
	// A body with the right ids but a wrong field type consumes its seq_id.
	code, _, body = c.do("POST", protocol.PathOptimStep, protocol.ContentTypeJSON, []byte(`{"model_id":"`+mid+`","seq_id":`+itoa(int(seq))+`,"adam_params":"fast"}`), nil)
	if code != 400 {
		t.Errorf("bad adam_params: %d %s", code, body)
	}
	seq++
	c.awaitJSON(c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: int(seq), AdamParams: protocol.DefaultAdamParams()}), nil)
	seq++
	bad := protocol.DefaultAdamParams()
	bad.Beta1 = 1.5
	code, body = c.postJSON(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: int(seq), AdamParams: bad})
	if code != 400 || !strings.Contains(string(body), "beta1") {
		t.Errorf("bad beta1: %d %s", code, body)
	}
	seq++

	// Unknown ids and models.
	code, body = c.postJSON(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: sid, ModelSeqID: 5, BaseModel: "nope/model"})
	if code != 400 || !strings.Contains(errText(body), `unknown base model "nope/model"`) {
		t.Errorf("unknown base model: %d %s", code, body)
	}
	code, body = c.postJSON(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: "nope", SeqID: 1, AdamParams: protocol.DefaultAdamParams()})
	if code != 404 || !strings.Contains(errText(body), `unknown model_id "nope"`) {
		t.Errorf("unknown model: %d %s", code, body)
	}
	code, body = c.postJSON(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: mid, SeqID: int(seq), Path: "tinker://" + mid + "/weights/missing"})
	if code != 404 || !strings.Contains(string(body), "not found") {
		t.Errorf("missing checkpoint: %d %s", code, body)
	}
	seq++
	code, body = c.postJSON(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: mid, SeqID: int(seq), Path: "s3://bucket/x"})
	if code != 400 || !strings.Contains(string(body), "tinker://") {
		t.Errorf("bad path: %d %s", code, body)
	}
	seq++
	code, body = c.postJSON(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: int(seq), Path: "../../etc"})
	if code != 400 || !strings.Contains(string(body), "invalid checkpoint name") {
		t.Errorf("traversal name: %d %s", code, body)
	}
	seq++
	code, body = c.postJSON(protocol.PathRetrieveFuture, protocol.RetrieveFutureRequest{RequestID: "nope"})
	if code != 404 {
		t.Errorf("unknown future: %d %s", code, body)
	}
	// Sampling bad input.
	sp := protocol.DefaultSamplingParams()
	for _, k := range []struct {
		req  protocol.SampleRequest
		want string
	}{
		{protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens([]int32{1, 400}), SamplingParams: sp, BaseModel: fakeBase}, "prompt token 400 at position 1 is out of vocabulary"},
		{protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens(make([]int32, 65)), SamplingParams: sp, BaseModel: fakeBase}, "prompt has 65 tokens, longer than"},
		{protocol.SampleRequest{NumSamples: 0, Prompt: protocol.FromTokens([]int32{1}), SamplingParams: sp, BaseModel: fakeBase}, "num_samples = 0"},
		{protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens([]int32{1}), SamplingParams: protocol.SamplingParams{Temperature: 1, TopK: 0, TopP: 1}, BaseModel: fakeBase}, "top_k"},
		{protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens([]int32{1}), SamplingParams: sp, SamplingSessionID: "nope"}, `unknown sampling_session_id "nope"`},
		{protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens([]int32{1}), SamplingParams: sp, ModelPath: "tinker://x:train:0/sampler_weights/none"}, "not found"},
	} {
		code, body := c.postJSON(protocol.PathASample, k.req)
		if code/100 != 4 || !strings.Contains(errText(body), k.want) {
			t.Errorf("sample: %d %s; want 4xx naming %q", code, body, k.want)
		}
	}
	// After all that, the server still serves.
	c.fbAwait(c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: seq, LossFn: "cross_entropy", Data: []protocol.Datum{good}}))
	if e.futures.pending() != 0 {
		t.Errorf("%d futures still pending", e.futures.pending())
	}
}

// errText is the "error" of an error body.
func errText(body []byte) string {
	var fr protocol.RequestFailedResponse
	if json.Unmarshal(body, &fr) != nil {
		return string(body)
	}
	return fr.Error
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestEngineAPIKey(t *testing.T) {
	_, _, c := newFakeEngine(t, func(o *Options) { o.APIKey = "tml-secret" })
	code, body := c.postJSON(protocol.PathCreateSession, protocol.CreateSessionRequest{})
	if code != 401 || strings.Contains(string(body), "tml-secret") {
		t.Fatalf("without key: %d %s", code, body)
	}
	c.key = "tml-wrong"
	if code, _ := c.postJSON(protocol.PathCreateSession, protocol.CreateSessionRequest{}); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	c.key = "tml-secret"
	c.session()
}

func TestEngineLongPollAndExpiry(t *testing.T) {
	e, p, c := newFakeEngine(t, func(o *Options) { o.LongPoll = 30 * time.Millisecond })
	p.block = make(chan struct{})
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	id := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abc"))}})
	code, body := c.postJSON(protocol.PathRetrieveFuture, protocol.RetrieveFutureRequest{RequestID: id})
	fb, _ := protocol.ClassifyFutureBody(body)
	if code != 200 || fb.Kind != protocol.FutureTryAgain || fb.TryAgain.RequestID != id || fb.TryAgain.QueueState != "active" {
		t.Fatalf("while running: %d %s", code, body)
	}
	close(p.block)
	c.fbAwait(id)
	// allow_metadata_only: the size of the payload first.
	code, _, body = c.do("POST", protocol.PathRetrieveFuture, protocol.ContentTypeJSON, mustMarshal(protocol.RetrieveFutureRequest{RequestID: id, AllowMetadataOnly: true}), map[string]string{"Accept": protocol.ContentTypeProtobuf})
	fb, _ = protocol.ClassifyFutureBody(body)
	if code != 200 || fb.Kind != protocol.FutureCompleteMetadata || fb.Metadata.ResponsePayloadSize <= 0 {
		t.Fatalf("metadata only: %d %s", code, body)
	}
	// Old results expire: 410.
	e.futures.mu.Lock()
	e.futures.retain = time.Nanosecond
	e.futures.lastGC = time.Time{}
	e.futures.mu.Unlock()
	time.Sleep(time.Millisecond)
	code, body = c.postJSON(protocol.PathRetrieveFuture, protocol.RetrieveFutureRequest{RequestID: id})
	if code != http.StatusGone {
		t.Fatalf("expired: %d %s", code, body)
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEngineDropFaultIsConnectionReset(t *testing.T) {
	_, _, c := newFakeEngine(t, func(o *Options) {
		o.Faults = &FaultConfig{Rate: 1, Kinds: []string{"drop"}, Seed: 1}
	})
	req, _ := http.NewRequest("POST", "http://local"+protocol.PathCreateSession, strings.NewReader("{}"))
	_, err := c.hc.Do(req)
	if err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("drop: err = %v, want connection reset", err)
	}
}

// A real base-model name whose tokenizer is available gets a small model
// over that vocabulary; an unavailable one is a clear user error.
func TestEngineRealBaseModelName(t *testing.T) {
	p := NewLocalProvider()
	p.TokenizerFor = func(name string) (tokenizer.Tokenizer, error) {
		if name == "Acme/Small-1B" {
			return wideTokenizer{tokenizer.NewLocalByte()}, nil
		}
		return nil, errors.New("no tokenizer.json for " + name + " in the Hugging Face cache")
	}
	e, err := NewEngine(Options{DataDir: t.TempDir(), Provider: p, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := &rawClient{t: t, base: InProcessBaseURL, hc: NewInProcessClient(e.Handler())}
	sid := c.session()
	mid := c.createModel(sid, 0, "Acme/Small-1B:peft:1024", 2)
	d := ceDatum([]int32{1, 600, 700, 2})
	out := c.fbAwait(c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: 1, LossFn: "cross_entropy", Data: []protocol.Datum{d}}))
	if lp := floatsOf(out.LossFnOutputs[0]["logprobs"]); len(lp) != 3 || lp[0] > -5 {
		t.Fatalf("logprobs %v (want ~ -log(1000) from a fresh model over 1000 tokens)", lp)
	}
	var gi protocol.GetInfoResponse
	c.mustJSON(protocol.PathGetInfo, protocol.GetInfoRequest{ModelID: mid}, &gi)
	if gi.ModelData.ModelName != "Acme/Small-1B" {
		t.Fatalf("get_info %+v", gi)
	}
	code, body := c.postJSON(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: sid, ModelSeqID: 1, BaseModel: "Qwen/Qwen3-8B"})
	if code != 400 || !strings.Contains(errText(body), `unknown base model "Qwen/Qwen3-8B": it is not a local model`) || !strings.Contains(errText(body), "no tokenizer.json") {
		t.Fatalf("unavailable tokenizer: %d %s", code, body)
	}
}

// wideTokenizer is the byte tokenizer with a 1000-token vocabulary.
type wideTokenizer struct{ tokenizer.Tokenizer }

func (wideTokenizer) VocabSize() int { return 1000 }
func (wideTokenizer) Name() string   { return "Acme/Small-1B" }

// RL loops make an unnamed sampler snapshot per step; only the most recent
// ones are kept, and an evicted one says so.
func TestEngineEphemeralSamplersAreBounded(t *testing.T) {
	e, _, c := newFakeEngine(t, nil)
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	var ids []string
	for i := 0; i < maxEphemeralSamplers+2; i++ {
		n := i
		var r protocol.SaveWeightsForSamplerResponse
		c.awaitJSON(c.submit(protocol.PathSaveWeightsForSampler, protocol.SaveWeightsForSamplerRequest{ModelID: mid, SeqID: i + 1, SamplingSessionSeqID: &n}), &r)
		ids = append(ids, r.SamplingSessionID)
	}
	held := 0
	e.mu.Lock()
	for _, s := range e.samplers {
		if s.ephemeral != nil {
			held++
		}
	}
	e.mu.Unlock()
	if held != maxEphemeralSamplers {
		t.Fatalf("%d snapshots held, want %d", held, maxEphemeralSamplers)
	}
	mt := 2
	sp := protocol.DefaultSamplingParams()
	sp.MaxTokens = &mt
	req := protocol.SampleRequest{NumSamples: 1, Prompt: protocol.FromTokens([]int32{65}), SamplingParams: sp, SamplingSessionID: ids[0]}
	code, body := c.postJSON(protocol.PathASample, req)
	if code != 410 || !strings.Contains(errText(body), "was released") {
		t.Fatalf("evicted sampler: %d %s", code, body)
	}
	req.SamplingSessionID = ids[len(ids)-1]
	c.sampleAwait(c.submit(protocol.PathASample, req))
}

func TestEngineIdleModelsAreUnloaded(t *testing.T) {
	e, _, c := newFakeEngine(t, func(o *Options) { o.IdleUnload = time.Hour })
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	busy := c.createModel(sid, 1, fakeBase, 1)
	e.unloadIdle(time.Now()) // nothing is idle yet
	c.awaitJSON(c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 1, AdamParams: protocol.DefaultAdamParams()}), nil)
	// The busy model's creation may still be finishing in its sequencer
	// (a model is only unloaded when its queue is idle): retry until it is.
	for deadline := time.Now().Add(10 * time.Second); ; {
		e.mu.Lock()
		m := e.models[busy]
		if m != nil {
			m.meta.LastRequest = time.Now().Add(-2 * time.Hour)
		}
		e.mu.Unlock()
		if m == nil || time.Now().After(deadline) {
			break
		}
		e.unloadIdle(time.Now())
		time.Sleep(time.Millisecond)
	}
	code, body := c.postJSON(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: busy, SeqID: 1, AdamParams: protocol.DefaultAdamParams()})
	if code != 404 || !strings.Contains(errText(body), "unloaded after 1h0m0s without requests") {
		t.Fatalf("idle model: %d %s", code, body)
	}
	c.awaitJSON(c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: 2, AdamParams: protocol.DefaultAdamParams()}), nil)
}
