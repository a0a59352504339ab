package protocol

import (
	"encoding/json"
	"fmt"
)

// errorf is fmt.Errorf; a separate name keeps call sites short.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// MarshalJSON writes loss_fn_inputs as {} rather than null when empty.
func (d Datum) MarshalJSON() ([]byte, error) {
	in := d.LossFnInputs
	if in == nil {
		in = map[string]TensorData{}
	}
	return json.Marshal(struct {
		ModelInput   ModelInput            `json:"model_input"`
		LossFnInputs map[string]TensorData `json:"loss_fn_inputs"`
	}{d.ModelInput, in})
}

// ---------------------------------------------------------------------------
// Parameters

// AdamParams are AdamW hyper-parameters (torch AdamW with decoupled weight
// decay; GradClipNorm 0 = no clipping).
type AdamParams struct {
	LearningRate float64 `json:"learning_rate"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WeightDecay  float64 `json:"weight_decay"`
	GradClipNorm float64 `json:"grad_clip_norm"`
}

// DefaultAdamParams are the SDK defaults: lr 1e-4, betas (0.9, 0.95), eps
// 1e-12, no weight decay, no clipping.
func DefaultAdamParams() AdamParams {
	return AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-12}
}

// UnmarshalJSON fills SDK defaults for missing fields.
func (p *AdamParams) UnmarshalJSON(b []byte) error {
	type plain AdamParams
	v := plain(DefaultAdamParams())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AdamParams(v)
	return nil
}

// Validate checks ranges (lr ≥ 0, 0 ≤ beta < 1, eps > 0, weight decay and
// clip norm ≥ 0).
func (p AdamParams) Validate() error {
	switch {
	case p.LearningRate < 0:
		return errorf("adam_params.learning_rate = %g must be ≥ 0", p.LearningRate)
	case p.Beta1 < 0 || p.Beta1 >= 1:
		return errorf("adam_params.beta1 = %g must be in [0,1)", p.Beta1)
	case p.Beta2 < 0 || p.Beta2 >= 1:
		return errorf("adam_params.beta2 = %g must be in [0,1)", p.Beta2)
	case p.Eps <= 0:
		return errorf("adam_params.eps = %g must be > 0", p.Eps)
	case p.WeightDecay < 0:
		return errorf("adam_params.weight_decay = %g must be ≥ 0", p.WeightDecay)
	case p.GradClipNorm < 0:
		return errorf("adam_params.grad_clip_norm = %g must be ≥ 0", p.GradClipNorm)
	}
	return nil
}

// LoraConfig configures a LoRA adapter. At least one Train* must be true.
type LoraConfig struct {
	Rank         int    `json:"rank"`
	Seed         *int64 `json:"seed,omitempty"`
	TrainUnembed bool   `json:"train_unembed"`
	TrainMLP     bool   `json:"train_mlp"`
	TrainAttn    bool   `json:"train_attn"`
}

// DefaultLoraRank is the SDK's default rank.
const DefaultLoraRank = 32

// DefaultLoraConfig is rank 32 training unembed, MLP and attention.
func DefaultLoraConfig() LoraConfig {
	return LoraConfig{Rank: DefaultLoraRank, TrainUnembed: true, TrainMLP: true, TrainAttn: true}
}

// UnmarshalJSON fills SDK defaults (train_* true) for missing fields.
func (c *LoraConfig) UnmarshalJSON(b []byte) error {
	type plain LoraConfig
	v := plain(DefaultLoraConfig())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = LoraConfig(v)
	return nil
}

// Validate checks rank > 0 and that something is trained.
func (c LoraConfig) Validate() error {
	if c.Rank <= 0 {
		return errorf("lora_config.rank = %d must be > 0", c.Rank)
	}
	if !c.TrainUnembed && !c.TrainMLP && !c.TrainAttn {
		return errorf("lora_config: at least one of train_unembed, train_mlp, train_attn must be true")
	}
	return nil
}

// Stop is SamplingParams.stop: a string, a list of strings, or a list of
// token ids. Zero value = no stop condition (omitted).
type Stop struct {
	Strings []string
	Tokens  []int32
	// Single marks a stop given as one bare string (it round-trips as a
	// JSON string rather than a list).
	Single bool
}

// IsZero reports whether no stop condition is set.
func (s Stop) IsZero() bool { return s.Strings == nil && s.Tokens == nil }

// MarshalJSON writes a string, [str] or [int].
func (s Stop) MarshalJSON() ([]byte, error) {
	switch {
	case s.Tokens != nil:
		return json.Marshal(s.Tokens)
	case s.Single && len(s.Strings) == 1:
		return json.Marshal(s.Strings[0])
	case s.Strings != nil:
		return json.Marshal(s.Strings)
	}
	return []byte("null"), nil
}

// UnmarshalJSON accepts a string, [str], [int] or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	*s = Stop{}
	if string(b) == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = Stop{Strings: []string{one}, Single: true}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errorf("stop: want a string, a list of strings or a list of token ids")
	}
	if len(raw) == 0 {
		s.Strings = []string{}
		return nil
	}
	if raw[0][0] == '"' {
		return json.Unmarshal(b, &s.Strings)
	}
	if err := json.Unmarshal(b, &s.Tokens); err != nil {
		return errorf("stop: want a string, a list of strings or a list of token ids")
	}
	return nil
}

// SamplingParams control sampling. Temperature/TopK/TopP are always sent;
// use DefaultSamplingParams (temperature 1, top_k -1, top_p 1) as a base:
// a zero Temperature means greedy decoding.
type SamplingParams struct {
	MaxTokens   *int    `json:"max_tokens,omitempty"`
	Seed        *int64  `json:"seed,omitempty"`
	Stop        *Stop   `json:"stop,omitempty"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`
}

// DefaultSamplingParams are the SDK defaults.
func DefaultSamplingParams() SamplingParams {
	return SamplingParams{Temperature: 1, TopK: -1, TopP: 1}
}

// UnmarshalJSON fills SDK defaults for missing fields.
func (p *SamplingParams) UnmarshalJSON(b []byte) error {
	type plain SamplingParams
	v := plain(DefaultSamplingParams())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Stop != nil && v.Stop.IsZero() {
		v.Stop = nil
	}
	*p = SamplingParams(v)
	return nil
}

// Validate checks ranges.
func (p SamplingParams) Validate() error {
	switch {
	case p.MaxTokens != nil && *p.MaxTokens < 0:
		return errorf("sampling_params.max_tokens = %d must be ≥ 0", *p.MaxTokens)
	case p.Temperature < 0:
		return errorf("sampling_params.temperature = %g must be ≥ 0", p.Temperature)
	case p.TopK == 0 || p.TopK < -1:
		return errorf("sampling_params.top_k = %d must be -1 (off) or ≥ 1", p.TopK)
	case p.TopP <= 0 || p.TopP > 1:
		return errorf("sampling_params.top_p = %g must be in (0,1]", p.TopP)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Bootstrap and session

// ClientConfigRequest is POST /client/config.
type ClientConfigRequest struct {
	SDKVersion string `json:"sdk_version"`
}

// ClientConfigResponse holds server feature flags; unknown keys are ignored
// and missing ones take the SDK defaults (UnmarshalJSON).
type ClientConfigResponse struct {
	PJWTAuthEnabled                     bool   `json:"pjwt_auth_enabled"`
	CredentialDefaultSource             string `json:"credential_default_source"`
	SampleDispatchBytesSemaphoreSize    int64  `json:"sample_dispatch_bytes_semaphore_size"`
	InflightResponseBytesSemaphoreSize  int64  `json:"inflight_response_bytes_semaphore_size"`
	ParallelFwdbwdChunks                bool   `json:"parallel_fwdbwd_chunks"`
	ProtoCompressFwdbwd                 bool   `json:"proto_compress_fwdbwd"`
	FwdbwdMaxChunkLen                   int    `json:"fwdbwd_max_chunk_len"`
	FwdbwdMaxChunkBytesCount            int64  `json:"fwdbwd_max_chunk_bytes_count"`
	FwdbwdDispatchBytesSemaphoreSize    int64  `json:"fwdbwd_dispatch_bytes_semaphore_size"`
	BillingExceptionMaxPauseDurationSec int    `json:"billing_exception_max_pause_duration_sec"`
	SampleNoRetries                     bool   `json:"sample_no_retries"`
	SampleEnableStuckDetection          bool   `json:"sample_enable_stuck_detection"`
	SampleMaxConcurrentRequests         int    `json:"sample_max_concurrent_requests"`
	UsePyqwestTransport                 bool   `json:"use_pyqwest_transport"`
	CreateModelViaLoadWeights           bool   `json:"create_model_via_load_weights"`
}

// DefaultClientConfig is the SDK's default flag set.
func DefaultClientConfig() ClientConfigResponse {
	return ClientConfigResponse{
		CredentialDefaultSource:             "api_key",
		SampleDispatchBytesSemaphoreSize:    10485760,
		InflightResponseBytesSemaphoreSize:  52428800,
		ParallelFwdbwdChunks:                true,
		FwdbwdMaxChunkLen:                   1024,
		FwdbwdMaxChunkBytesCount:            5000000,
		FwdbwdDispatchBytesSemaphoreSize:    50000000,
		BillingExceptionMaxPauseDurationSec: 3600,
		SampleEnableStuckDetection:          true,
		SampleMaxConcurrentRequests:         2000,
		UsePyqwestTransport:                 true,
	}
}

// UnmarshalJSON fills defaults for missing flags.
func (c *ClientConfigResponse) UnmarshalJSON(b []byte) error {
	type plain ClientConfigResponse
	v := plain(DefaultClientConfig())
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = ClientConfigResponse(v)
	return nil
}

// AuthTokenResponse is POST /auth/token's answer.
type AuthTokenResponse struct {
	JWT string `json:"jwt"`
}

// DynamicConfigResponse is POST /client/dynamic_config's answer (404 means
// defaults).
type DynamicConfigResponse struct {
	RefreshIntervalSec float64 `json:"refresh_interval_sec"`
}

// CreateSessionRequest is POST /create_session.
type CreateSessionRequest struct {
	Tags         []string          `json:"tags"`
	UserMetadata map[string]string `json:"user_metadata"`
	SDKVersion   string            `json:"sdk_version"`
	ProjectID    string            `json:"project_id,omitempty"`
	Type         string            `json:"type"`
}

// MarshalJSON sends tags/user_metadata as []/{} when empty and the type.
func (r CreateSessionRequest) MarshalJSON() ([]byte, error) {
	type plain CreateSessionRequest
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if r.UserMetadata == nil {
		r.UserMetadata = map[string]string{}
	}
	r.Type = orDefault(r.Type, "create_session")
	return json.Marshal(plain(r))
}

// CreateSessionResponse is the answer to create_session; the messages are
// only logged.
type CreateSessionResponse struct {
	SessionID      string `json:"session_id"`
	InfoMessage    string `json:"info_message,omitempty"`
	WarningMessage string `json:"warning_message,omitempty"`
	ErrorMessage   string `json:"error_message,omitempty"`
	Type           string `json:"type,omitempty"`
}

// SessionHeartbeatRequest is POST /session_heartbeat.
type SessionHeartbeatRequest struct {
	SessionID string `json:"session_id"`
	Type      string `json:"type"`
}

// MarshalJSON fills the type.
func (r SessionHeartbeatRequest) MarshalJSON() ([]byte, error) {
	type plain SessionHeartbeatRequest
	r.Type = orDefault(r.Type, "session_heartbeat")
	return json.Marshal(plain(r))
}

// SessionHeartbeatResponse is {"type":"session_heartbeat"}.
type SessionHeartbeatResponse struct {
	Type string `json:"type"`
}

// TelemetryEvent is one telemetry event; only the common fields and the
// GENERIC_EVENT/SESSION_* extras are modelled.
type TelemetryEvent struct {
	Event             string         `json:"event"` // SESSION_START|SESSION_END|UNHANDLED_EXCEPTION|GENERIC_EVENT
	EventID           string         `json:"event_id"`
	EventSessionIndex int            `json:"event_session_index"`
	Severity          string         `json:"severity"`
	Timestamp         string         `json:"timestamp"`
	Duration          string         `json:"duration,omitempty"`
	ErrorMessage      string         `json:"error_message,omitempty"`
	ErrorType         string         `json:"error_type,omitempty"`
	EventName         string         `json:"event_name,omitempty"`
	EventData         map[string]any `json:"event_data,omitempty"`
}

// TelemetryRequest is POST /telemetry.
type TelemetryRequest struct {
	Events      []TelemetryEvent `json:"events"`
	Platform    string           `json:"platform"`
	SDKVersion  string           `json:"sdk_version"`
	SessionID   string           `json:"session_id"`
	ProcessUUID string           `json:"process_uuid"`
}

// ---------------------------------------------------------------------------
// Direct endpoints

// SupportedModel is one entry of get_server_capabilities.
type SupportedModel struct {
	ModelName        string `json:"model_name,omitempty"`
	MaxContextLength int    `json:"max_context_length,omitempty"`
}

// ServerCapabilities is GET /get_server_capabilities.
type ServerCapabilities struct {
	SupportedModels []SupportedModel `json:"supported_models"`
}

// HealthResponse is GET /healthz.
type HealthResponse struct {
	Status string `json:"status"`
}

// GetInfoRequest is POST /get_info.
type GetInfoRequest struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type"`
}

