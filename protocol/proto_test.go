package protocol

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hand-assembled from the field numbers in ProtoSchema.
const fbRequestVector = `
0a 01 6d                      # model_id "m"
10 01                         # seq_id 1
1a 4e                         # data[0], 78 bytes
  0a 0c 0a 0a 0a 08 01000000 02000000          # model_input: encoded_text tokens [1,2]
  12 25 0a 0d 7461726765745f746f6b656e73       # loss_fn_inputs entry "target_tokens"
        12 14 0a 10 0200000000000000 0300000000000000 18 02
  12 17 0a 07 77656967687473                   # entry "weights"
        12 0c 0a 08 0000803f 0000003f 18 01
22 0d 63726f73735f656e74726f7079               # loss_fn "cross_entropy"
30 01                                          # forward_only
`

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return strings.Join(out, " ")
}

func sampleFBRequest() *ForwardBackwardRequest {
	return &ForwardBackwardRequest{
		ModelID: "m", SeqID: 1, LossFn: LossCrossEntropy, ForwardOnly: true,
		Data: []Datum{{
			ModelInput: FromTokens([]int32{1, 2}),
			LossFnInputs: map[string]TensorData{
				"target_tokens": Int64Tensor([]int64{2, 3}),
				"weights":       Float32Tensor([]float32{1, 0.5}),
			},
		}},
	}
}

func TestEncodeForwardBackwardRequestVector(t *testing.T) {
	want := unhex(t, stripComments(fbRequestVector))
	got, err := EncodeForwardBackwardRequest(sampleFBRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}
	dec, err := DecodeForwardBackwardRequest(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dec, sampleFBRequest()) {
		t.Fatalf("decode mismatch: %+v", dec)
	}
}

func TestForwardBackwardRequestRoundTripAllChunkKinds(t *testing.T) {
	et := int32(4)
	r := &ForwardBackwardRequest{
		ModelID: "sess:train:0", SeqID: 7, LossFn: LossPPO,
		LossFnConfig: map[string]float64{ConfigClipLow: 0.7, ConfigClipHigh: 1.3},
		Data: []Datum{{
			ModelInput: ModelInput{Chunks: []Chunk{
				TextChunk([]int32{10, 11}),
				{Type: ChunkImage, Data: []byte{1, 2, 3}, Format: "png", ExpectedTokens: &et},
				{Type: ChunkDmel, Dmel: []byte{254, 1, 1, 2}},
				TextChunk([]int32{}),
			}},
			LossFnInputs: map[string]TensorData{
				"target_tokens": {DType: DTypeInt64, Int64: []int64{0, 5, 0, 0, 0, 0, 0, 9}, Shape: []int64{8}},
				"weights": {DType: DTypeFloat32, Float32: []float32{1, 2}, Shape: []int64{8, 3},
					SparseCrowIndices: []int64{0, 1, 1, 1, 1, 1, 1, 1, 2}, SparseColIndices: []int64{0, 2}},
				"advantages": Float32Tensor([]float32{}),
			},
		}},
	}
	b, err := EncodeForwardBackwardRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeForwardBackwardRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data[0].ModelInput, r.Data[0].ModelInput) {
		t.Fatalf("model input: %+v", got.Data[0].ModelInput)
	}
	for k, v := range r.Data[0].LossFnInputs {
		g := got.Data[0].LossFnInputs[k]
		if g.Len() != v.Len() || !reflect.DeepEqual(g.Shape, v.Shape) || !reflect.DeepEqual(g.SparseColIndices, v.SparseColIndices) || g.DType != v.DType {
			t.Fatalf("%s: got %+v want %+v", k, g, v)
		}
	}
	if got.LossFnConfig[ConfigClipHigh] != 1.3 || got.SeqID != 7 || got.LossFn != LossPPO {
		t.Fatalf("header fields: %+v", got)
	}
	// Deterministic: encoding twice gives identical bytes (sorted maps).
	b2, _ := EncodeForwardBackwardRequest(r)
	if !bytes.Equal(b, b2) {
		t.Fatal("encoding not deterministic")
	}
	n, _ := got.Data[0].ModelInput.Length()
	if n != 2+4+2 {
		t.Fatalf("length %d", n)
	}
}

