package protocol

import (
	"encoding/json"
	"strings"
	"time"
)

// Time is a timestamp that accepts the ISO 8601 forms Python emits (with or
// without a zone, with or without fractional seconds) and writes RFC 3339.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses an ISO 8601 timestamp; zone-less values are UTC.
func ParseTime(s string) (Time, error) {
	var firstErr error
	for _, l := range timeLayouts {
		t, err := time.Parse(l, s)
		if err == nil {
			return Time{t}, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return Time{}, firstErr
}

// MarshalJSON writes RFC 3339 (null for the zero time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON accepts ISO 8601 strings and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseTime(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// Cursor paginates REST listings.
type Cursor struct {
	Offset     int `json:"offset"`
	Limit      int `json:"limit"`
	TotalCount int `json:"total_count"`
}

// Checkpoint types.
const (
	CheckpointTypeTraining = "training"
	CheckpointTypeSampler  = "sampler"
)

// Checkpoint is one saved checkpoint.
type Checkpoint struct {
	CheckpointID   string `json:"checkpoint_id"`   // "weights/<n>" or "sampler_weights/<n>"
	CheckpointType string `json:"checkpoint_type"` // training|sampler
	Time           Time   `json:"time"`
	TinkerPath     string `json:"tinker_path"`
	SizeBytes      *int64 `json:"size_bytes,omitempty"`
	Public         bool   `json:"public"`
	ExpiresAt      *Time  `json:"expires_at,omitempty"`
}

// TrainingRun describes one training run (= model id).
type TrainingRun struct {
	TrainingRunID         string            `json:"training_run_id"`
	BaseModel             string            `json:"base_model"`
	ModelOwner            string            `json:"model_owner"`
	IsLora                bool              `json:"is_lora"`
	Corrupted             bool              `json:"corrupted"`
	LoraRank              *int              `json:"lora_rank,omitempty"`
	LastRequestTime       Time              `json:"last_request_time"`
	LastCheckpoint        *Checkpoint       `json:"last_checkpoint,omitempty"`
	LastSamplerCheckpoint *Checkpoint       `json:"last_sampler_checkpoint,omitempty"`
	UserMetadata          map[string]string `json:"user_metadata,omitempty"`
}

// TrainingRunsResponse is GET /training_runs.
type TrainingRunsResponse struct {
	TrainingRuns []TrainingRun `json:"training_runs"`
	Cursor       Cursor        `json:"cursor"`
}

// CheckpointsListResponse is GET /training_runs/{id}/checkpoints and GET
// /checkpoints.
type CheckpointsListResponse struct {
	Checkpoints []Checkpoint `json:"checkpoints"`
	Cursor      *Cursor      `json:"cursor,omitempty"`
}

// SetCheckpointTTLRequest is PUT …/ttl; nil TTL clears the expiry (null is
// sent, never omitted).
type SetCheckpointTTLRequest struct {
	TTLSeconds *int64 `json:"ttl_seconds"`
}

// CheckpointArchiveURLResponse is the 200 form of GET …/archive (the other
// form is a 302 with Location and an optional Expires header).
type CheckpointArchiveURLResponse struct {
	URL     string `json:"url"`
	Expires Time   `json:"expires"`
}

// SessionResponse is GET /sessions/{sid}.
type SessionResponse struct {
	TrainingRunIDs []string `json:"training_run_ids"`
	SamplerIDs     []string `json:"sampler_ids"`
}

// ListSessionsResponse is GET /sessions.
type ListSessionsResponse struct {
	Sessions []string `json:"sessions"`
}

// AssignProjectRequest is PUT /sessions/{sid}/project.
type AssignProjectRequest struct {
	ProjectID string `json:"project_id"`
}

// TraceExportResponse is GET /sessions/{sid}/trace_export.
type TraceExportResponse struct {
	Status string `json:"status"` // pending|ready|failed
	URL    string `json:"url,omitempty"`
	Error  string `json:"error,omitempty"`
}

// AuditEntry is one audit-log entry.
type AuditEntry struct {
	Timestamp  Time   `json:"timestamp"`
	Event      string `json:"event"`
	ModelID    string `json:"model_id,omitempty"`
	TinkerPath string `json:"tinker_path,omitempty"`
	Purpose    string `json:"purpose,omitempty"`
}

// AuditLogResponse is GET /audit.
type AuditLogResponse struct {
	Entries []AuditEntry `json:"entries"`
}

// BillingUsageEvent is one billing bucket; EventInfo's "type" is training,
// sampling_prefill, sampling_sample, checkpoint or storage.
type BillingUsageEvent struct {
	BucketStart Time           `json:"bucket_start"`
	BucketEnd   Time           `json:"bucket_end"`
	BaseModel   string         `json:"base_model,omitempty"`
	UserID      string         `json:"user_id,omitempty"`
	UserName    string         `json:"user_name,omitempty"`
	SessionID   string         `json:"session_id,omitempty"`
	ProjectID   string         `json:"project_id,omitempty"`
	EventInfo   map[string]any `json:"event_info"`
}

// BillingUsageResponse is GET /billing/usage/events.
type BillingUsageResponse struct {
	Data     []BillingUsageEvent       `json:"data"`
	Sessions map[string]map[string]any `json:"sessions,omitempty"`
}