// MarshalJSON fills the type.
func (r GetInfoRequest) MarshalJSON() ([]byte, error) {
	type plain GetInfoRequest
	r.Type = orDefault(r.Type, "get_info")
	return json.Marshal(plain(r))
}

// ModelData describes a model's architecture.
type ModelData struct {
	Arch        string `json:"arch,omitempty"`
	ModelName   string `json:"model_name,omitempty"`
	TokenizerID string `json:"tokenizer_id,omitempty"`
}

// GetInfoResponse is the answer to get_info.
type GetInfoResponse struct {
	Type      string    `json:"type,omitempty"`
	ModelID   string    `json:"model_id"`
	ModelData ModelData `json:"model_data"`
	IsLora    *bool     `json:"is_lora,omitempty"`
	LoraRank  *int      `json:"lora_rank,omitempty"`
	ModelName string    `json:"model_name,omitempty"`
}

// CreateSamplingSessionRequest is POST /create_sampling_session.
type CreateSamplingSessionRequest struct {
	SessionID            string `json:"session_id"`
	SamplingSessionSeqID int    `json:"sampling_session_seq_id"`
	BaseModel            string `json:"base_model,omitempty"`
	ModelPath            string `json:"model_path,omitempty"`
	Type                 string `json:"type"`
}

// MarshalJSON fills the type.
func (r CreateSamplingSessionRequest) MarshalJSON() ([]byte, error) {
	type plain CreateSamplingSessionRequest
	r.Type = orDefault(r.Type, "create_sampling_session")
	return json.Marshal(plain(r))
}

