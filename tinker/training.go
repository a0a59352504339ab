package tinker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tkx-dev/tkx/protocol"
)

// Aliases so Go callers need not import protocol for everyday types.
type (
	Datum                 = protocol.Datum
	ModelInput            = protocol.ModelInput
	TensorData            = protocol.TensorData
	AdamParams            = protocol.AdamParams
	SamplingParams        = protocol.SamplingParams
	LoraConfig            = protocol.LoraConfig
	ForwardBackwardOutput = protocol.ForwardBackwardOutput
	SampleResponse        = protocol.SampleResponse
)

// submission is one POST of a future endpoint.
type submission struct {
	path        string
	body        []byte
	contentType string
	reqType     string
	proto       bool   // result is protobuf
	sampler     bool   // sampling request (backpressure header, sampler queue texts)
	encoding    string // Content-Encoding of body ("zstd" or "")
}

// mergeCtx returns a context cancelled by either ctx or the client closing.
func (c *core) mergeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	m, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return m, func() { stop(); cancel() }
}

// post submits one future request (with submit retries) and returns the
// future id and the round-trip time.
func (c *core) post(ctx context.Context, sub submission) (protocol.UntypedAPIFuture, time.Duration, error) {
	if err := c.maybeRefreshJWT(ctx); err != nil {
		return protocol.UntypedAPIFuture{}, 0, err
	}
	r := &request{method: http.MethodPost, path: sub.path, body: sub.body, contentType: sub.contentType, retry: true, header: http.Header{}}
	if sub.sampler {
		r.header.Set(protocol.HeaderSamplingBackpressure, "1")
	}
	if sub.encoding != "" {
		r.header.Set("Content-Encoding", sub.encoding)
	}
	start := time.Now()
	resp, err := c.do(ctx, r)
	if err != nil {
		return protocol.UntypedAPIFuture{}, 0, err
	}
	var fut protocol.UntypedAPIFuture
	if err := c.decodeJSON(r, resp.body, &fut); err != nil {
		return fut, 0, err
	}
	if fut.RequestID == "" {
		return fut, 0, &MalformedResponseError{Method: r.method, Path: r.path, Err: errors.New("no request_id in answer")}
	}
	return fut, time.Since(start), nil
}

// start POSTs sub (blocking until the server acknowledged it) and then
// polls its result in the background.
func (c *core) start(ctx context.Context, sub submission, onQueue ...func(QueueState)) *Future[pollResult] {
	f := newFuture[pollResult]()
	fut, rtt, err := c.post(ctx, sub)
	if err != nil {
		f.resolve(pollResult{}, err)
		return f
	}
	f.setRequestID(fut.RequestID)
	go func() {
		pctx, cancel := c.mergeCtx(ctx)
		defer cancel()
		report := func(q QueueState) {
			f.setQueue(q)
			for _, fn := range onQueue {
				if fn != nil {
					fn(q)
				}
			}
		}
		f.resolve(c.poll(pctx, pollSpec{requestID: fut.RequestID, requestType: sub.reqType, roundtrip: rtt, proto: sub.proto, sampler: sub.sampler, onQueue: report}))
	}()
	return f
}

// submitAndPoll starts an unordered request in the background.
func submitAndPoll[T any](ctx context.Context, c *core, path string, body []byte, ct, reqType string, proto bool, decode func(*core, pollResult) (T, error)) *Future[T] {
	out := newFuture[T]()
	go func() {
		pctx, cancel := c.mergeCtx(ctx)
		defer cancel()
		pf := c.start(pctx, submission{path: path, body: body, contentType: ct, reqType: reqType, proto: proto}, out.setQueue)
		out.setRequestID(pf.RequestID())
		pr, err := pf.Result(pctx)
		out.setRequestID(pf.RequestID())
		if err != nil {
			var zero T
			out.resolve(zero, err)
			return
		}
		out.resolve(decode(c, pr))
	}()
	return out
}

