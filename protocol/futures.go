package protocol

import (
	"encoding/json"
)

// UntypedAPIFuture is what a future endpoint answers (202): the id to poll.
type UntypedAPIFuture struct {
	RequestID string `json:"request_id"`
	ModelID   string `json:"model_id,omitempty"`
}

// RetrieveFutureRequest is POST /retrieve_future.
type RetrieveFutureRequest struct {
	RequestID         string `json:"request_id"`
	AllowMetadataOnly bool   `json:"allow_metadata_only"`
}

// Queue states reported by try_again.
const (
	QueueStateActive          = "active"
	QueueStatePausedCapacity  = "paused_capacity"
	QueueStatePausedRateLimit = "paused_rate_limit"
)

// TryAgainResponse means "not ready yet, poll again".
type TryAgainResponse struct {
	Type             string `json:"type"` // "try_again"
	RequestID        string `json:"request_id"`
	QueueState       string `json:"queue_state"`
	QueueStateReason string `json:"queue_state_reason,omitempty"`
}

// MarshalJSON fills the type.
func (r TryAgainResponse) MarshalJSON() ([]byte, error) {
	type plain TryAgainResponse
	r.Type = "try_again"
	if r.QueueState == "" {
		r.QueueState = QueueStateActive
	}
	return json.Marshal(plain(r))
}

// CompleteMetadataResponse is sent instead of the result when the client
// allowed metadata only: the result is ready and this large.
type CompleteMetadataResponse struct {
	Status              string `json:"status"` // "complete_metadata"
	ResponsePayloadSize int64  `json:"response_payload_size"`
}

// MarshalJSON fills the status.
func (r CompleteMetadataResponse) MarshalJSON() ([]byte, error) {
	type plain CompleteMetadataResponse
	r.Status = "complete_metadata"
	return json.Marshal(plain(r))
}

// Error categories of RequestFailedResponse.
const (
	CategoryUnknown = "unknown"
	CategoryServer  = "server"
	CategoryUser    = "user"
)

// RequestFailedResponse is a failed future's result ({"error","category"}).
// Servers may also use it as the body of 4xx/5xx answers.
type RequestFailedResponse struct {
	Error    string `json:"error"`
	Category string `json:"category"`
}

// FutureBodyKind classifies a retrieve_future JSON body.
type FutureBodyKind int

// Kinds of retrieve_future answers.
const (
	FutureResult           FutureBodyKind = iota // anything else: the result JSON
	FutureTryAgain                               // {"type":"try_again",…}
	FutureCompleteMetadata                       // {"status":"complete_metadata",…}
	FutureFailed                                 // {"error":…,"category":…}
)

// FutureBody is a parsed retrieve_future JSON body.
type FutureBody struct {
	Kind     FutureBodyKind
	TryAgain TryAgainResponse
	Metadata CompleteMetadataResponse
	Failed   RequestFailedResponse
}