// CreateSamplingSessionResponse carries the new sampling session id.
type CreateSamplingSessionResponse struct {
	SamplingSessionID string `json:"sampling_session_id"`
	Type              string `json:"type,omitempty"`
}

// WeightsInfoRequest is POST /weights_info.
type WeightsInfoRequest struct {
	TinkerPath string `json:"tinker_path"`
}

// WeightsInfoResponse describes a checkpoint.
type WeightsInfoResponse struct {
	BaseModel    string `json:"base_model"`
	IsLora       bool   `json:"is_lora"`
	LoraRank     *int   `json:"lora_rank,omitempty"`
	TrainUnembed *bool  `json:"train_unembed,omitempty"`
	TrainMLP     *bool  `json:"train_mlp,omitempty"`
	TrainAttn    *bool  `json:"train_attn,omitempty"`
}

// SamplerInfoResponse is GET /samplers/{id}.
type SamplerInfoResponse struct {
	SamplerID string `json:"sampler_id"`
	BaseModel string `json:"base_model"`
	ModelPath string `json:"model_path,omitempty"`
}

// ---------------------------------------------------------------------------
// Future endpoints

// CreateModelRequest is POST /create_model.
type CreateModelRequest struct {
	SessionID    string            `json:"session_id"`
	ModelSeqID   int               `json:"model_seq_id"`
	BaseModel    string            `json:"base_model"`
	UserMetadata map[string]string `json:"user_metadata,omitempty"`
	LoraConfig   *LoraConfig       `json:"lora_config,omitempty"`
	Type         string            `json:"type"`
}