func decodeJSONResult[T any](c *core, pr pollResult) (*T, error) {
	if protocol.IsProtobufContentType(pr.contentType) {
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathRetrieveFuture, Err: fmt.Errorf("unexpected protobuf result for a JSON request")}
	}
	var v T
	if err := c.decodeJSON(&request{method: http.MethodPost, path: protocol.PathRetrieveFuture}, pr.body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func decodeFBOutput(c *core, pr pollResult) (*protocol.ForwardBackwardOutput, error) {
	if protocol.IsProtobufContentType(pr.contentType) {
		out, err := protocol.DecodeForwardBackwardOutput(pr.body)
		if err != nil {
			return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathRetrieveFuture, Err: err}
		}
		return out, nil
	}
	// Older servers answer JSON (SDK ≤0.24).
	return decodeJSONResult[protocol.ForwardBackwardOutput](c, pr)
}

func decodeSample(c *core, pr pollResult) (*protocol.SampleResponse, error) {
	if !protocol.IsProtobufContentType(pr.contentType) {
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathRetrieveFuture, Err: fmt.Errorf("sample result is not protobuf (content type %q): the server predates the protobuf SampleResponse", pr.contentType)}
	}
	out, err := protocol.DecodeSampleResponse(pr.body)
	if err != nil {
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathRetrieveFuture, Err: err}
	}
	return out, nil
}

// TrainingClient trains one model. Every call that changes the model takes
// the next seq_id (starting at 1) under one lock; requests go on the wire in
// seq_id order and their results are polled concurrently.
type TrainingClient struct {
	s         *ServiceClient
	c         *core
	modelID   string
	baseModel string

	mu       sync.Mutex
	nextSeq  int
	lastSent chan struct{} // closed when the previous request is on the wire
}

func newTrainingClient(s *ServiceClient, modelID, baseModel string) *TrainingClient {
	done := make(chan struct{})
	close(done)
	return &TrainingClient{s: s, c: s.c, modelID: modelID, baseModel: baseModel, nextSeq: 1, lastSent: done}
}

// ModelID is the server's model id (= training run id).
func (tc *TrainingClient) ModelID() string { return tc.modelID }

// BaseModel is the model's base model.
func (tc *TrainingClient) BaseModel() string { return tc.baseModel }

// turn is a reserved slot in the wire order.
type turn struct {
	first int
	prev  chan struct{}
	mine  chan struct{}
}

// reserve allocates n consecutive seq_ids and a place in the send order.
func (tc *TrainingClient) reserve(n int) (turn, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.nextSeq+n-1 > math.MaxInt32 {
		return turn{}, fmt.Errorf("tinker: seq_id %d out of range (max %d)", tc.nextSeq+n-1, math.MaxInt32)
	}
	t := turn{first: tc.nextSeq, prev: tc.lastSent, mine: make(chan struct{})}
	tc.nextSeq += n
	tc.lastSent = t.mine
	return t, nil
}

// waitTurn blocks until the previous request is on the wire.
func waitTurn(ctx context.Context, t turn) error {
	select {
	case <-t.prev:
		return nil
	case <-ctx.Done():
		// Keep the order for later requests: pass the turn on only once
		// the previous request has been sent.
		go func() { <-t.prev; close(t.mine) }()
		return context.Cause(ctx)
	}
}

// sendAll POSTs subs and returns their polling futures. With parallel set
// and several chunks, chunks 2..n are sent concurrently and the first chunk
// last (the server waits for it, then batches); otherwise in order.
func (tc *TrainingClient) sendAll(ctx context.Context, subs []submission, parallel bool, onQueue func(QueueState)) []*Future[pollResult] {
	futs := make([]*Future[pollResult], len(subs))
	if parallel && len(subs) > 1 {
		var wg sync.WaitGroup
		for i := 1; i < len(subs); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				futs[i] = tc.c.start(ctx, subs[i], onQueue)
			}()
		}
		wg.Wait()
		futs[0] = tc.c.start(ctx, subs[0], onQueue)
		return futs
	}
	for i := range subs {
		futs[i] = tc.c.start(ctx, subs[i], onQueue)
	}
	return futs
}

