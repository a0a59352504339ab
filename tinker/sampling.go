package tinker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"

	"github.com/tkx-dev/tkx/protocol"
)

// SamplingClient samples from a base model or sampler checkpoint. Its
// sampling seq_id starts at 0.
type SamplingClient struct {
	s         *ServiceClient
	id        string
	baseModel string
	modelPath string

	mu  sync.Mutex
	seq int
}

// ID is the sampling session id.
func (sc *SamplingClient) ID() string { return sc.id }

// ModelPath is the sampler checkpoint, if any.
func (sc *SamplingClient) ModelPath() string { return sc.modelPath }

func (sc *SamplingClient) nextSeq() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	n := sc.seq
	sc.seq++
	return n
}

// SampleOptions are the optional parts of a sample request.
type SampleOptions struct {
	PromptLogprobs     bool // include_prompt_logprobs
	TopkPromptLogprobs int
}

// maxSampleResubmits bounds resubmissions of a sample whose future expired.
const maxSampleResubmits = 3

// Sample draws numSamples continuations of prompt. Submit errors are retried
// with back-off; a future that expired (410) is resubmitted whole, up to 3
// times.
func (sc *SamplingClient) Sample(ctx context.Context, prompt ModelInput, numSamples int, params SamplingParams, o SampleOptions) (*Future[*SampleResponse], error) {
	if numSamples < 1 {
		return nil, fmt.Errorf("tinker: sample: num_samples = %d must be ≥ 1", numSamples)
	}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("tinker: sample: %w", err)
	}
	if n, err := prompt.Length(); err != nil {
		return nil, fmt.Errorf("tinker: sample: prompt: %w", err)
	} else if n == 0 {
		return nil, fmt.Errorf("tinker: sample: prompt is empty")
	}
	if o.TopkPromptLogprobs < 0 {
		return nil, fmt.Errorf("tinker: sample: topk_prompt_logprobs = %d must be ≥ 0", o.TopkPromptLogprobs)
	}
	c := sc.s.c
	out := newFuture[*SampleResponse]()
	build := func() []byte {
		b, _ := json.Marshal(protocol.SampleRequest{NumSamples: numSamples, Prompt: prompt, SamplingParams: params, SamplingSessionID: sc.id,
			SeqID: sc.nextSeq(), PromptLogprobs: o.PromptLogprobs, TopkPromptLogprobs: o.TopkPromptLogprobs})
		return b
	}
	first := build()
	go func() {
		pctx, cancel := c.mergeCtx(ctx)
		defer cancel()
		body := first
		for attempt := 0; ; attempt++ {
			f := c.start(pctx, submission{path: protocol.PathASample, body: body, reqType: protocol.RequestTypeSample, proto: true, sampler: true}, out.setQueue)
			out.setRequestID(f.RequestID())
			pr, err := f.Result(pctx)
			var fe *FutureExpiredError
			if errors.As(err, &fe) && attempt < maxSampleResubmits {
				body = build()
				continue
			}
			if err != nil {
				out.resolve(nil, err)
				return
			}
			out.resolve(decodeSample(c, pr))
			return
		}
	}()
	return out, nil
}

// ComputeLogprobs returns the log-probability of each prompt token given
// the ones before it; the first entry is NaN (no value).
func (sc *SamplingClient) ComputeLogprobs(ctx context.Context, prompt ModelInput) (*Future[[]float64], error) {
	p := protocol.DefaultSamplingParams()
	one := 1
	p.MaxTokens = &one
	f, err := sc.Sample(ctx, prompt, 1, p, SampleOptions{PromptLogprobs: true})
	if err != nil {
		return nil, err
	}
	out := newFuture[[]float64]()
	go func() {
		<-f.Wait()
		out.setRequestID(f.RequestID())
		res, err := f.Result(context.Background())
		if err != nil {
			out.resolve(nil, err)
			return
		}
		if res.PromptLogprobs == nil {
			out.resolve(nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathRetrieveFuture, Err: errors.New("sample result has no prompt_logprobs")})
			return
		}
		v := make([]float64, len(res.PromptLogprobs))
		for i, x := range res.PromptLogprobs {
			v[i] = float64(x)
			if x != x {
				v[i] = math.NaN()
			}
		}
		out.resolve(v, nil)
	}()
	return out, nil
}

// GetBaseModel returns the base model (GET /samplers/{id} when unknown).
func (sc *SamplingClient) GetBaseModel(ctx context.Context) (string, error) {
	if sc.baseModel != "" {
		return sc.baseModel, nil
	}
	info, err := sc.s.CreateRestClient().GetSampler(ctx, sc.id)
	if err != nil {
		return "", err
	}
	sc.baseModel = info.BaseModel
	return info.BaseModel, nil
}