// MarshalJSON fills the type.
func (r CreateModelRequest) MarshalJSON() ([]byte, error) {
	type plain CreateModelRequest
	r.Type = orDefault(r.Type, "create_model")
	return json.Marshal(plain(r))
}

// CreateModelResponse is create_model's result.
type CreateModelResponse struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type"`
}

// MarshalJSON fills the type.
func (r CreateModelResponse) MarshalJSON() ([]byte, error) {
	type plain CreateModelResponse
	r.Type = orDefault(r.Type, "create_model")
	return json.Marshal(plain(r))
}

// ForwardBackwardInput is the batch of a forward(_backward) call.
type ForwardBackwardInput struct {
	Data         []Datum            `json:"data"`
	LossFn       string             `json:"loss_fn"`
	LossFnConfig map[string]float64 `json:"loss_fn_config,omitempty"`
}

// ForwardBackwardRequest is POST /forward_backward, sent as the protobuf
// tinker_public.ForwardBackwardRequest (EncodeForwardBackwardRequest).
type ForwardBackwardRequest struct {
	ModelID      string
	SeqID        int32
	Data         []Datum
	LossFn       string
	LossFnConfig map[string]float64
	ForwardOnly  bool
}

// LegacyForwardBackwardRequest is the JSON form of /forward_backward and
// /forward used by SDK ≤0.24.
type LegacyForwardBackwardRequest struct {
	ForwardBackwardInput *ForwardBackwardInput `json:"forward_backward_input,omitempty"`
	ForwardInput         *ForwardBackwardInput `json:"forward_input,omitempty"`
	ModelID              string                `json:"model_id"`
	SeqID                int                   `json:"seq_id"`
}