// submitOrdered reserves one seq_id, builds the body, sends it in turn and
// polls the result.
func submitOrdered[T any](ctx context.Context, tc *TrainingClient, path, reqType string, build func(seq int) ([]byte, error), decode func(*core, pollResult) (T, error)) (*Future[T], error) {
	t, err := tc.reserve(1)
	if err != nil {
		return nil, err
	}
	body, err := build(t.first)
	if err != nil {
		go func() { <-t.prev; close(t.mine) }()
		return nil, err
	}
	out := newFuture[T]()
	go func() {
		pctx, cancel := tc.c.mergeCtx(ctx)
		defer cancel()
		var zero T
		if err := waitTurn(pctx, t); err != nil {
			out.resolve(zero, err)
			return
		}
		f := tc.c.start(pctx, submission{path: path, body: body, reqType: reqType}, out.setQueue)
		close(t.mine)
		out.setRequestID(f.RequestID())
		pr, err := f.Result(pctx)
		if err != nil {
			out.resolve(zero, err)
			return
		}
		out.resolve(decode(tc.c, pr))
	}()
	return out, nil
}

// ForwardBackward runs a forward and backward pass on data with a loss
// (cross_entropy, importance_sampling, ppo, cispo, dro). The batch is
// validated first (a datum whose loss_fn_inputs do not match its tokens is
// an error naming the datum and field), split into chunks of ≤1024 datums
// and ~5 MB, each with its own seq_id, and the results are concatenated
// with metrics reduced by their `name:reduction` suffix.
func (tc *TrainingClient) ForwardBackward(ctx context.Context, data []Datum, lossFn string, lossFnConfig map[string]float64) (*Future[*ForwardBackwardOutput], error) {
	return tc.forwardBackward(ctx, data, lossFn, lossFnConfig, false)
}

// Forward is ForwardBackward without the backward pass (forward_only).
func (tc *TrainingClient) Forward(ctx context.Context, data []Datum, lossFn string, lossFnConfig map[string]float64) (*Future[*ForwardBackwardOutput], error) {
	return tc.forwardBackward(ctx, data, lossFn, lossFnConfig, true)
}

func (tc *TrainingClient) prepareFB(data []Datum, lossFn string, cfg map[string]float64, forwardOnly bool) ([][2]int, error) {
	op := "forward_backward"
	if forwardOnly {
		op = "forward"
	}
	if err := protocol.ValidateForwardBackward(data, lossFn, cfg); err != nil {
		return nil, fmt.Errorf("tinker: %s: %w", op, err)
	}
	for i := range data {
		for j := range data[i].ModelInput.Chunks {
			if data[i].ModelInput.Chunks[j].Type == protocol.ChunkImageAssetPointer {
				return nil, fmt.Errorf("tinker: %s: datum %d: model_input chunk %d: image_asset_pointer cannot be sent in %s", op, i, j, op)
			}
		}
	}
	cc := tc.c.config()
	return protocol.ChunkData(data, cc.FwdbwdMaxChunkLen, int(cc.FwdbwdMaxChunkBytesCount)), nil
}

