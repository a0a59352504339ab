package protocol

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestRequestJSONDefaultsAndType(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{OptimStepRequest{AdamParams: DefaultAdamParams(), ModelID: "m", SeqID: 2},
			`{"adam_params":{"learning_rate":0.0001,"beta1":0.9,"beta2":0.95,"eps":1e-12,"weight_decay":0,"grad_clip_norm":0},"model_id":"m","seq_id":2,"type":"optim_step"}`},
		{CreateSessionRequest{SDKVersion: SDKVersion},
			`{"tags":[],"user_metadata":{},"sdk_version":"0.25.0","type":"create_session"}`},
		{CreateModelRequest{SessionID: "s", ModelSeqID: 0, BaseModel: "b", LoraConfig: &LoraConfig{Rank: 8, TrainMLP: true}},
			`{"session_id":"s","model_seq_id":0,"base_model":"b","lora_config":{"rank":8,"train_unembed":false,"train_mlp":true,"train_attn":false},"type":"create_model"}`},
		{SaveWeightsForSamplerRequest{ModelID: "m", SeqID: 3, SamplingSessionSeqID: new(int)},
			`{"model_id":"m","seq_id":3,"sampling_session_seq_id":0,"type":"save_weights_for_sampler"}`},
		{SampleRequest{NumSamples: 1, Prompt: FromTokens([]int32{1, 2}), SamplingParams: DefaultSamplingParams(), SamplingSessionID: "s:sample:0"},
			`{"num_samples":1,"prompt":{"chunks":[{"tokens":[1,2],"type":"encoded_text"}]},"sampling_params":{"temperature":1,"top_k":-1,"top_p":1},"sampling_session_id":"s:sample:0","seq_id":0,"prompt_logprobs":false,"topk_prompt_logprobs":0,"type":"sample"}`},
		{SetCheckpointTTLRequest{}, `{"ttl_seconds":null}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%T:\n got %s\nwant %s", c.v, b, c.want)
		}
	}
}

func TestUnmarshalDefaults(t *testing.T) {
	var a AdamParams
	if err := json.Unmarshal([]byte(`{"learning_rate":0.01}`), &a); err != nil || a.Beta2 != 0.95 || a.LearningRate != 0.01 {
		t.Fatalf("%+v %v", a, err)
	}
	var s SamplingParams
	if err := json.Unmarshal([]byte(`{"max_tokens":5,"stop":["\n"]}`), &s); err != nil || s.Temperature != 1 || s.TopK != -1 || *s.MaxTokens != 5 || s.Stop.Strings[0] != "\n" {
		t.Fatalf("%+v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"stop":[1,2]}`), &s); err != nil || len(s.Stop.Tokens) != 2 {
		t.Fatalf("%+v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"stop":"x"}`), &s); err != nil || !s.Stop.Single {
		t.Fatalf("%+v %v", s, err)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"stop":"x"`) {
		t.Fatal(string(b))
	}
	var l LoraConfig
	if err := json.Unmarshal([]byte(`{"rank":4}`), &l); err != nil || !l.TrainAttn || !l.TrainMLP || !l.TrainUnembed {
		t.Fatalf("%+v", l)
	}
	var c ClientConfigResponse
	if err := json.Unmarshal([]byte(`{"pjwt_auth_enabled":true,"unknown_flag":1}`), &c); err != nil || !c.PJWTAuthEnabled || c.FwdbwdMaxChunkLen != 1024 || !c.ParallelFwdbwdChunks {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestTensorDataJSON(t *testing.T) {
	td := TensorData{DType: DTypeFloat32, Float32: []float32{1.5, float32(math.NaN()), -0.25}, Shape: []int64{3}}
	b, err := json.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"data":[1.5,null,-0.25],"dtype":"float32","shape":[3]}` {
		t.Fatal(string(b))
	}
	var back TensorData
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back.Float32[1])) || back.Float32[2] != -0.25 {
		t.Fatalf("%+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"data":[1,2,3]}`), &back); err != nil || back.DType != DTypeInt64 || back.Int64[2] != 3 {
		t.Fatalf("%+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"data":[1.5],"dtype":"int64"}`), &back); err == nil {
		t.Fatal("fractional int64 accepted")
	}
	var d Datum
	if err := json.Unmarshal([]byte(`{"model_input":{"chunks":[{"type":"encoded_text","tokens":[1,2]}]},"loss_fn_inputs":{"weights":{"data":[1,0],"dtype":"float32"}}}`), &d); err != nil {
		t.Fatal(err)
	}
	if err := ValidateDatum(0, &d, LossCrossEntropy); err == nil || !strings.Contains(err.Error(), "target_tokens") {
		t.Fatalf("missing target_tokens not reported: %v", err)
	}
}

func TestValidateDatumNamesIndexAndField(t *testing.T) {
	good := Datum{ModelInput: FromTokens([]int32{1, 2, 3}), LossFnInputs: map[string]TensorData{
		"target_tokens": Int64Tensor([]int64{2, 3, 4}), "weights": Float32Tensor([]float32{1, 1, 1})}}
	bad := Datum{ModelInput: FromTokens([]int32{1, 2, 3}), LossFnInputs: map[string]TensorData{
		"target_tokens": Int64Tensor([]int64{2, 3, 4}), "weights": Float32Tensor([]float32{1, 1})}}
	err := ValidateForwardBackward([]Datum{good, good, bad}, LossCrossEntropy, nil)
	if err == nil || err.Error() != `datum 2: loss_fn_inputs["weights"]: has 2 elements, model_input has 3 tokens` {
		t.Fatalf("err = %v", err)
	}
	if err := ValidateForwardBackward([]Datum{good}, LossCrossEntropy, nil); err != nil {
		t.Fatal(err)
	}
	extra := Datum{ModelInput: good.ModelInput, LossFnInputs: map[string]TensorData{
		"target_tokens": Int64Tensor([]int64{2, 3, 4}), "advantages": Float32Tensor([]float32{1, 1, 1})}}
	if err := ValidateDatum(0, &extra, LossCrossEntropy); err == nil || !strings.Contains(err.Error(), `"advantages"`) {
		t.Fatalf("err = %v", err)
	}
	if err := ValidateForwardBackward([]Datum{good}, LossPPO, map[string]float64{"bogus": 1}); err == nil {
		t.Fatal("unknown config key accepted")
	}
	ft := Datum{ModelInput: good.ModelInput, LossFnInputs: map[string]TensorData{"target_tokens": Float32Tensor([]float32{1, 2, 3})}}
	if err := ValidateDatum(4, &ft, LossCrossEntropy); err == nil || !strings.HasPrefix(err.Error(), "datum 4:") {
		t.Fatalf("err = %v", err)
	}
	if err := ValidateTokens(0, &good, 4); err == nil || !strings.Contains(err.Error(), "= 4 out of range") {
		t.Fatalf("err = %v", err)
	}
}

func TestReduceMetrics(t *testing.T) {
	chunks := []map[string]float64{
		{"loss:sum": 1, "acc:mean": 1, "lo:min": 3, "hi:max": 3, "s:slack": 1, "u:unique": 7, "h:hash_unordered": 5, "bad:nope": 1, "only:sum": 1},
		{"loss:sum": 2, "acc:mean": 0, "lo:min": 1, "hi:max": 9, "s:slack": 4, "u:unique": 8, "h:hash_unordered": 6, "bad:nope": 1},
	}
	got, err := ReduceMetrics(chunks, []float64{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"loss:sum": 3, "acc:mean": 0.75, "lo:min": 1, "hi:max": 9, "s:slack": 4 - 1.75, "u:unique": 7, "u:unique_1": 8, "h:hash_unordered": 11}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-12 {
			t.Errorf("%s = %v want %v", k, got[k], v)
		}
	}
	if _, err := ReduceMetrics([]map[string]float64{{"a:b:c": 1}}, nil); err == nil {
		t.Fatal("two colons accepted")
	}
	if _, err := ReduceMetrics([]map[string]float64{{"loss": 1}}, nil); err == nil {
		t.Fatal("no colon accepted")
	}
}

func TestChunkData(t *testing.T) {
	mk := func(n int) Datum { return Datum{ModelInput: FromTokens(make([]int32, n))} }
	data := []Datum{mk(10), mk(10), mk(10), mk(100), mk(1)}
	got := ChunkData(data, 2, 300)
	want := [][2]int{{0, 2}, {2, 3}, {3, 4}, {4, 5}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v", got)
		}
	}
}

