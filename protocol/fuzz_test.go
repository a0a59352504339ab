package protocol

import (
	"encoding/json"
	"testing"
)

// The decoders face bytes from the network: they must return errors, never
// panic, on anything.

func FuzzDecodeForwardBackwardRequest(f *testing.F) {
	b, _ := EncodeForwardBackwardRequest(sampleFBRequest())
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeForwardBackwardRequest(b)
		if err != nil {
			return
		}
		for i := range r.Data {
			_ = ValidateDatum(i, &r.Data[i], r.LossFn)
			_ = EstimateDatumBytes(&r.Data[i])
		}
		if _, err := EncodeForwardBackwardRequest(r); err != nil {
			return
		}
	})
}

func FuzzDecodeForwardBackwardOutput(f *testing.F) {
	b, _ := EncodeForwardBackwardOutput(&ForwardBackwardOutput{LossFnOutputs: []map[string]TensorData{{"logprobs": Float32Tensor([]float32{-1, -2})}}, Metrics: map[string]float64{"loss:sum": 1}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodeForwardBackwardOutput(b)
		if err != nil {
			return
		}
		for _, m := range out.LossFnOutputs {
			for _, td := range m {
				_, _ = td.Dense()
				_, _ = json.Marshal(td)
			}
		}
	})
}

func FuzzDecodeSampleResponse(f *testing.F) {
	b, _ := EncodeSampleResponse(&SampleResponse{Sequences: []SampledSequence{{StopReason: "length", Tokens: []int32{1}, Logprobs: []float32{-1}}},
		TopkPromptLogprobs: &TopkPromptLogprobs{TokenIDs: []int32{3}, Logprobs: []float32{-1}, K: 1, PromptLength: 1}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeSampleResponse(b)
		if err != nil {
			return
		}
		if _, err := EncodeSampleResponse(r); err != nil {
			t.Fatalf("decoded response does not re-encode: %v", err)
		}
		_, _ = json.Marshal(r)
	})
}

func FuzzTensorJSON(f *testing.F) {
	f.Add([]byte(`{"data":[1,2,3],"dtype":"int64","shape":[3]}`))
	f.Add([]byte(`{"data":[1.5],"sparse_crow_indices":[0,1],"sparse_col_indices":[0],"shape":[1,1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var td TensorData
		if json.Unmarshal(b, &td) != nil {
			return
		}
		_ = td.Check()
		_, _ = td.Dense()
	})
}