func (tc *TrainingClient) buildFB(first int, data []Datum, chunks [][2]int, lossFn string, cfg map[string]float64, forwardOnly bool) ([]submission, error) {
	reqType := protocol.RequestTypeForwardBackward
	if forwardOnly {
		reqType = protocol.RequestTypeForward
	}
	subs := make([]submission, len(chunks))
	for i, ch := range chunks {
		body, err := protocol.EncodeForwardBackwardRequest(&protocol.ForwardBackwardRequest{
			ModelID: tc.modelID, SeqID: int32(first + i), Data: data[ch[0]:ch[1]], LossFn: lossFn, LossFnConfig: cfg, ForwardOnly: forwardOnly})
		if err != nil {
			return nil, fmt.Errorf("tinker: encoding chunk %d: %w", i, err)
		}
		sub := submission{path: protocol.PathForwardBackward, body: body, contentType: protocol.ContentTypeProtobuf, reqType: reqType, proto: true}
		if tc.c.config().ProtoCompressFwdbwd {
			sub.body, sub.encoding = compressZstd(body), "zstd"
		}
		subs[i] = sub
	}
	return subs, nil
}

func (tc *TrainingClient) forwardBackward(ctx context.Context, data []Datum, lossFn string, cfg map[string]float64, forwardOnly bool) (*Future[*ForwardBackwardOutput], error) {
	chunks, err := tc.prepareFB(data, lossFn, cfg, forwardOnly)
	if err != nil {
		return nil, err
	}
	t, err := tc.reserve(len(chunks))
	if err != nil {
		return nil, err
	}
	subs, err := tc.buildFB(t.first, data, chunks, lossFn, cfg, forwardOnly)
	if err != nil {
		go func() { <-t.prev; close(t.mine) }()
		return nil, err
	}
	out := newFuture[*ForwardBackwardOutput]()
	go func() {
		pctx, cancel := tc.c.mergeCtx(ctx)
		defer cancel()
		if err := waitTurn(pctx, t); err != nil {
			out.resolve(nil, err)
			return
		}
		futs := tc.sendAll(pctx, subs, tc.c.config().ParallelFwdbwdChunks, out.setQueue)
		close(t.mine)
		out.setRequestID(futs[0].RequestID())
		out.resolve(tc.collectFB(pctx, futs))
	}()
	return out, nil
}