func TestPathsAndTinkerPath(t *testing.T) {
	if p := CheckpointPath("s:train:0", "weights/step 1"); p != "/api/v1/training_runs/s:train:0/checkpoints/weights/step%201" {
		t.Fatal(p)
	}
	tp, err := ParseTinkerPath("tinker://run:train:0/sampler_weights/000080")
	if err != nil || tp.TrainingRunID != "run:train:0" || tp.Kind != "sampler_weights" || tp.Name != "000080" || tp.String() != "tinker://run:train:0/sampler_weights/000080" {
		t.Fatalf("%+v %v", tp, err)
	}
	for _, bad := range []string{"run/weights/x", "tinker://run/other/x", "tinker://run/weights/", "tinker:///weights/x"} {
		if _, err := ParseTinkerPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClassifyFutureBody(t *testing.T) {
	cases := map[string]FutureBodyKind{
		`{"type":"try_again","request_id":"r","queue_state":"paused_rate_limit"}`: FutureTryAgain,
		`{"status":"complete_metadata","response_payload_size":12}`:               FutureCompleteMetadata,
		`{"error":"bad","category":"user"}`:                                       FutureFailed,
		`{"model_id":"x","type":"create_model"}`:                                  FutureResult,
	}
	for body, want := range cases {
		got, err := ClassifyFutureBody([]byte(body))
		if err != nil || got.Kind != want {
			t.Errorf("%s: %v %v", body, got.Kind, err)
		}
	}
	if _, err := ClassifyFutureBody([]byte(`[1]`)); err == nil {
		t.Fatal("array accepted")
	}
}

func TestTimeParsing(t *testing.T) {
	for _, s := range []string{"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.123456+00:00", "2025-01-02T03:04:05.5"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestHostileShapesRejected(t *testing.T) {
	td := TensorData{DType: DTypeFloat32, Float32: []float32{1}, Shape: []int64{1, 1 << 40}, SparseCrowIndices: []int64{0, 1}, SparseColIndices: []int64{0}}
	if _, err := td.Dense(); err == nil {
		t.Fatal("huge sparse shape accepted")
	}
	td = TensorData{DType: DTypeFloat32, Float32: []float32{1}, Shape: []int64{1 << 32, 1 << 32}}
	if err := td.Check(); err == nil {
		t.Fatal("overflowing shape accepted")
	}
	neg := int32(-3)
	c := Chunk{Type: ChunkImage, ExpectedTokens: &neg}
	if _, err := c.Length(); err == nil {
		t.Fatal("negative expected_tokens accepted")
	}
}
