package backend

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/tkx-dev/tkx/protocol"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// jsonResult wraps a JSON-only result.
func jsonResult(v any) (*Result, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, serverErr("encoding result: %v", err)
	}
	return &Result{Value: v, JSON: b}, nil
}

// fbResult encodes a forward(_backward) output as ForwardBackwardOutput, in
// protobuf and in the old JSON form.
func fbResult(out *FBOutput) (*Result, error) {
	resp := &protocol.ForwardBackwardOutput{LossFnOutputType: "ArrayRecord", Metrics: map[string]float64{}}
	for k, v := range out.Metrics {
		resp.Metrics[k] = v
	}
	for _, lp := range out.Logprobs {
		resp.LossFnOutputs = append(resp.LossFnOutputs, map[string]protocol.TensorData{"logprobs": protocol.Float32Tensor(lp)})
	}
	pb, err := protocol.EncodeForwardBackwardOutput(resp)
	if err != nil {
		return nil, serverErr("encoding forward_backward output: %v", err)
	}
	return &Result{Value: resp, Proto: pb}, nil
}

// sampleResult encodes a SampleOutput as SampleResponse.
func sampleResult(out *SampleOutput, spec SampleSpec) (*Result, error) {
	resp := &protocol.SampleResponse{}
	for _, s := range out.Sequences {
		reason := s.StopReason
		if reason == "" {
			reason = protocol.StopReasonLength
		}
		resp.Sequences = append(resp.Sequences, protocol.SampledSequence{StopReason: reason, Tokens: s.Tokens, Logprobs: s.Logprobs})
	}
	if spec.PromptLogprobs {
		resp.PromptLogprobs = out.PromptLogprobs
		if len(resp.PromptLogprobs) > 0 {
			resp.PromptLogprobs[0] = float32(math.NaN())
		}
	}
	if k := spec.TopKPromptLogprobs; k > 0 {
		n := len(spec.Prompt)
		t := &protocol.TopkPromptLogprobs{K: k, PromptLength: n, TokenIDs: make([]int32, n*k), Logprobs: make([]float32, n*k)}
		for i := 0; i < n; i++ {
			for j := 0; j < k; j++ {
				id, lp := int32(0), float32(protocol.TopkEmptyLogprob)
				if i < len(out.TopKIDs) && j < len(out.TopKIDs[i]) {
					id, lp = out.TopKIDs[i][j], out.TopKLogprobs[i][j]
				}
				t.TokenIDs[i*k+j], t.Logprobs[i*k+j] = id, lp
			}
		}
		resp.TopkPromptLogprobs = t
	}
	pb, err := protocol.EncodeSampleResponse(resp)
	if err != nil {
		return nil, serverErr("encoding sample response: %v", err)
	}
	return &Result{Value: resp, Proto: pb}, nil
}