// collectFB waits for every chunk and combines them.
func (tc *TrainingClient) collectFB(ctx context.Context, futs []*Future[pollResult]) (*ForwardBackwardOutput, error) {
	parts := make([]*ForwardBackwardOutput, len(futs))
	for i, f := range futs {
		pr, err := f.Result(ctx)
		if err != nil {
			if len(futs) > 1 {
				return nil, fmt.Errorf("chunk %d of %d: %w", i+1, len(futs), err)
			}
			return nil, err
		}
		p, err := decodeFBOutput(tc.c, pr)
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	out, err := protocol.CombineForwardBackwardOutputs(parts)
	if err != nil {
		return nil, fmt.Errorf("tinker: combining chunk metrics: %w", err)
	}
	return out, nil
}

// CustomLossFunc computes a loss from per-datum logprobs (one per target
// token) and returns the loss, metrics and dLoss/dlogprobs per datum.
type CustomLossFunc func(data []Datum, logprobs [][]float32) (loss float64, metrics map[string]float64, grads [][]float32, err error)

// ForwardBackwardCustom runs a forward pass (cross_entropy, forward_only)
// to get logprobs, calls fn, then runs forward_backward with cross_entropy
// and weights = −grad, returning that output with fn's metrics merged in
// (plus "loss:sum" = fn's loss). Only target_tokens and weights inputs are
// allowed. The seq_ids of both passes are reserved at submission, and later
// requests of this client wait for the backward pass to be on the wire.
func (tc *TrainingClient) ForwardBackwardCustom(ctx context.Context, data []Datum, fn CustomLossFunc) (*Future[*ForwardBackwardOutput], error) {
	fwd := make([]Datum, len(data))
	for i, d := range data {
		for k := range d.LossFnInputs {
			if k != protocol.InputTargetTokens && k != protocol.InputWeights {
				return nil, fmt.Errorf("tinker: forward_backward_custom: datum %d: loss_fn_inputs[%q]: only target_tokens and weights are allowed", i, k)
			}
		}
		tt, ok := d.LossFnInputs[protocol.InputTargetTokens]
		if !ok {
			return nil, fmt.Errorf("tinker: forward_backward_custom: datum %d: loss_fn_inputs lacks %q", i, protocol.InputTargetTokens)
		}
		in := map[string]TensorData{protocol.InputTargetTokens: tt}
		if w, ok := d.LossFnInputs[protocol.InputWeights]; ok {
			in[protocol.InputWeights] = w
		} else {
			in[protocol.InputWeights] = protocol.TensorData{DType: protocol.DTypeFloat32, Float32: make([]float32, tt.Len()), Shape: tt.Shape}
		}
		fwd[i] = Datum{ModelInput: d.ModelInput, LossFnInputs: in}
	}
	chunks, err := tc.prepareFB(fwd, protocol.LossCrossEntropy, nil, true)
	if err != nil {
		return nil, err
	}
	t, err := tc.reserve(2 * len(chunks))
	if err != nil {
		return nil, err
	}
	fsubs, err := tc.buildFB(t.first, fwd, chunks, protocol.LossCrossEntropy, nil, true)
	if err != nil {
		go func() { <-t.prev; close(t.mine) }()
		return nil, err
	}
	out := newFuture[*ForwardBackwardOutput]()
	go func() {
		pctx, cancel := tc.c.mergeCtx(ctx)
		defer cancel()
		if err := waitTurn(pctx, t); err != nil {
			out.resolve(nil, err)
			return
		}
		released := false
		release := func() {
			if !released {
				released = true
				close(t.mine)
			}
		}
		defer release()
		// If anything fails after the forward pass went out, the reserved
		// backward seq_ids are still consumed, by a zero-weight pass (a
		// no-op on the gradients), so the server never waits on a gap.
		backwardSent := false
		defer func() {
			if backwardSent || pctx.Err() != nil {
				return
			}
			zero := make([]Datum, len(fwd))
			for i, d := range fwd {
				tt := d.LossFnInputs[protocol.InputTargetTokens]
				zero[i] = Datum{ModelInput: d.ModelInput, LossFnInputs: map[string]TensorData{protocol.InputTargetTokens: tt,
					protocol.InputWeights: {DType: protocol.DTypeFloat32, Float32: make([]float32, tt.Len()), Shape: tt.Shape}}}
			}
			if zsubs, err := tc.buildFB(t.first+len(chunks), zero, chunks, protocol.LossCrossEntropy, nil, false); err == nil {
				tc.sendAll(pctx, zsubs, tc.c.config().ParallelFwdbwdChunks, nil)
			}
		}()
		ffuts := tc.sendAll(pctx, fsubs, tc.c.config().ParallelFwdbwdChunks, out.setQueue)
		out.setRequestID(ffuts[0].RequestID())
		fres, err := tc.collectFB(pctx, ffuts)
		if err != nil {
			out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: forward pass: %w", err))
			return
		}
		if len(fres.LossFnOutputs) != len(data) {
			out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: forward pass returned %d outputs for %d datums", len(fres.LossFnOutputs), len(data)))
			return
		}
		lps := make([][]float32, len(data))
		for i, o := range fres.LossFnOutputs {
			lp, ok := o[protocol.OutputLogprobs]
			if !ok {
				out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: forward output %d has no logprobs", i))
				return
			}
			v, err := lp.Dense()
			if err != nil {
				out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: forward output %d: %w", i, err))
				return
			}
			lps[i] = v
		}
		loss, metrics, grads, err := fn(data, lps)
		if err != nil {
			out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: loss function: %w", err))
			return
		}
		if len(grads) != len(data) {
			out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: loss function returned %d gradients for %d datums", len(grads), len(data)))
			return
		}
		bwd := make([]Datum, len(data))
		for i := range data {
			if len(grads[i]) != len(lps[i]) {
				out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: datum %d: gradient has %d entries, logprobs has %d", i, len(grads[i]), len(lps[i])))
				return
			}
			w := make([]float32, len(grads[i]))
			for j, g := range grads[i] {
				w[j] = -g
			}
			bwd[i] = Datum{ModelInput: data[i].ModelInput, LossFnInputs: map[string]TensorData{
				protocol.InputTargetTokens: fwd[i].LossFnInputs[protocol.InputTargetTokens],
				protocol.InputWeights:      {DType: protocol.DTypeFloat32, Float32: w, Shape: fwd[i].LossFnInputs[protocol.InputTargetTokens].Shape},
			}}
		}
		bsubs, err := tc.buildFB(t.first+len(chunks), bwd, chunks, protocol.LossCrossEntropy, nil, false)
		if err != nil {
			out.resolve(nil, err)
			return
		}
		bfuts := tc.sendAll(pctx, bsubs, tc.c.config().ParallelFwdbwdChunks, out.setQueue)
		backwardSent = true
		release()
		res, err := tc.collectFB(pctx, bfuts)
		if err != nil {
			out.resolve(nil, fmt.Errorf("tinker: forward_backward_custom: backward pass: %w", err))
			return
		}
		if res.Metrics == nil {
			res.Metrics = map[string]float64{}
		}
		for k, v := range metrics {
			res.Metrics[k] = v
		}
		res.Metrics[protocol.MetricLossSum] = loss
		out.resolve(res, nil)
	}()
	return out, nil
}

// OptimStep applies an AdamW step with the accumulated gradients.
func (tc *TrainingClient) OptimStep(ctx context.Context, p AdamParams) (*Future[*protocol.OptimStepResponse], error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("tinker: optim_step: %w", err)
	}
	return submitOrdered(ctx, tc, protocol.PathOptimStep, protocol.RequestTypeOptimStep, func(seq int) ([]byte, error) {
		return json.Marshal(protocol.OptimStepRequest{AdamParams: p, ModelID: tc.modelID, SeqID: seq})
	}, decodeJSONResult[protocol.OptimStepResponse])
}

