package tinker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// ServiceClient is the entry point: it owns the session (created lazily on
// first use, then kept alive by heartbeats) and makes training, sampling
// and REST clients.
type ServiceClient struct {
	c *core

	mu          sync.Mutex
	bootErr     error
	booted      bool
	sessionID   string
	modelSeq    int
	samplingSeq int
	closed      bool
	hbStop      chan struct{}
	hbDone      chan struct{}
	processUUID string
	eventIndex  int
	startTime   time.Time
}

// NewServiceClient makes a client; no request is sent until first use.
func NewServiceClient(opts Options) (*ServiceClient, error) {
	c, err := newCore(opts)
	if err != nil {
		return nil, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &ServiceClient{c: c, processUUID: hex.EncodeToString(b[:])}, nil
}

// BaseURL is the normalized base URL.
func (s *ServiceClient) BaseURL() string { return s.c.base }

// Config is the server's client config (defaults before bootstrap).
func (s *ServiceClient) Config() protocol.ClientConfigResponse { return s.c.config() }

func (s *ServiceClient) ensureBoot(ctx context.Context) error {
	ctx, cancel := s.c.mergeCtx(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.booted {
		return nil
	}
	if err := s.c.bootstrap(ctx); err != nil {
		return err
	}
	s.booted = true
	return nil
}

// SessionID creates the session on first call (bootstrap, create_session,
// heartbeats) and returns its id.
func (s *ServiceClient) SessionID(ctx context.Context) (string, error) {
	if err := s.ensureBoot(ctx); err != nil {
		return "", err
	}
	ctx, cancel := s.c.mergeCtx(ctx)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.sessionID != "" {
		return s.sessionID, nil
	}
	req := protocol.CreateSessionRequest{Tags: s.c.opts.Tags, UserMetadata: s.c.opts.UserMetadata, SDKVersion: protocol.SDKVersion, ProjectID: s.c.opts.ProjectID}
	var resp protocol.CreateSessionResponse
	if err := s.c.doJSON(ctx, http.MethodPost, protocol.PathCreateSession, nil, req, &resp, true); err != nil {
		return "", err
	}
	if resp.SessionID == "" {
		return "", &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathCreateSession, Err: fmt.Errorf("no session_id")}
	}
	for _, m := range []struct {
		l slog.Level
		s string
	}{{slog.LevelInfo, resp.InfoMessage}, {slog.LevelWarn, resp.WarningMessage}, {slog.LevelError, resp.ErrorMessage}} {
		if m.s != "" {
			s.c.logf(m.l, "tinker: %s", m.s)
		}
	}
	s.sessionID = resp.SessionID
	s.startTime = time.Now()
	if s.c.opts.HeartbeatInterval > 0 {
		s.hbStop, s.hbDone = make(chan struct{}), make(chan struct{})
		go s.heartbeat(s.sessionID, s.hbStop, s.hbDone)
	}
	if s.c.opts.Telemetry {
		s.sendTelemetryLocked("SESSION_START", "")
	}
	return s.sessionID, nil
}

// heartbeat posts session_heartbeat every interval (10 s timeout, no
// retries) until stop is closed; after 120 s of failures it warns once.
func (s *ServiceClient) heartbeat(sessionID string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.c.opts.HeartbeatInterval)
	defer t.Stop()
	var failingSince time.Time
	warned := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.c.ctx, 10*time.Second)
		r := &request{method: http.MethodPost, path: protocol.PathSessionHeartbeat, timeout: 10 * time.Second}
		r.body, _ = json.Marshal(protocol.SessionHeartbeatRequest{SessionID: sessionID})
		_, err := s.c.do(ctx, r)
		cancel()
		if err == nil {
			failingSince, warned = time.Time{}, false
			continue
		}
		select {
		case <-stop:
			return
		default:
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if !warned && time.Since(failingSince) >= 120*time.Second {
			s.c.logf(slog.LevelWarn, "tinker: session %s heartbeats failing for %s (%v); the session will be terminated", sessionID, time.Since(failingSince).Round(time.Second), err)
			warned = true
		}
	}
}

