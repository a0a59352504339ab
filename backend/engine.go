package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// Options configure an Engine.
type Options struct {
	// DataDir holds checkpoints and run metadata; "" = DefaultDataDir().
	DataDir string
	// Provider builds models; nil = the local models of backend/model.
	Provider ModelProvider
	// Faults, when set, makes the HTTP handler misbehave on purpose.
	Faults *FaultConfig
	// APIKey, when set, must be sent as X-API-Key on every request.
	APIKey string
	// SeqGapTimeout is how long a model's queue waits for a missing seq_id
	// while later requests are queued before skipping it (default 30s).
	SeqGapTimeout time.Duration
	// LongPoll is how long retrieve_future holds a request open waiting for
	// a result before answering try_again (default 20s; the SDK's timeout is
	// 45s).
	LongPoll time.Duration
	// FutureRetention is how long a completed future stays retrievable
	// (default 1h); after that retrieve_future answers 410.
	FutureRetention time.Duration
	// SampleConcurrency bounds concurrent sampling requests (default
	// GOMAXPROCS, at least 2).
	SampleConcurrency int
	// Logf logs server events (default log.Printf).
	Logf func(format string, args ...any)
	// IdleUnload, when > 0, unloads a model (freeing its weights and
	// optimizer state) once it has had no request for this long and has
	// nothing queued. Its checkpoints stay on disk. 0 keeps models until
	// unload_model or shutdown.
	IdleUnload time.Duration
}

// Engine is the local Tinker backend: sessions, models, samplers, futures
// and checkpoints. Serve it with Handler (over HTTP or in-process).
type Engine struct {
	opts      Options
	store     *Store
	futures   *futureStore
	provider  ModelProvider
	faults    *faultInjector
	logf      func(string, ...any)
	sampleSem chan struct{}
	started   time.Time

	mu       sync.Mutex
	sessions map[string]*session
	models   map[string]*modelState
	samplers map[string]*samplerState
	creates  map[string]*future // model_id → create_model / create-via-load future
	closed   bool

	samplerCache *lruCache // tinker path → SamplerModel
	auditLog     []protocol.AuditEntry
}

type session struct {
	id            string
	created       time.Time
	lastHeartbeat time.Time
	tags          []string
	userMetadata  map[string]string
	projectID     string
	models        []string
	samplers      []string
}

type modelState struct {
	id      string
	session string
	base    BaseInfo
	lora    protocol.LoraConfig
	seq     *sequencer
	meta    *RunMeta

	// trainer is touched only from the sequencer's goroutine.
	trainer  Trainer
	step     int
	unloaded bool
	// ephemeral lists the model's unnamed-save samplers, oldest first
	// (guarded by Engine.mu).
	ephemeral []string
}

// samplerState is a sampling session. Samplers over a base model or a
// checkpoint path hold no weights themselves: they go through samplerCache
// (reloading from disk when evicted). Samplers from an unnamed
// save_weights_for_sampler hold their snapshot; a model keeps its
// maxEphemeralSamplers most recent ones.
type samplerState struct {
	id        string
	session   string
	baseModel string
	modelPath string
	base      BaseInfo
	ephemeral SamplerModel // unnamed-save snapshot, else nil
	owner     string       // model id of an ephemeral sampler
	evicted   bool
}

// maxEphemeralSamplers bounds the unnamed-save snapshots kept per model
// (RL loops make one per step).
const maxEphemeralSamplers = 8