func checkName(op, name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("tinker: %s: checkpoint name %q must be non-empty and contain no '/'", op, name)
	}
	return nil
}

// SaveState saves weights and optimizer state as tinker://<model>/weights/<name>.
func (tc *TrainingClient) SaveState(ctx context.Context, name string, ttlSeconds *int64, overwrite bool) (*Future[*protocol.SaveWeightsResponse], error) {
	if err := checkName("save_state", name); err != nil {
		return nil, err
	}
	return submitOrdered(ctx, tc, protocol.PathSaveWeights, protocol.RequestTypeSaveWeights, func(seq int) ([]byte, error) {
		return json.Marshal(protocol.SaveWeightsRequest{ModelID: tc.modelID, Path: name, SeqID: seq, TTLSeconds: ttlSeconds, Overwrite: overwrite})
	}, decodeJSONResult[protocol.SaveWeightsResponse])
}

// LoadState loads a tinker://…/weights/… checkpoint, with the optimizer
// state when withOptimizer.
func (tc *TrainingClient) LoadState(ctx context.Context, path string, withOptimizer bool) (*Future[*protocol.LoadWeightsResponse], error) {
	if _, err := protocol.ParseTinkerPath(path); err != nil {
		return nil, fmt.Errorf("tinker: load_state: %w", err)
	}
	return submitOrdered(ctx, tc, protocol.PathLoadWeights, protocol.RequestTypeLoadWeights, func(seq int) ([]byte, error) {
		return json.Marshal(protocol.LoadWeightsRequest{ModelID: tc.modelID, SeqID: seq, Path: path, Optimizer: withOptimizer})
	}, decodeJSONResult[protocol.LoadWeightsResponse])
}