func (s *ServiceClient) sendTelemetryLocked(event, errMsg string) {
	s.eventIndex++
	ev := protocol.TelemetryEvent{Event: event, EventID: newIdempotencyKey()[len("tkx-retry-"):], EventSessionIndex: s.eventIndex,
		Severity: "INFO", Timestamp: time.Now().UTC().Format(time.RFC3339Nano), ErrorMessage: errMsg}
	if event == "SESSION_END" {
		ev.Duration = fmt.Sprintf("PT%.3fS", time.Since(s.startTime).Seconds())
	}
	req := protocol.TelemetryRequest{Events: []protocol.TelemetryEvent{ev}, Platform: runtime.GOOS + "/" + runtime.GOARCH,
		SDKVersion: "tkx/" + Version, SessionID: s.sessionID, ProcessUUID: s.processUUID}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.c.doJSON(ctx, http.MethodPost, protocol.PathTelemetry, nil, req, nil, false); err != nil {
		s.c.logf(slog.LevelDebug, "tinker: telemetry: %v", err)
	}
}

// Close stops heartbeats and cancels outstanding polls. It is safe to call
// more than once.
func (s *ServiceClient) Close() error {
	s.c.cancel() // first: aborts an in-flight bootstrap holding s.mu, and all polls
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, done := s.hbStop, s.hbDone
	if s.c.opts.Telemetry && s.sessionID != "" {
		s.sendTelemetryLocked("SESSION_END", "")
	}
	s.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	if done != nil {
		<-done
	}
	return nil
}

func (s *ServiceClient) nextModelSeq() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.modelSeq
	s.modelSeq++
	return n
}

func (s *ServiceClient) nextSamplingSeq() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.samplingSeq
	s.samplingSeq++
	return n
}