// ForwardBackwardOutput is the result of forward(_backward): one dict of
// output tensors per datum (typically {"logprobs": float32 (N,)}) and
// metrics keyed `name:reduction`.
type ForwardBackwardOutput struct {
	LossFnOutputType string                  `json:"loss_fn_output_type"`
	LossFnOutputs    []map[string]TensorData `json:"loss_fn_outputs"`
	Metrics          map[string]float64      `json:"metrics"`
}

// OptimStepRequest is POST /optim_step.
type OptimStepRequest struct {
	AdamParams AdamParams `json:"adam_params"`
	ModelID    string     `json:"model_id"`
	SeqID      int        `json:"seq_id"`
	Type       string     `json:"type"`
}

// MarshalJSON fills the type.
func (r OptimStepRequest) MarshalJSON() ([]byte, error) {
	type plain OptimStepRequest
	r.Type = orDefault(r.Type, "optim_step")
	return json.Marshal(plain(r))
}

// OptimStepResponse is optim_step's result.
type OptimStepResponse struct {
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// SaveWeightsRequest is POST /save_weights.
type SaveWeightsRequest struct {
	ModelID    string `json:"model_id"`
	Path       string `json:"path"`
	SeqID      int    `json:"seq_id"`
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
	Overwrite  bool   `json:"overwrite"`
	Type       string `json:"type"`
}

// MarshalJSON fills the type.
func (r SaveWeightsRequest) MarshalJSON() ([]byte, error) {
	type plain SaveWeightsRequest
	r.Type = orDefault(r.Type, "save_weights")
	return json.Marshal(plain(r))
}

// SaveWeightsResponse carries tinker://<model_id>/weights/<name>.
type SaveWeightsResponse struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// SaveWeightsForSamplerRequest is POST /save_weights_for_sampler: named
// (Path set) or unnamed (SamplingSessionSeqID set; the result then carries
// a sampling_session_id).
type SaveWeightsForSamplerRequest struct {
	ModelID              string `json:"model_id"`
	Path                 string `json:"path,omitempty"`
	SeqID                int    `json:"seq_id"`
	SamplingSessionSeqID *int   `json:"sampling_session_seq_id,omitempty"`
	TTLSeconds           *int64 `json:"ttl_seconds,omitempty"`
	Type                 string `json:"type"`
}

// MarshalJSON fills the type.
func (r SaveWeightsForSamplerRequest) MarshalJSON() ([]byte, error) {
	type plain SaveWeightsForSamplerRequest
	r.Type = orDefault(r.Type, "save_weights_for_sampler")
	return json.Marshal(plain(r))
}

// SaveWeightsForSamplerResponse is save_weights_for_sampler's result.
type SaveWeightsForSamplerResponse struct {
	Path              string `json:"path,omitempty"`
	SamplingSessionID string `json:"sampling_session_id,omitempty"`
	Type              string `json:"type,omitempty"`
}

// LoadWeightsRequest is POST /load_weights, legacy form (ModelID+SeqID) or
// create-via-load form (SessionID+ModelSeqID, no create_model before it).
type LoadWeightsRequest struct {
	ModelID            string            `json:"model_id,omitempty"`
	SeqID              int               `json:"seq_id,omitempty"`
	SessionID          string            `json:"session_id,omitempty"`
	ModelSeqID         *int              `json:"model_seq_id,omitempty"`
	BaseModel          string            `json:"base_model,omitempty"`
	UserMetadata       map[string]string `json:"user_metadata,omitempty"`
	Path               string            `json:"path"`
	Optimizer          bool              `json:"optimizer"`
	WeightsAccessToken string            `json:"weights_access_token,omitempty"`
	Type               string            `json:"type"`
}

// MarshalJSON fills the type.
func (r LoadWeightsRequest) MarshalJSON() ([]byte, error) {
	type plain LoadWeightsRequest
	r.Type = orDefault(r.Type, "load_weights")
	return json.Marshal(plain(r))
}

// LoadWeightsResponse is load_weights' result.
type LoadWeightsResponse struct {
	Path    string `json:"path,omitempty"`
	ModelID string `json:"model_id,omitempty"`
	Type    string `json:"type,omitempty"`
}

// SampleRequest is POST /asample (JSON; the result is a protobuf
// SampleResponse).
type SampleRequest struct {
	NumSamples         int            `json:"num_samples"`
	Prompt             ModelInput     `json:"prompt"`
	SamplingParams     SamplingParams `json:"sampling_params"`
	SamplingSessionID  string         `json:"sampling_session_id,omitempty"`
	SeqID              int            `json:"seq_id"`
	BaseModel          string         `json:"base_model,omitempty"`
	ModelPath          string         `json:"model_path,omitempty"`
	PromptLogprobs     bool           `json:"prompt_logprobs"`
	TopkPromptLogprobs int            `json:"topk_prompt_logprobs"`
	Type               string         `json:"type"`
}

// MarshalJSON fills the type.
func (r SampleRequest) MarshalJSON() ([]byte, error) {
	type plain SampleRequest
	r.Type = orDefault(r.Type, "sample")
	return json.Marshal(plain(r))
}

// UnloadModelRequest is POST /unload_model.
type UnloadModelRequest struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type"`
}

// MarshalJSON fills the type.
func (r UnloadModelRequest) MarshalJSON() ([]byte, error) {
	type plain UnloadModelRequest
	r.Type = orDefault(r.Type, "unload_model")
	return json.Marshal(plain(r))
}

// UnloadModelResponse is unload_model's result.
type UnloadModelResponse struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type,omitempty"`
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