// SaveWeightsForSampler saves sampler weights as
// tinker://<model>/sampler_weights/<name>.
func (tc *TrainingClient) SaveWeightsForSampler(ctx context.Context, name string, ttlSeconds *int64) (*Future[*protocol.SaveWeightsForSamplerResponse], error) {
	if err := checkName("save_weights_for_sampler", name); err != nil {
		return nil, err
	}
	return submitOrdered(ctx, tc, protocol.PathSaveWeightsForSampler, protocol.RequestTypeSaveWeightsForSampler, func(seq int) ([]byte, error) {
		return json.Marshal(protocol.SaveWeightsForSamplerRequest{ModelID: tc.modelID, Path: name, SeqID: seq, TTLSeconds: ttlSeconds})
	}, decodeJSONResult[protocol.SaveWeightsForSamplerResponse])
}

// SaveWeightsAndGetSamplingClient makes an unnamed, ephemeral sampler save
// and returns a sampling client on it.
func (tc *TrainingClient) SaveWeightsAndGetSamplingClient(ctx context.Context) (*SamplingClient, error) {
	ss := tc.s.nextSamplingSeq()
	f, err := submitOrdered(ctx, tc, protocol.PathSaveWeightsForSampler, protocol.RequestTypeSaveWeightsForSampler, func(seq int) ([]byte, error) {
		return json.Marshal(protocol.SaveWeightsForSamplerRequest{ModelID: tc.modelID, SeqID: seq, SamplingSessionSeqID: &ss})
	}, decodeJSONResult[protocol.SaveWeightsForSamplerResponse])
	if err != nil {
		return nil, err
	}
	res, err := f.Result(ctx)
	if err != nil {
		return nil, err
	}
	if res.SamplingSessionID == "" {
		if res.Path != "" {
			return tc.s.CreateSamplingClient(ctx, SamplingOptions{ModelPath: res.Path})
		}
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathSaveWeightsForSampler, Err: errors.New("no sampling_session_id in result")}
	}
	return &SamplingClient{s: tc.s, id: res.SamplingSessionID, baseModel: tc.baseModel, modelPath: res.Path}, nil
}

// CreateSamplingClient samples from a saved sampler checkpoint.
func (tc *TrainingClient) CreateSamplingClient(ctx context.Context, modelPath string) (*SamplingClient, error) {
	return tc.s.CreateSamplingClient(ctx, SamplingOptions{ModelPath: modelPath})
}

// GetInfo describes the model (does not consume a seq_id).
func (tc *TrainingClient) GetInfo(ctx context.Context) (*protocol.GetInfoResponse, error) {
	var out protocol.GetInfoResponse
	if err := tc.c.doJSON(ctx, http.MethodPost, protocol.PathGetInfo, nil, protocol.GetInfoRequest{ModelID: tc.modelID}, &out, true); err != nil {
		return nil, err
	}
	if i := strings.IndexByte(out.ModelData.TokenizerID, ':'); i >= 0 {
		out.ModelData.TokenizerID = out.ModelData.TokenizerID[:i]
	}
	return &out, nil
}

// Unload frees the model on the server.
func (tc *TrainingClient) Unload(ctx context.Context) (*Future[*protocol.UnloadModelResponse], error) {
	body, _ := json.Marshal(protocol.UnloadModelRequest{ModelID: tc.modelID})
	return submitAndPoll(ctx, tc.c, protocol.PathUnloadModel, body, "", protocol.RequestTypeUnloadModel, false, decodeJSONResult[protocol.UnloadModelResponse]), nil
}

var zstdEnc atomic.Pointer[zstd.Encoder]

// compressZstd compresses a forward_backward body (server flag
// proto_compress_fwdbwd).
func compressZstd(b []byte) []byte {
	enc := zstdEnc.Load()
	if enc == nil {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err) // only on invalid options
		}
		zstdEnc.CompareAndSwap(nil, e)
		enc = zstdEnc.Load()
	}
	return enc.EncodeAll(b, make([]byte, 0, len(b)/4))
}