// NewEngine opens the data directory and returns a ready engine.
func NewEngine(opts Options) (*Engine, error) {
	if opts.DataDir == "" {
		opts.DataDir = DefaultDataDir()
	}
	if opts.SeqGapTimeout <= 0 {
		opts.SeqGapTimeout = 30 * time.Second
	}
	if opts.LongPoll <= 0 {
		opts.LongPoll = 20 * time.Second
	}
	if opts.FutureRetention <= 0 {
		opts.FutureRetention = time.Hour
	}
	if opts.SampleConcurrency <= 0 {
		opts.SampleConcurrency = max(2, runtime.GOMAXPROCS(0))
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	if opts.Provider == nil {
		opts.Provider = NewLocalProvider()
	}
	st, err := NewStore(opts.DataDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts:         opts,
		store:        st,
		futures:      newFutureStore(opts.FutureRetention),
		provider:     opts.Provider,
		logf:         opts.Logf,
		sampleSem:    make(chan struct{}, opts.SampleConcurrency),
		started:      time.Now(),
		sessions:     map[string]*session{},
		models:       map[string]*modelState{},
		samplers:     map[string]*samplerState{},
		creates:      map[string]*future{},
		samplerCache: newLRU(16),
	}
	if opts.Faults != nil {
		e.faults = newFaultInjector(*opts.Faults)
	}
	if opts.IdleUnload > 0 {
		go e.janitor()
	}
	return e, nil
}

// janitor unloads idle models until the engine closes.
func (e *Engine) janitor() {
	every := min(max(e.opts.IdleUnload/4, 10*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.futures.draining:
			return
		case <-t.C:
		}
		e.unloadIdle(time.Now())
	}
}

// unloadIdle unloads the models idle since before now-IdleUnload.
func (e *Engine) unloadIdle(now time.Time) {
	e.mu.Lock()
	var idle []*modelState
	for _, m := range e.models {
		if now.Sub(m.meta.LastRequest) > e.opts.IdleUnload && m.seq.idle() {
			idle = append(idle, m)
		}
	}
	e.mu.Unlock()
	for _, m := range idle {
		e.logf("tkx backend: unloading model %s after %s without requests", m.id, e.opts.IdleUnload)
		e.unload(m, userErr("model %s was unloaded after %s without requests; load its last checkpoint to continue", m.id, e.opts.IdleUnload))
	}
}

// unload drops a model and its unnamed-save samplers.
func (e *Engine) unload(m *modelState, reason *RequestError) {
	e.mu.Lock()
	m.unloaded = true
	delete(e.models, m.id)
	for _, sid := range m.ephemeral {
		if st := e.samplers[sid]; st != nil {
			st.ephemeral = nil
			st.evicted = true
		}
	}
	m.ephemeral = nil
	e.mu.Unlock()
	m.seq.close(reason)
}

// Store is the engine's checkpoint store.
func (e *Engine) Store() *Store { return e.store }

// DataDir is where checkpoints live.
func (e *Engine) DataDir() string { return e.store.Root() }

// FaultCounts reports injected faults by kind (nil without fault injection).
func (e *Engine) FaultCounts() map[string]int {
	if e.faults == nil {
		return nil
	}
	return e.faults.counts()
}

// Drain makes retrieve_future answer at once (try_again if not done)
// instead of long-polling; call it before http.Server.Shutdown.
func (e *Engine) Drain() { e.futures.drain() }

// Close fails pending work and releases models.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.futures.drain()
	models := make([]*modelState, 0, len(e.models))
	for _, m := range e.models {
		models = append(models, m)
	}
	e.mu.Unlock()
	for _, m := range models {
		m.seq.close(serverErr("the backend is shutting down"))
	}
	// Let running requests (a checkpoint being written) finish.
	deadline := time.After(30 * time.Second)
	for _, m := range models {
		select {
		case <-m.seq.stopped:
		case <-deadline:
			e.logf("tkx backend: model %s is still running a request at shutdown", m.id)
			return nil
		}
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ---------------------------------------------------------------------------
// Sessions

// CreateSession registers a session.
func (e *Engine) CreateSession(req protocol.CreateSessionRequest) (*protocol.CreateSessionResponse, error) {
	s := &session{id: newUUID(), created: time.Now(), tags: req.Tags, userMetadata: req.UserMetadata, projectID: req.ProjectID}
	s.lastHeartbeat = s.created
	e.mu.Lock()
	e.sessions[s.id] = s
	e.mu.Unlock()
	return &protocol.CreateSessionResponse{SessionID: s.id, Type: "create_session"}, nil
}

func (e *Engine) getSession(id string) (*session, error) {
	if id == "" {
		return nil, userErr("session_id is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[id]
	if !ok {
		return nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown session_id %q (sessions do not survive a restart of the backend; create a new one)", id), Status: 404}
	}
	return s, nil
}

// Heartbeat records a session heartbeat.
func (e *Engine) Heartbeat(sessionID string) error {
	s, err := e.getSession(sessionID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	s.lastHeartbeat = time.Now()
	e.mu.Unlock()
	return nil
}

// ---------------------------------------------------------------------------
// Models

func (e *Engine) getModel(id string) (*modelState, error) {
	if id == "" {
		return nil, userErr("model_id is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.models[id]
	if !ok {
		if e.opts.IdleUnload > 0 {
			return nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown model_id %q (models live in memory: they do not survive a restart and are unloaded after %s without requests; reload a checkpoint with load_weights)", id, e.opts.IdleUnload), Status: 404}
		}
		return nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown model_id %q (models live in memory and do not survive a restart; reload a checkpoint with load_weights)", id), Status: 404}
	}
	if m.unloaded {
		return nil, userErr("model %q was unloaded", id)
	}
	return m, nil
}

func modelIDFor(session string, n int) string { return session + ":train:" + strconv.Itoa(n) }

// registerModel creates the model's record and its queue; the first job
// (seq 0) must build the trainer.
func (e *Engine) registerModel(sessionID string, modelSeq int, info BaseInfo, lora protocol.LoraConfig, userMeta map[string]string) (*modelState, bool, error) {
	id := modelIDFor(sessionID, modelSeq)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, serverErr("the backend is shutting down")
	}
	if m, ok := e.models[id]; ok {
		return m, true, nil
	}
	now := time.Now().UTC()
	m := &modelState{id: id, session: sessionID, base: info, lora: lora}
	m.meta = &RunMeta{TrainingRunID: id, BaseModel: info.Name, ModelOwner: "local", SessionID: sessionID, IsLora: true,
		LoraRank: lora.Rank, TrainAttn: lora.TrainAttn, TrainMLP: lora.TrainMLP, TrainUnembed: lora.TrainUnembed, LoraSeed: lora.Seed,
		Created: now, LastRequest: now, UserMetadata: userMeta}
	m.seq = newSequencer(id, 0, e.opts.SeqGapTimeout, e.futures, e.logf)
	e.models[id] = m
	if s, ok := e.sessions[sessionID]; ok {
		s.models = append(s.models, id)
	}
	return m, false, nil
}

// CreateModel queues the creation of a LoRA model and returns its future.
func (e *Engine) CreateModel(req protocol.CreateModelRequest) (*future, error) {
	if _, err := e.getSession(req.SessionID); err != nil {
		return nil, err
	}
	if req.ModelSeqID < 0 {
		return nil, userErr("model_seq_id = %d must be ≥ 0", req.ModelSeqID)
	}
	info, err := e.provider.Describe(req.BaseModel)
	if err != nil {
		return nil, err
	}
	lora := protocol.DefaultLoraConfig()
	if req.LoraConfig != nil {
		lora = *req.LoraConfig
	}
	if err := lora.Validate(); err != nil {
		return nil, userErr("%v", err)
	}
	m, existed, err := e.registerModel(req.SessionID, req.ModelSeqID, info, lora, req.UserMetadata)
	if err != nil {
		return nil, err
	}
	if existed {
		// An idempotent retry of the same create_model.
		e.mu.Lock()
		f := e.creates[m.id]
		e.mu.Unlock()
		if f != nil && m.base.Name == info.Name {
			return f, nil
		}
		return nil, userErr("model %s already exists (model_seq_id %d was used before in session %s)", m.id, req.ModelSeqID, req.SessionID)
	}
	f, err := m.seq.submit(0, protocol.RequestTypeCreateModel, func() (*Result, error) {
		if err := e.buildTrainer(m); err != nil {
			return nil, err
		}
		return jsonResult(protocol.CreateModelResponse{ModelID: m.id, Type: "create_model"})
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.creates[m.id] = f
	e.mu.Unlock()
	return f, nil
}

// buildTrainer runs on the model's queue.
func (e *Engine) buildTrainer(m *modelState) error {
	tr, err := e.provider.NewTrainer(m.base, m.lora)
	if err != nil {
		e.failModel(m, err)
		return err
	}
	m.trainer = tr
	if err := e.store.PutRun(m.meta); err != nil {
		e.logf("tkx backend: cannot record run %s: %v", m.id, err)
	}
	return nil
}

// failModel closes a model whose construction failed; its queued requests
// fail with the same error.
func (e *Engine) failModel(m *modelState, err error) {
	re := asRequestError(err)
	go m.seq.close(&RequestError{Category: re.Category, Msg: fmt.Sprintf("model %s could not be created: %s", m.id, re.Msg)})
}

// trainerOrErr returns the model's trainer (call it on the model's queue).
func (m *modelState) trainerOrErr() (Trainer, error) {
	if m.trainer == nil {
		return nil, serverErr("model %s has no weights (its creation failed)", m.id)
	}
	return m.trainer, nil
}

// submitModelJob queues work on a model. A submit error marks the seq_id
// as consumed.
func (e *Engine) submitModelJob(modelID string, seq int, kind string, validate func(m *modelState) error, run func(m *modelState) (*Result, error)) (*future, error) {
	m, err := e.getModel(modelID)
	if err != nil {
		return nil, err
	}
	if seq <= 0 {
		return nil, userErr("seq_id = %d is out of range: training requests of a model start at seq_id 1", seq)
	}
	if validate != nil {
		if err := validate(m); err != nil {
			m.seq.reject(seq)
			return nil, err
		}
	}
	e.touch(m)
	return m.seq.submit(seq, kind, func() (*Result, error) { return run(m) })
}

func (e *Engine) touch(m *modelState) {
	e.mu.Lock()
	m.meta.LastRequest = time.Now().UTC()
	e.mu.Unlock()
}

// lossInputs lists the loss_fn_inputs each loss needs.
var lossInputs = map[string][]string{
	"cross_entropy":       {"target_tokens"},
	"importance_sampling": {"target_tokens", "logprobs", "advantages"},
	"ppo":                 {"target_tokens", "logprobs", "advantages"},
	"cispo":               {"target_tokens", "logprobs", "advantages"},
	"dro":                 {"target_tokens", "logprobs", "advantages"},
}

// LossNames are the supported loss functions.
func LossNames() []string {
	out := make([]string, 0, len(lossInputs))
	for k := range lossInputs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// convertBatch validates a forward_backward batch against a model and
// converts it.
func convertBatch(info BaseInfo, data []protocol.Datum, lossFn string, cfg map[string]float64) ([]TrainExample, error) {
	need, ok := lossInputs[lossFn]
	if !ok {
		return nil, userErr("unknown loss_fn %q (supported: %s)", lossFn, strings.Join(LossNames(), ", "))
	}
	for k, v := range cfg {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, userErr("loss_fn_config[%q] = %v is not finite", k, v)
		}
	}
	if lossFn == "dro" {
		if _, ok := cfg["beta"]; !ok {
			return nil, userErr("loss_fn %q needs loss_fn_config.beta", lossFn)
		}
	}
	if len(data) == 0 {
		return nil, userErr("forward_backward needs at least one datum")
	}
	out := make([]TrainExample, len(data))
	for i := range data {
		d := &data[i]
		toks, err := d.ModelInput.Tokens()
		if err != nil {
			return nil, userErr("data[%d].model_input: %v (the local backend only takes text)", i, err)
		}
		n := len(toks)
		if n == 0 {
			return nil, userErr("data[%d].model_input is empty", i)
		}
		if n > info.MaxContext {
			return nil, userErr("data[%d].model_input has %d tokens, longer than %s's context of %d", i, n, info.Name, info.MaxContext)
		}
		for j, t := range toks {
			if t < 0 || int(t) >= info.VocabSize {
				return nil, userErr("data[%d].model_input token %d at position %d is out of vocabulary [0,%d) of %s", i, t, j, info.VocabSize, info.Name)
			}
		}
		ex := TrainExample{Tokens: toks}
		for _, k := range need {
			if _, ok := d.LossFnInputs[k]; !ok {
				return nil, userErr("data[%d].loss_fn_inputs lacks %q, which loss_fn %q needs", i, k, lossFn)
			}
		}
		for k := range d.LossFnInputs {
			td := d.LossFnInputs[k]
			if err := td.Check(); err != nil {
				return nil, userErr("data[%d].loss_fn_inputs[%q]: %v", i, k, err)
			}
			if len(td.Shape) > 1 {
				return nil, userErr("data[%d].loss_fn_inputs[%q] has shape %v; the local backend takes 1-D tensors of length %d", i, k, td.Shape, n)
			}
			if td.NumElements() != n {
				return nil, userErr("data[%d].loss_fn_inputs[%q] has %d elements but model_input has %d tokens", i, k, td.NumElements(), n)
			}
			vals, err := td.Dense()
			if err != nil {
				return nil, userErr("data[%d].loss_fn_inputs[%q]: %v", i, k, err)
			}
			switch k {
			case "target_tokens":
				tt := make([]int32, n)
				for j, v := range vals {
					if v != float32(math.Trunc(float64(v))) || v < 0 || int(v) >= info.VocabSize {
						return nil, userErr("data[%d].loss_fn_inputs[\"target_tokens\"][%d] = %v is out of vocabulary [0,%d) of %s", i, j, v, info.VocabSize, info.Name)
					}
					tt[j] = int32(v)
				}
				if td.DType == protocol.DTypeInt64 && !td.IsSparse() {
					for j, v := range td.Int64 {
						if v < 0 || v >= int64(info.VocabSize) {
							return nil, userErr("data[%d].loss_fn_inputs[\"target_tokens\"][%d] = %d is out of vocabulary [0,%d) of %s", i, j, v, info.VocabSize, info.Name)
						}
						tt[j] = int32(v)
					}
				}
				ex.Targets = tt
			case "weights", "logprobs", "advantages":
				for j, v := range vals {
					if math.IsInf(float64(v), 0) || (math.IsNaN(float64(v)) && k != "logprobs") {
						return nil, userErr("data[%d].loss_fn_inputs[%q][%d] = %v is not finite", i, k, j, v)
					}
				}
				switch k {
				case "weights":
					ex.Weights = vals
				case "logprobs":
					ex.Logprobs = vals
				case "advantages":
					ex.Advantages = vals
				}
			}
		}
		out[i] = ex
	}
	return out, nil
}

// ForwardBackward queues a forward(_backward) pass.
func (e *Engine) ForwardBackward(req protocol.ForwardBackwardRequest) (*future, error) {
	kind := protocol.RequestTypeForwardBackward
	if req.ForwardOnly {
		kind = protocol.RequestTypeForward
	}
	var batch []TrainExample
	lossFn := req.LossFn
	cfg := req.LossFnConfig
	return e.submitModelJob(req.ModelID, int(req.SeqID), kind, func(m *modelState) error {
		var err error
		batch, err = convertBatch(m.base, req.Data, lossFn, cfg)
		return err
	}, func(m *modelState) (*Result, error) {
		tr, err := m.trainerOrErr()
		if err != nil {
			return nil, err
		}
		out, err := tr.ForwardBackward(context.Background(), batch, lossFn, cfg, req.ForwardOnly)
		if err != nil {
			return nil, err
		}
		return fbResult(out)
	})
}

// OptimStep queues an AdamW step.
func (e *Engine) OptimStep(req protocol.OptimStepRequest) (*future, error) {
	return e.submitModelJob(req.ModelID, req.SeqID, protocol.RequestTypeOptimStep, func(m *modelState) error {
		if err := req.AdamParams.Validate(); err != nil {
			return userErr("%v", err)
		}
		return nil
	}, func(m *modelState) (*Result, error) {
		tr, err := m.trainerOrErr()
		if err != nil {
			return nil, err
		}
		metrics, err := tr.OptimStep(req.AdamParams)
		if err != nil {
			return nil, err
		}
		m.step++
		return jsonResult(protocol.OptimStepResponse{Metrics: metrics})
	})
}

func ttlExpiry(ttl *int64) (*time.Time, error) {
	if ttl == nil {
		return nil, nil
	}
	if *ttl <= 0 {
		return nil, userErr("ttl_seconds = %d must be > 0 (omit it to keep the checkpoint forever)", *ttl)
	}
	t := time.Now().UTC().Add(time.Duration(*ttl) * time.Second)
	return &t, nil
}

func (e *Engine) checkpointMeta(m *modelState, withOptimizer bool, expires *time.Time) CheckpointMeta {
	return CheckpointMeta{HasOptimizer: withOptimizer, BaseModel: m.base.Name, LoraRank: m.lora.Rank,
		TrainAttn: m.lora.TrainAttn, TrainMLP: m.lora.TrainMLP, TrainUnembed: m.lora.TrainUnembed, Step: m.step, ExpiresAt: expires}
}

func (e *Engine) saveCheckpoint(m *modelState, kind, name string, overwrite bool, expires *time.Time) (*CheckpointMeta, error) {
	tr, err := m.trainerOrErr()
	if err != nil {
		return nil, err
	}
	ref := CheckpointRef{Run: m.id, Kind: kind, Name: name}
	withOpt := kind == KindWeights
	meta, err := e.store.SaveCheckpoint(ref, e.checkpointMeta(m, withOpt, expires), overwrite, func(dir string) error {
		return tr.Save(dir, withOpt)
	})
	if err != nil {
		if errors.Is(err, ErrCheckpointExists) {
			return nil, userErr("%v", err)
		}
		return nil, serverErr("%v (earlier checkpoints are intact)", err)
	}
	e.audit("checkpoint_saved", m.id, ref.String())
	e.mu.Lock()
	if kind == KindWeights {
		m.meta.LastCheckpoint = ref.String()
	} else {
		m.meta.LastSampler = ref.String()
	}
	run := *m.meta
	e.mu.Unlock()
	if err := e.store.PutRun(&run); err != nil {
		e.logf("tkx backend: cannot update run %s: %v", m.id, err)
	}
	return meta, nil
}

// SaveWeights queues a training checkpoint (weights + optimizer state).
func (e *Engine) SaveWeights(req protocol.SaveWeightsRequest) (*future, error) {
	var expires *time.Time
	return e.submitModelJob(req.ModelID, req.SeqID, protocol.RequestTypeSaveWeights, func(m *modelState) error {
		if err := validateCheckpointName(req.Path); err != nil {
			return userErr("save_weights path: %v", err)
		}
		var err error
		expires, err = ttlExpiry(req.TTLSeconds)
		return err
	}, func(m *modelState) (*Result, error) {
		meta, err := e.saveCheckpoint(m, KindWeights, req.Path, req.Overwrite, expires)
		if err != nil {
			return nil, err
		}
		return jsonResult(protocol.SaveWeightsResponse{Path: meta.TinkerPath, Type: "save_weights"})
	})
}

// SaveWeightsForSampler queues a sampler checkpoint: named (written to
// disk) or unnamed (an ephemeral sampling session).
func (e *Engine) SaveWeightsForSampler(req protocol.SaveWeightsForSamplerRequest) (*future, error) {
	var expires *time.Time
	return e.submitModelJob(req.ModelID, req.SeqID, protocol.RequestTypeSaveWeightsForSampler, func(m *modelState) error {
		if req.Path == "" && req.SamplingSessionSeqID == nil {
			return userErr("save_weights_for_sampler needs a path (named save) or a sampling_session_seq_id (unnamed save)")
		}
		if req.Path != "" {
			if err := validateCheckpointName(req.Path); err != nil {
				return userErr("save_weights_for_sampler path: %v", err)
			}
		}
		var err error
		expires, err = ttlExpiry(req.TTLSeconds)
		return err
	}, func(m *modelState) (*Result, error) {
		tr, err := m.trainerOrErr()
		if err != nil {
			return nil, err
		}
		resp := protocol.SaveWeightsForSamplerResponse{Type: "save_weights_for_sampler"}
		snap, err := tr.Snapshot()
		if err != nil {
			return nil, err
		}
		if req.Path != "" {
			meta, err := e.saveCheckpoint(m, KindSamplerWeights, req.Path, true, expires)
			if err != nil {
				return nil, err
			}
			resp.Path = meta.TinkerPath
			e.samplerCache.put(meta.TinkerPath, snap)
		}
		if req.SamplingSessionSeqID != nil {
			sid := m.session + ":sample:" + strconv.Itoa(*req.SamplingSessionSeqID)
			e.addSampler(&samplerState{id: sid, session: m.session, baseModel: m.base.Name, modelPath: resp.Path, base: m.base, ephemeral: snap, owner: m.id})
			resp.SamplingSessionID = sid
		}
		return jsonResult(resp)
	})
}

func (e *Engine) addSampler(s *samplerState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.samplers[s.id]; !ok {
		if sess, ok := e.sessions[s.session]; ok {
			sess.samplers = append(sess.samplers, s.id)
		}
	}
	e.samplers[s.id] = s
	if s.owner == "" {
		return
	}
	m := e.models[s.owner]
	if m == nil {
		return
	}
	m.ephemeral = append(m.ephemeral, s.id)
	for len(m.ephemeral) > maxEphemeralSamplers {
		if old := e.samplers[m.ephemeral[0]]; old != nil && old != s {
			old.ephemeral = nil
			old.evicted = true
		}
		m.ephemeral = m.ephemeral[1:]
	}
}

// samplerModel returns the weights a sampler samples from.
func (e *Engine) samplerModel(st *samplerState) (SamplerModel, error) {
	if st.ephemeral != nil {
		return st.ephemeral, nil
	}
	if st.evicted {
		return nil, &RequestError{Category: CategoryUser, Status: 410, Msg: fmt.Sprintf("sampler %s was released: the local backend keeps the %d most recent unnamed sampler snapshots per model; save named sampler weights to keep one", st.id, maxEphemeralSamplers)}
	}
	fresh, err := e.openSampler(st.baseModel, st.modelPath)
	if err != nil {
		return nil, err
	}
	return fresh.ephemeral, nil
}

// openCheckpointForModel resolves a tinker:// path for loading.
func (e *Engine) openCheckpoint(path string) (CheckpointRef, string, *CheckpointMeta, error) {
	ref, err := ParseTinkerPath(path)
	if err != nil {
		return ref, "", nil, userErr("%v", err)
	}
	dir, meta, err := e.store.OpenCheckpoint(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ref, "", nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("checkpoint %s not found (no such checkpoint under %s)", path, e.store.Root()), Status: 404}
		}
		return ref, "", nil, userErr("checkpoint %s: %v", path, err)
	}
	return ref, dir, meta, nil
}

// LoadWeights queues a checkpoint load: into an existing model (legacy
// form), or creating the model from the checkpoint (create-via-load form,
// seq_id 0).
func (e *Engine) LoadWeights(req protocol.LoadWeightsRequest) (*future, error) {
	if req.ModelSeqID != nil && req.SessionID != "" && req.ModelID == "" {
		return e.createViaLoad(req)
	}
	var dir string
	var meta *CheckpointMeta
	return e.submitModelJob(req.ModelID, req.SeqID, protocol.RequestTypeLoadWeights, func(m *modelState) error {
		var err error
		_, dir, meta, err = e.openCheckpoint(req.Path)
		if err != nil {
			return err
		}
		return checkCompatible(m, meta, req.Optimizer)
	}, func(m *modelState) (*Result, error) {
		tr, err := m.trainerOrErr()
		if err != nil {
			return nil, err
		}
		if err := tr.Load(dir, req.Optimizer); err != nil {
			return nil, userErr("loading %s: %v", req.Path, err)
		}
		m.step = meta.Step
		return jsonResult(protocol.LoadWeightsResponse{Path: req.Path, ModelID: m.id, Type: "load_weights"})
	})
}

func checkCompatible(m *modelState, meta *CheckpointMeta, optimizer bool) error {
	if meta.BaseModel != m.base.Name {
		return userErr("checkpoint %s is for base model %s, but model %s is %s", meta.TinkerPath, meta.BaseModel, m.id, m.base.Name)
	}
	if meta.LoraRank != m.lora.Rank || meta.TrainAttn != m.lora.TrainAttn || meta.TrainMLP != m.lora.TrainMLP || meta.TrainUnembed != m.lora.TrainUnembed {
		return userErr("checkpoint %s has LoRA rank %d (attn=%v mlp=%v unembed=%v) but model %s has rank %d (attn=%v mlp=%v unembed=%v)",
			meta.TinkerPath, meta.LoraRank, meta.TrainAttn, meta.TrainMLP, meta.TrainUnembed, m.id, m.lora.Rank, m.lora.TrainAttn, m.lora.TrainMLP, m.lora.TrainUnembed)
	}
	if optimizer && !meta.HasOptimizer {
		return userErr("checkpoint %s has no optimizer state (it is a %s checkpoint); load it without the optimizer", meta.TinkerPath, meta.Type)
	}
	return nil
}

func (e *Engine) createViaLoad(req protocol.LoadWeightsRequest) (*future, error) {
	if _, err := e.getSession(req.SessionID); err != nil {
		return nil, err
	}
	_, dir, meta, err := e.openCheckpoint(req.Path)
	if err != nil {
		return nil, err
	}
	baseName := meta.BaseModel
	if req.BaseModel != "" && req.BaseModel != baseName {
		return nil, userErr("checkpoint %s is for base model %s, not %s", req.Path, meta.BaseModel, req.BaseModel)
	}
	info, err := e.provider.Describe(baseName)
	if err != nil {
		return nil, err
	}
	if req.Optimizer && !meta.HasOptimizer {
		return nil, userErr("checkpoint %s has no optimizer state (it is a %s checkpoint)", req.Path, meta.Type)
	}
	lora := protocol.LoraConfig{Rank: meta.LoraRank, TrainAttn: meta.TrainAttn, TrainMLP: meta.TrainMLP, TrainUnembed: meta.TrainUnembed}
	m, existed, err := e.registerModel(req.SessionID, *req.ModelSeqID, info, lora, req.UserMetadata)
	if err != nil {
		return nil, err
	}
	if existed {
		e.mu.Lock()
		f := e.creates[m.id]
		e.mu.Unlock()
		if f != nil {
			return f, nil
		}
		return nil, userErr("model %s already exists", m.id)
	}
	f, err := m.seq.submit(0, protocol.RequestTypeLoadWeights, func() (*Result, error) {
		if err := e.buildTrainer(m); err != nil {
			return nil, err
		}
		if err := m.trainer.Load(dir, req.Optimizer); err != nil {
			err = userErr("loading %s: %v", req.Path, err)
			e.failModel(m, err)
			return nil, err
		}
		m.step = meta.Step
		return jsonResult(protocol.LoadWeightsResponse{Path: req.Path, ModelID: m.id, Type: "load_weights"})
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.creates[m.id] = f
	e.mu.Unlock()
	return f, nil
}

// UnloadModel drops a model; queued requests fail.
func (e *Engine) UnloadModel(req protocol.UnloadModelRequest) (*future, error) {
	m, err := e.getModel(req.ModelID)
	if err != nil {
		return nil, err
	}
	e.unload(m, userErr("model %s was unloaded", m.id))
	f := e.futures.create(protocol.RequestTypeUnloadModel, m.id)
	r, err := jsonResult(protocol.UnloadModelResponse{ModelID: m.id, Type: "unload_model"})
	e.futures.complete(f, r, err)
	return f, nil
}

// GetInfo describes a model.
func (e *Engine) GetInfo(req protocol.GetInfoRequest) (*protocol.GetInfoResponse, error) {
	m, err := e.getModel(req.ModelID)
	if err != nil {
		return nil, err
	}
	isLora := true
	rank := m.lora.Rank
	return &protocol.GetInfoResponse{Type: "get_info", ModelID: m.id, ModelName: m.base.Name, IsLora: &isLora, LoraRank: &rank,
		ModelData: protocol.ModelData{Arch: m.base.Arch, ModelName: m.base.Name, TokenizerID: m.base.TokenizerID}}, nil
}

// WeightsInfo describes a checkpoint.
func (e *Engine) WeightsInfo(req protocol.WeightsInfoRequest) (*protocol.WeightsInfoResponse, error) {
	_, _, meta, err := e.openCheckpoint(req.TinkerPath)
	if err != nil {
		return nil, err
	}
	rank, a, mlp, u := meta.LoraRank, meta.TrainAttn, meta.TrainMLP, meta.TrainUnembed
	return &protocol.WeightsInfoResponse{BaseModel: meta.BaseModel, IsLora: true, LoraRank: &rank, TrainAttn: &a, TrainMLP: &mlp, TrainUnembed: &u}, nil
}

// Capabilities lists the served base models.
func (e *Engine) Capabilities() *protocol.ServerCapabilities {
	var out protocol.ServerCapabilities
	for _, b := range e.provider.Supported() {
		out.SupportedModels = append(out.SupportedModels, protocol.SupportedModel{ModelName: b.Name, MaxContextLength: b.MaxContext})
	}
	return &out
}

// ---------------------------------------------------------------------------
// Sampling

// CreateSamplingSession opens a sampler over a base model or a checkpoint.
func (e *Engine) CreateSamplingSession(req protocol.CreateSamplingSessionRequest) (*protocol.CreateSamplingSessionResponse, error) {
	if _, err := e.getSession(req.SessionID); err != nil {
		return nil, err
	}
	if req.SamplingSessionSeqID < 0 {
		return nil, userErr("sampling_session_seq_id = %d must be ≥ 0", req.SamplingSessionSeqID)
	}
	st, err := e.openSampler(req.BaseModel, req.ModelPath)
	if err != nil {
		return nil, err
	}
	st.id = req.SessionID + ":sample:" + strconv.Itoa(req.SamplingSessionSeqID)
	st.session = req.SessionID
	st.ephemeral = nil // reopened through the cache on each request
	e.addSampler(st)
	return &protocol.CreateSamplingSessionResponse{SamplingSessionID: st.id, Type: "create_sampling_session"}, nil
}

// openSampler builds (or takes from the cache) a sampler for a base model
// or a checkpoint path.
func (e *Engine) openSampler(baseModel, modelPath string) (*samplerState, error) {
	if modelPath == "" {
		if baseModel == "" {
			return nil, userErr("a sampling session needs base_model or model_path")
		}
		info, err := e.provider.Describe(baseModel)
		if err != nil {
			return nil, err
		}
		key := "base:" + info.Name
		sm, ok := e.samplerCache.get(key)
		if !ok {
			sm, err = e.provider.NewBaseSampler(info)
			if err != nil {
				return nil, err
			}
			e.samplerCache.put(key, sm)
		}
		return &samplerState{baseModel: info.Name, base: info, ephemeral: sm}, nil
	}
	_, dir, meta, err := e.openCheckpoint(modelPath)
	if err != nil {
		return nil, err
	}
	if baseModel != "" && baseModel != meta.BaseModel {
		if bi, err := e.provider.Describe(baseModel); err != nil || bi.Name != meta.BaseModel {
			return nil, userErr("checkpoint %s is for base model %s, not %s", modelPath, meta.BaseModel, baseModel)
		}
	}
	info, err := e.provider.Describe(meta.BaseModel)
	if err != nil {
		return nil, err
	}
	sm, ok := e.samplerCache.get(meta.TinkerPath)
	if !ok {
		lora := protocol.LoraConfig{Rank: meta.LoraRank, TrainAttn: meta.TrainAttn, TrainMLP: meta.TrainMLP, TrainUnembed: meta.TrainUnembed}
		sm, err = e.provider.LoadSampler(info, lora, dir)
		if err != nil {
			return nil, userErr("loading %s for sampling: %v", modelPath, err)
		}
		e.samplerCache.put(meta.TinkerPath, sm)
	}
	return &samplerState{baseModel: info.Name, modelPath: meta.TinkerPath, base: info, ephemeral: sm}, nil
}

// SamplerInfo describes a sampling session.
func (e *Engine) SamplerInfo(id string) (*protocol.SamplerInfoResponse, error) {
	e.mu.Lock()
	s, ok := e.samplers[id]
	e.mu.Unlock()
	if !ok {
		return nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown sampler %q", id), Status: 404}
	}
	return &protocol.SamplerInfoResponse{SamplerID: s.id, BaseModel: s.baseModel, ModelPath: s.modelPath}, nil
}

func seedFor(samplerID string, seq int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(samplerID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(seq)))
	return h.Sum64()
}

// Sample queues a sampling request. Sampling does not wait for training:
// a sampler holds frozen weights, and up to SampleConcurrency requests run
// at once.
func (e *Engine) Sample(req protocol.SampleRequest) (*future, error) {
	var st *samplerState
	if req.SamplingSessionID != "" {
		e.mu.Lock()
		st = e.samplers[req.SamplingSessionID]
		e.mu.Unlock()
		if st == nil {
			return nil, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown sampling_session_id %q (create one with create_sampling_session or save_weights_for_sampler)", req.SamplingSessionID), Status: 404}
		}
	} else {
		var err error
		st, err = e.openSampler(req.BaseModel, req.ModelPath)
		if err != nil {
			return nil, err
		}
		st.id = "direct"
	}
	spec, err := buildSampleSpec(st, req)
	if err != nil {
		return nil, err
	}
	sm, err := e.samplerModel(st)
	if err != nil {
		return nil, err
	}
	f := e.futures.create(protocol.RequestTypeSample, st.id)
	go func() {
		e.sampleSem <- struct{}{}
		defer func() { <-e.sampleSem }()
		var res *Result
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = serverErr("internal error while sampling: %v", r)
				}
			}()
			var out *SampleOutput
			out, err = sm.Sample(context.Background(), spec)
			if err == nil {
				res, err = sampleResult(out, spec)
			}
		}()
		e.futures.complete(f, res, err)
	}()
	return f, nil
}

func buildSampleSpec(st *samplerState, req protocol.SampleRequest) (SampleSpec, error) {
	info := st.base
	p := req.SamplingParams
	if err := p.Validate(); err != nil {
		return SampleSpec{}, userErr("%v", err)
	}
	if req.NumSamples < 1 || req.NumSamples > 1024 {
		return SampleSpec{}, userErr("num_samples = %d must be in [1,1024]", req.NumSamples)
	}
	prompt, err := req.Prompt.Tokens()
	if err != nil {
		return SampleSpec{}, userErr("prompt: %v (the local backend only takes text)", err)
	}
	if len(prompt) == 0 {
		return SampleSpec{}, userErr("prompt is empty")
	}
	if len(prompt) > info.MaxContext {
		return SampleSpec{}, userErr("prompt has %d tokens, longer than %s's context of %d", len(prompt), info.Name, info.MaxContext)
	}
	for j, t := range prompt {
		if t < 0 || int(t) >= info.VocabSize {
			return SampleSpec{}, userErr("prompt token %d at position %d is out of vocabulary [0,%d) of %s", t, j, info.VocabSize, info.Name)
		}
	}
	if req.TopkPromptLogprobs < 0 || req.TopkPromptLogprobs > info.VocabSize {
		return SampleSpec{}, userErr("topk_prompt_logprobs = %d must be in [0,%d]", req.TopkPromptLogprobs, info.VocabSize)
	}
	maxTok := info.MaxContext - len(prompt)
	if p.MaxTokens != nil {
		if *p.MaxTokens > maxTok {
			// Generation stops at the context length with stop_reason
			// "length"; that is not an error.
		} else {
			maxTok = *p.MaxTokens
		}
	}
	spec := SampleSpec{Prompt: prompt, NumSamples: req.NumSamples, MaxTokens: maxTok, Temperature: p.Temperature, TopK: p.TopK, TopP: p.TopP,
		PromptLogprobs: req.PromptLogprobs || req.TopkPromptLogprobs > 0, TopKPromptLogprobs: req.TopkPromptLogprobs}
	if p.Seed != nil {
		spec.Seed = uint64(*p.Seed)
	} else {
		spec.Seed = seedFor(st.id, req.SeqID)
	}
	if p.Stop != nil {
		for _, t := range p.Stop.Tokens {
			if t < 0 || int(t) >= info.VocabSize {
				return SampleSpec{}, userErr("stop token %d is out of vocabulary [0,%d) of %s", t, info.VocabSize, info.Name)
			}
		}
		spec.StopTokens = p.Stop.Tokens
		for _, s := range p.Stop.Strings {
			if s == "" {
				return SampleSpec{}, userErr("stop strings must not be empty")
			}
		}
		spec.StopStrings = p.Stop.Strings
		if len(spec.StopStrings) > 0 && info.Tokenizer == nil {
			return SampleSpec{}, userErr("stop strings need a tokenizer for %s; pass stop token ids instead", info.Name)
		}
	}
	return spec, nil
}

// ---------------------------------------------------------------------------
// Futures

// RetrieveFuture waits (up to the long-poll window) for a future.
func (e *Engine) retrieve(ctx context.Context, id string) (*future, lookupState, bool) {
	f, st := e.futures.get(id)
	if st != futureFound {
		return nil, st, false
	}
	return f, st, e.futures.wait(ctx, f, e.opts.LongPoll)
}

// ---------------------------------------------------------------------------
// Small helpers

type lruCache struct {
	mu    sync.Mutex
	cap   int
	order []string
	items map[string]SamplerModel
}

func newLRU(n int) *lruCache { return &lruCache{cap: n, items: map[string]SamplerModel{}} }

func (c *lruCache) get(k string) (SamplerModel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[k]
	if ok {
		c.bump(k)
	}
	return v, ok
}

func (c *lruCache) put(k string, v SamplerModel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		c.items[k] = v
		c.bump(k)
		return
	}
	c.items[k] = v
	c.order = append(c.order, k)
	for len(c.order) > c.cap {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *lruCache) bump(k string) {
	for i, x := range c.order {
		if x == k {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), k)
			return
		}
	}
}

func (c *lruCache) drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; !ok {
		return
	}
	delete(c.items, k)
	for i, x := range c.order {
		if x == k {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			return
		}
	}
}