// ClassifyFutureBody decides what a retrieve_future JSON body is. It fails
// only when the body is not a JSON object.
func ClassifyFutureBody(b []byte) (FutureBody, error) {
	var probe struct {
		Type                string  `json:"type"`
		Status              string  `json:"status"`
		Error               *string `json:"error"`
		Category            string  `json:"category"`
		RequestID           string  `json:"request_id"`
		QueueState          string  `json:"queue_state"`
		QueueStateReason    string  `json:"queue_state_reason"`
		ResponsePayloadSize int64   `json:"response_payload_size"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return FutureBody{}, err
	}
	switch {
	case probe.Type == "try_again":
		return FutureBody{Kind: FutureTryAgain, TryAgain: TryAgainResponse{Type: probe.Type, RequestID: probe.RequestID, QueueState: probe.QueueState, QueueStateReason: probe.QueueStateReason}}, nil
	case probe.Status == "complete_metadata":
		return FutureBody{Kind: FutureCompleteMetadata, Metadata: CompleteMetadataResponse{Status: probe.Status, ResponsePayloadSize: probe.ResponsePayloadSize}}, nil
	case probe.Error != nil && probe.Category != "":
		return FutureBody{Kind: FutureFailed, Failed: RequestFailedResponse{Error: *probe.Error, Category: probe.Category}}, nil
	}
	return FutureBody{Kind: FutureResult}, nil
}

// QueueStateReasonDefault is the SDK's default reason text for a queue
// state when the server gives none.
func QueueStateReasonDefault(state string, sampler bool) string {
	switch state {
	case QueueStatePausedRateLimit:
		if sampler {
			return "concurrent sampler weights limit hit"
		}
		return "concurrent training clients rate limit hit"
	case QueueStatePausedCapacity:
		return "Tinker backend is running short on capacity"
	}
	return ""
}

// ---------------------------------------------------------------------------
// Sampling results

// Stop reasons of a sampled sequence.
const (
	StopReasonStop   = "stop"
	StopReasonLength = "length"
)

// SampledSequence is one sample.
type SampledSequence struct {
	StopReason string    `json:"stop_reason"`
	Tokens     []int32   `json:"tokens"`
	Logprobs   []float32 `json:"logprobs,omitempty"` // nil when absent
}

// TopkPromptLogprobs are the top-k candidates at each prompt position,
// row-major PromptLength×K; empty cells are (0, -99999).
type TopkPromptLogprobs struct {
	TokenIDs     []int32
	Logprobs     []float32
	K            int
	PromptLength int
}

// TopkEmptyLogprob marks an empty top-k cell.
const TopkEmptyLogprob = -99999.0

// SampleResponse is asample's result. PromptLogprobs is nil when not
// requested, and holds NaN where there is no value (the first token).
type SampleResponse struct {
	Sequences            []SampledSequence
	PromptLogprobs       []float32
	TopkPromptLogprobs   *TopkPromptLogprobs
	PromptCacheHitTokens int32
}

// MarshalJSON writes the old JSON form of SampleResponse:
// prompt_logprobs as [float|null], topk as [[[tok,lp],…]|null].
func (r SampleResponse) MarshalJSON() ([]byte, error) {
	type seq struct {
		StopReason string     `json:"stop_reason"`
		Tokens     []int32    `json:"tokens"`
		Logprobs   []*float64 `json:"logprobs,omitempty"`
	}
	out := struct {
		Sequences            []seq          `json:"sequences"`
		Type                 string         `json:"type"`
		PromptLogprobs       []*float64     `json:"prompt_logprobs,omitempty"`
		TopkPromptLogprobs   [][][2]float64 `json:"topk_prompt_logprobs,omitempty"`
		PromptCacheHitTokens int32          `json:"prompt_cache_hit_tokens"`
	}{Type: "sample", PromptCacheHitTokens: r.PromptCacheHitTokens, Sequences: []seq{}}
	for _, s := range r.Sequences {
		toks := s.Tokens
		if toks == nil {
			toks = []int32{}
		}
		out.Sequences = append(out.Sequences, seq{s.StopReason, toks, nullableFloats(s.Logprobs)})
	}
	out.PromptLogprobs = nullableFloats(r.PromptLogprobs)
	if t := r.TopkPromptLogprobs; t != nil {
		for i := 0; i < t.PromptLength; i++ {
			row := make([][2]float64, 0, t.K)
			for k := 0; k < t.K; k++ {
				row = append(row, [2]float64{float64(t.TokenIDs[i*t.K+k]), float64(t.Logprobs[i*t.K+k])})
			}
			out.TopkPromptLogprobs = append(out.TopkPromptLogprobs, row)
		}
	}
	return json.Marshal(out)
}

func nullableFloats(xs []float32) []*float64 {
	if xs == nil {
		return nil
	}
	out := make([]*float64, len(xs))
	for i, v := range xs {
		if v == v { // not NaN
			f := float64(v)
			out[i] = &f
		}
	}
	return out
}