func TestEncodeRejectsAssetPointer(t *testing.T) {
	r := &ForwardBackwardRequest{ModelID: "m", SeqID: 1, LossFn: "cross_entropy", Data: []Datum{
		{ModelInput: FromTokens([]int32{1})},
		{ModelInput: ModelInput{Chunks: []Chunk{{Type: ChunkImageAssetPointer, Location: "x"}}}},
	}}
	_, err := EncodeForwardBackwardRequest(r)
	if err == nil || !strings.Contains(err.Error(), "datum 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeForwardBackwardRequestErrors(t *testing.T) {
	good := unhex(t, stripComments(fbRequestVector))
	for i := 1; i < len(good); i++ {
		if _, err := DecodeForwardBackwardRequest(good[:i]); err == nil {
			// some prefixes end on a field boundary and are valid messages
			continue
		}
	}
	if _, err := DecodeForwardBackwardRequest([]byte{0x1a, 0x05, 0x0a}); err == nil {
		t.Fatal("truncated datum accepted")
	}
	if _, err := DecodeForwardBackwardRequest([]byte{0x12, 0x01, 0x00}); err == nil {
		t.Fatal("wrong wire type accepted")
	}
}

func TestSampleResponseVector(t *testing.T) {
	want := unhex(t, `0a0e 0801 1204 05000000 1a04 000000bf
		1208 0000c07f 000080bf
		1a10 0a04 07000000 1204 0000803f 1801 2001
		2003`)
	r := &SampleResponse{
		Sequences:            []SampledSequence{{StopReason: StopReasonLength, Tokens: []int32{5}, Logprobs: []float32{-0.5}}},
		PromptLogprobs:       []float32{math.Float32frombits(0x7fc00000), -1},
		TopkPromptLogprobs:   &TopkPromptLogprobs{TokenIDs: []int32{7}, Logprobs: []float32{1}, K: 1, PromptLength: 1},
		PromptCacheHitTokens: 3,
	}
	got, err := EncodeSampleResponse(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}
	dec, err := DecodeSampleResponse(want)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(dec.PromptLogprobs[0])) || dec.PromptLogprobs[1] != -1 {
		t.Fatalf("prompt logprobs %v", dec.PromptLogprobs)
	}
	dec.PromptLogprobs, r.PromptLogprobs = nil, nil
	if !reflect.DeepEqual(dec, r) {
		t.Fatalf("decode mismatch %+v", dec)
	}
	// STOP (enum 0) is omitted on the wire and decodes as "stop".
	b, _ := EncodeSampleResponse(&SampleResponse{Sequences: []SampledSequence{{StopReason: StopReasonStop, Tokens: []int32{1}}}})
	if !bytes.Equal(b, unhex(t, "0a06 1204 01000000")) {
		t.Fatalf("stop seq: %x", b)
	}
	d2, err := DecodeSampleResponse(b)
	if err != nil || d2.Sequences[0].StopReason != StopReasonStop || d2.Sequences[0].Logprobs != nil || d2.PromptLogprobs != nil {
		t.Fatalf("%+v %v", d2, err)
	}
	if _, err := DecodeSampleResponse(unhex(t, "0a02 0809")); err == nil {
		t.Fatal("unknown stop reason accepted")
	}
	if _, err := EncodeSampleResponse(&SampleResponse{Sequences: []SampledSequence{{StopReason: "eos"}}}); err == nil {
		t.Fatal("bad stop reason encoded")
	}
}