// GetServerCapabilities lists the models the server supports.
func (s *ServiceClient) GetServerCapabilities(ctx context.Context) (*protocol.ServerCapabilities, error) {
	if err := s.ensureBoot(ctx); err != nil {
		return nil, err
	}
	var out protocol.ServerCapabilities
	if err := s.c.doJSON(ctx, http.MethodGet, protocol.PathGetServerCapabilities, nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// LoraOptions configure CreateLoraTrainingClient. Zero Rank means 32; the
// Train* flags default to true unless NoTrain* is set.
type LoraOptions struct {
	Rank           int
	Seed           *int64
	NoTrainMLP     bool
	NoTrainAttn    bool
	NoTrainUnembed bool
	UserMetadata   map[string]string
}

// CreateLoraTrainingClient creates a LoRA model on baseModel and waits for it.
func (s *ServiceClient) CreateLoraTrainingClient(ctx context.Context, baseModel string, o LoraOptions) (*TrainingClient, error) {
	cfg := protocol.DefaultLoraConfig()
	if o.Rank != 0 {
		cfg.Rank = o.Rank
	}
	cfg.Seed = o.Seed
	cfg.TrainMLP, cfg.TrainAttn, cfg.TrainUnembed = !o.NoTrainMLP, !o.NoTrainAttn, !o.NoTrainUnembed
	return s.createModel(ctx, baseModel, cfg, o.UserMetadata)
}

func (s *ServiceClient) createModel(ctx context.Context, baseModel string, cfg protocol.LoraConfig, meta map[string]string) (*TrainingClient, error) {
	if baseModel == "" {
		return nil, fmt.Errorf("tinker: create_model: base_model is empty")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tinker: create_model: %w", err)
	}
	sid, err := s.SessionID(ctx)
	if err != nil {
		return nil, err
	}
	req := protocol.CreateModelRequest{SessionID: sid, ModelSeqID: s.nextModelSeq(), BaseModel: baseModel, UserMetadata: meta, LoraConfig: &cfg}
	body, _ := json.Marshal(req)
	fut := submitAndPoll(ctx, s.c, protocol.PathCreateModel, body, "", protocol.RequestTypeCreateModel, false, decodeJSONResult[protocol.CreateModelResponse])
	res, err := fut.Result(ctx)
	if err != nil {
		return nil, err
	}
	if res.ModelID == "" {
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathCreateModel, Err: fmt.Errorf("no model_id in result")}
	}
	return newTrainingClient(s, res.ModelID, baseModel), nil
}

// WeightsInfo describes a checkpoint (POST /weights_info).
func (s *ServiceClient) WeightsInfo(ctx context.Context, tinkerPath string) (*protocol.WeightsInfoResponse, error) {
	if _, err := protocol.ParseTinkerPath(tinkerPath); err != nil {
		return nil, fmt.Errorf("tinker: %w", err)
	}
	if err := s.ensureBoot(ctx); err != nil {
		return nil, err
	}
	var out protocol.WeightsInfoResponse
	if err := s.c.doJSON(ctx, http.MethodPost, protocol.PathWeightsInfo, nil, protocol.WeightsInfoRequest{TinkerPath: tinkerPath}, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateTrainingClientFromState makes a model shaped like the checkpoint
// (weights_info → create_model with its rank and train_* flags) and loads
// its weights, with the optimizer state when withOptimizer.
func (s *ServiceClient) CreateTrainingClientFromState(ctx context.Context, path string, withOptimizer bool, baseModel string, userMetadata map[string]string) (*TrainingClient, error) {
	info, err := s.WeightsInfo(ctx, path)
	if err != nil {
		return nil, err
	}
	if baseModel == "" {
		baseModel = info.BaseModel
	}
	if s.c.config().CreateModelViaLoadWeights {
		return s.createViaLoad(ctx, path, withOptimizer, baseModel, userMetadata)
	}
	cfg := protocol.DefaultLoraConfig()
	if info.LoraRank != nil {
		cfg.Rank = *info.LoraRank
	}
	if info.TrainMLP != nil {
		cfg.TrainMLP = *info.TrainMLP
	}
	if info.TrainAttn != nil {
		cfg.TrainAttn = *info.TrainAttn
	}
	if info.TrainUnembed != nil {
		cfg.TrainUnembed = *info.TrainUnembed
	}
	tc, err := s.createModel(ctx, baseModel, cfg, userMetadata)
	if err != nil {
		return nil, err
	}
	fut, err := tc.LoadState(ctx, path, withOptimizer)
	if err != nil {
		return nil, err
	}
	if _, err := fut.Result(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// createViaLoad makes a model with a single load_weights (server flag
// create_model_via_load_weights): the load is the model's first request,
// seq_id 0, and the model id is built by the client.
func (s *ServiceClient) createViaLoad(ctx context.Context, path string, withOptimizer bool, baseModel string, meta map[string]string) (*TrainingClient, error) {
	sid, err := s.SessionID(ctx)
	if err != nil {
		return nil, err
	}
	seq := s.nextModelSeq()
	body, _ := json.Marshal(protocol.LoadWeightsRequest{SessionID: sid, ModelSeqID: &seq, BaseModel: baseModel, UserMetadata: meta, Path: path, Optimizer: withOptimizer})
	fut := submitAndPoll(ctx, s.c, protocol.PathLoadWeights, body, "", protocol.RequestTypeLoadWeights, false, decodeJSONResult[protocol.LoadWeightsResponse])
	res, err := fut.Result(ctx)
	if err != nil {
		return nil, err
	}
	id := res.ModelID
	if id == "" {
		id = fmt.Sprintf("%s:train:%d", sid, seq)
	}
	return newTrainingClient(s, id, baseModel), nil
}

// SamplingOptions pick what a sampling client samples from: a sampler
// checkpoint (ModelPath, tinker://…/sampler_weights/…) or a base model.
type SamplingOptions struct {
	ModelPath string
	BaseModel string
}

// CreateSamplingClient opens a sampling session.
func (s *ServiceClient) CreateSamplingClient(ctx context.Context, o SamplingOptions) (*SamplingClient, error) {
	if (o.ModelPath == "") == (o.BaseModel == "") {
		return nil, fmt.Errorf("tinker: create_sampling_client: give exactly one of model_path or base_model")
	}
	if o.ModelPath != "" {
		if _, err := protocol.ParseTinkerPath(o.ModelPath); err != nil {
			return nil, fmt.Errorf("tinker: create_sampling_client: %w", err)
		}
	}
	sid, err := s.SessionID(ctx)
	if err != nil {
		return nil, err
	}
	req := protocol.CreateSamplingSessionRequest{SessionID: sid, SamplingSessionSeqID: s.nextSamplingSeq(), BaseModel: o.BaseModel, ModelPath: o.ModelPath}
	var resp protocol.CreateSamplingSessionResponse
	if err := s.c.doJSON(ctx, http.MethodPost, protocol.PathCreateSamplingSession, nil, req, &resp, true); err != nil {
		return nil, err
	}
	if resp.SamplingSessionID == "" {
		return nil, &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathCreateSamplingSession, Err: fmt.Errorf("no sampling_session_id")}
	}
	return &SamplingClient{s: s, id: resp.SamplingSessionID, baseModel: o.BaseModel, modelPath: o.ModelPath}, nil
}

// CreateRestClient returns the REST client (no session needed).
func (s *ServiceClient) CreateRestClient() *RestClient { return &RestClient{s: s} }
