package protocol

import "testing"

func benchRequest() *ForwardBackwardRequest {
	data := make([]Datum, 1024)
	for i := range data {
		toks := make([]int32, 512)
		tt := make([]int64, 512)
		w := make([]float32, 512)
		for j := range toks {
			toks[j], tt[j], w[j] = int32(j%288), int64((j+1)%288), 1
		}
		data[i] = Datum{ModelInput: FromTokens(toks), LossFnInputs: map[string]TensorData{"target_tokens": Int64Tensor(tt), "weights": Float32Tensor(w)}}
	}
	return &ForwardBackwardRequest{ModelID: "m", SeqID: 1, Data: data, LossFn: LossCrossEntropy}
}

// BenchmarkDecodeForwardBackward1024x512 is the server side of the request
// the client benchmark encodes.
func BenchmarkDecodeForwardBackward1024x512(b *testing.B) {
	buf, _ := EncodeForwardBackwardRequest(benchRequest())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeForwardBackwardRequest(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate1024x512(b *testing.B) {
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateForwardBackward(r.Data, r.LossFn, nil); err != nil {
			b.Fatal(err)
		}
	}
}