func TestForwardBackwardOutputVector(t *testing.T) {
	want := unhex(t, `0a0b 41727261795265636f7264
		122e 122a 0a08 6c6f6770726f6273
		          121e 0a08 000080bf 000000c0 1210 0000000000000000 0800000000000000 1801
		     1801
		1a13 0a08 6c6f73733a73756d 11 0000000000000840`)
	out := &ForwardBackwardOutput{
		LossFnOutputType: "ArrayRecord",
		LossFnOutputs:    []map[string]TensorData{{"logprobs": {DType: DTypeFloat32, Float32: []float32{-1, -2}, Shape: []int64{2}}}},
		Metrics:          map[string]float64{"loss:sum": 3},
	}
	got, err := EncodeForwardBackwardOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}
	dec, err := DecodeForwardBackwardOutput(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dec, out) {
		t.Fatalf("decode mismatch %+v", dec)
	}
}

func TestDecodeForwardBackwardOutputWideningAndRecords(t *testing.T) {
	// Two ArrayRecords: the first bf16 "x" with trailing shape [2] for one
	// datum of 2x2, the second int32 field for one datum; the module prefix
	// of loss_fn_output_type is dropped.
	bf := func(f float32) []byte { u := math.Float32bits(f) >> 16; return []byte{byte(u), byte(u >> 8)} }
	var data []byte
	for _, f := range []float32{1, -2, 0.5, 4} {
		data = append(data, bf(f)...)
	}
	bt := append([]byte{0x0a, byte(len(data))}, data...)
	bt = append(bt, 0x12, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x18, 0x04, 0x22, 0x01, 0x02)
	entry := append([]byte{0x0a, 0x01, 'x', 0x12, byte(len(bt))}, bt...)
	rec1 := append([]byte{0x12, byte(len(entry))}, entry...)
	rec1 = append(rec1, 0x18, 0x01)
	bt2 := []byte{0x0a, 0x04, 0xff, 0xff, 0xff, 0xff, 0x12, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x18, 0x03}
	entry2 := append([]byte{0x0a, 0x01, 'x', 0x12, byte(len(bt2))}, bt2...)
	rec2 := append([]byte{0x12, byte(len(entry2))}, entry2...)
	rec2 = append(rec2, 0x18, 0x01)
	typ := "mod.sub:ArrayRecord"
	msg := append([]byte{0x0a, byte(len(typ))}, typ...)
	msg = append(msg, 0x12, byte(len(rec1)))
	msg = append(msg, rec1...)
	msg = append(msg, 0x12, byte(len(rec2)))
	msg = append(msg, rec2...)
	out, err := DecodeForwardBackwardOutput(msg)
	if err != nil {
		t.Fatal(err)
	}
	if out.LossFnOutputType != "ArrayRecord" || len(out.LossFnOutputs) != 2 {
		t.Fatalf("%+v", out)
	}
	x := out.LossFnOutputs[0]["x"]
	if !reflect.DeepEqual(x.Float32, []float32{1, -2, 0.5, 4}) || !reflect.DeepEqual(x.Shape, []int64{2, 2}) {
		t.Fatalf("bf16 datum: %+v", x)
	}
	// the int32 record's field widens to int64 (-1); datum 1 takes its own
	// values though the meta (dtype) is from the first record.
	x1 := out.LossFnOutputs[1]["x"]
	if x1.Len() != 1 {
		t.Fatalf("datum1: %+v", x1)
	}
}

func TestNumDatumsAuthoritativeWithoutFields(t *testing.T) {
	// One ArrayRecord with no fields but num_datums 3.
	msg := []byte{0x12, 0x02, 0x18, 0x03, 0x1a, 0x13, 0x0a, 0x08, 'l', 'o', 's', 's', ':', 's', 'u', 'm', 0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}
	out, err := DecodeForwardBackwardOutput(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LossFnOutputs) != 3 || out.Metrics["loss:sum"] != 1 {
		t.Fatalf("%+v", out)
	}
}
