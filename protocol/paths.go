package protocol

import (
	"net/url"
	"strings"
)

// SDKVersion is the Python SDK version whose wire format this package
// implements; it is sent as "sdk_version" in bootstrap requests.
const SDKVersion = "0.25.0"

// DefaultBaseURL is the hosted service.
const DefaultBaseURL = "https://tinker.thinkingmachines.dev/services/tinker-prod"

// Endpoint paths, relative to the base URL.
const (
	PathClientConfig          = "/api/v1/client/config"
	PathAuthToken             = "/api/v1/auth/token"
	PathClientDynamicConfig   = "/api/v1/client/dynamic_config"
	PathCreateSession         = "/api/v1/create_session"
	PathSessionHeartbeat      = "/api/v1/session_heartbeat"
	PathTelemetry             = "/api/v1/telemetry"
	PathGetServerCapabilities = "/api/v1/get_server_capabilities"
	PathHealthz               = "/api/v1/healthz"
	PathGetInfo               = "/api/v1/get_info"
	PathCreateSamplingSession = "/api/v1/create_sampling_session"
	PathWeightsInfo           = "/api/v1/weights_info"
	PathSamplersPrefix        = "/api/v1/samplers/" // + sampler id

	PathCreateModel           = "/api/v1/create_model"
	PathForwardBackward       = "/api/v1/forward_backward"
	PathForward               = "/api/v1/forward" // legacy JSON forward (SDK ≤0.24)
	PathOptimStep             = "/api/v1/optim_step"
	PathSaveWeights           = "/api/v1/save_weights"
	PathSaveWeightsForSampler = "/api/v1/save_weights_for_sampler"
	PathLoadWeights           = "/api/v1/load_weights"
	PathASample               = "/api/v1/asample"
	PathUnloadModel           = "/api/v1/unload_model"
	PathRetrieveFuture        = "/api/v1/retrieve_future"

	PathTrainingRuns = "/api/v1/training_runs"
	PathCheckpoints  = "/api/v1/checkpoints"
	PathSessions     = "/api/v1/sessions"
	PathAudit        = "/api/v1/audit"
	PathBillingUsage = "/api/v1/billing/usage/events"
)

// SamplerPath is GET /api/v1/samplers/{id}.
func SamplerPath(samplerID string) string { return PathSamplersPrefix + url.PathEscape(samplerID) }

// TrainingRunPath is /api/v1/training_runs/{id}.
func TrainingRunPath(runID string) string { return PathTrainingRuns + "/" + url.PathEscape(runID) }

// TrainingRunCheckpointsPath is /api/v1/training_runs/{id}/checkpoints.
func TrainingRunCheckpointsPath(runID string) string { return TrainingRunPath(runID) + "/checkpoints" }

// CheckpointPath is /api/v1/training_runs/{id}/checkpoints/{ckpt}. The
// checkpoint id contains a slash ("weights/<name>" or
// "sampler_weights/<name>") which stays a path separator; every segment is
// escaped on its own.
func CheckpointPath(runID, checkpointID string) string {
	segs := strings.Split(checkpointID, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return TrainingRunCheckpointsPath(runID) + "/" + strings.Join(segs, "/")
}

// SessionPath is /api/v1/sessions/{sid}.
func SessionPath(sessionID string) string { return PathSessions + "/" + url.PathEscape(sessionID) }

// HTTP headers used by the protocol.
const (
	HeaderAPIKey                   = "X-API-Key"
	HeaderIdempotencyKey           = "X-Idempotency-Key"
	HeaderRequestIteration         = "X-Tinker-Request-Iteration"
	HeaderRequestType              = "X-Tinker-Request-Type"
	HeaderPromiseRoundtripTime     = "X-Tinker-Create-Promise-Roundtrip-Time"
	HeaderSamplingBackpressure     = "X-Tinker-Sampling-Backpressure"
	HeaderRetryAfter               = "Retry-After"
	HeaderRetryAfterMs             = "Retry-After-Ms"
	HeaderShouldRetry              = "X-Should-Retry"
	ContentTypeJSON                = "application/json"
	ContentTypeProtobuf            = "application/x-protobuf"
	HeaderCloudflareAccessClientID = "CF-Access-Client-Id"
	HeaderCloudflareAccessSecret   = "CF-Access-Client-Secret"
)

// IsProtobufContentType reports whether a Content-Type or Accept value
// names protobuf. Newer SDKs send "application/x-protobuf, application/json",
// so this matches by substring.
func IsProtobufContentType(v string) bool { return strings.Contains(v, ContentTypeProtobuf) }

// Request types sent in X-Tinker-Request-Type on retrieve_future.
const (
	RequestTypeCreateModel           = "CreateModel"
	RequestTypeForwardBackward       = "ForwardBackward"
	RequestTypeForward               = "Forward"
	RequestTypeOptimStep             = "OptimStep"
	RequestTypeSaveWeights           = "SaveWeights"
	RequestTypeLoadWeights           = "LoadWeights"
	RequestTypeSaveWeightsForSampler = "SaveWeightsForSampler"
	RequestTypeSample                = "Sample"
	RequestTypeUnloadModel           = "UnloadModel"
)

// TinkerPathScheme prefixes checkpoint paths: tinker://<run>/weights/<name>.
const TinkerPathScheme = "tinker://"

// CheckpointKind* are the two checkpoint directories.
const (
	CheckpointKindWeights        = "weights"
	CheckpointKindSamplerWeights = "sampler_weights"
)

// TinkerPath is a parsed checkpoint path tinker://<run>/<kind>/<name>.
type TinkerPath struct {
	TrainingRunID string
	Kind          string // "weights" or "sampler_weights"
	Name          string
}

// String renders tinker://run/kind/name.
func (p TinkerPath) String() string {
	return TinkerPathScheme + p.TrainingRunID + "/" + p.Kind + "/" + p.Name
}

// CheckpointID is "<kind>/<name>", the id used by the REST endpoints.
func (p TinkerPath) CheckpointID() string { return p.Kind + "/" + p.Name }

// ParseTinkerPath parses tinker://<run>/{weights|sampler_weights}/<name>.
func ParseTinkerPath(s string) (TinkerPath, error) {
	rest, ok := strings.CutPrefix(s, TinkerPathScheme)
	if !ok {
		return TinkerPath{}, errorf("checkpoint path %q: must start with %s", s, TinkerPathScheme)
	}
	run, tail, ok := strings.Cut(rest, "/")
	if !ok || run == "" {
		return TinkerPath{}, errorf("checkpoint path %q: want tinker://<run>/weights/<name> or tinker://<run>/sampler_weights/<name>", s)
	}
	kind, name, ok := strings.Cut(tail, "/")
	if !ok || name == "" || (kind != CheckpointKindWeights && kind != CheckpointKindSamplerWeights) {
		return TinkerPath{}, errorf("checkpoint path %q: want tinker://<run>/weights/<name> or tinker://<run>/sampler_weights/<name>", s)
	}
	return TinkerPath{TrainingRunID: run, Kind: kind, Name: name}, nil
}
