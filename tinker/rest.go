package tinker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// RestClient wraps the REST endpoints: training runs, checkpoints,
// sessions, audit log, billing.
type RestClient struct{ s *ServiceClient }

func (rc *RestClient) get(ctx context.Context, path string, q url.Values, out any) error {
	if err := rc.s.ensureBoot(ctx); err != nil {
		return err
	}
	return rc.s.c.doJSON(ctx, http.MethodGet, path, q, nil, out, true)
}

func (rc *RestClient) send(ctx context.Context, method, path string, in any) error {
	if err := rc.s.ensureBoot(ctx); err != nil {
		return err
	}
	return rc.s.c.doJSON(ctx, method, path, nil, in, nil, true)
}

func scopeQuery(scope string) url.Values {
	q := url.Values{}
	if scope != "" {
		q.Set("access_scope", scope)
	}
	return q
}

// GetTrainingRun fetches one run; scope is "owned", "accessible" or "".
func (rc *RestClient) GetTrainingRun(ctx context.Context, runID, scope string) (*protocol.TrainingRun, error) {
	var out protocol.TrainingRun
	if err := rc.get(ctx, protocol.TrainingRunPath(runID), scopeQuery(scope), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTrainingRunByTinkerPath fetches the run of a checkpoint path.
func (rc *RestClient) GetTrainingRunByTinkerPath(ctx context.Context, path string) (*protocol.TrainingRun, error) {
	tp, err := protocol.ParseTinkerPath(path)
	if err != nil {
		return nil, fmt.Errorf("tinker: %w", err)
	}
	return rc.GetTrainingRun(ctx, tp.TrainingRunID, "")
}

// ListTrainingRuns pages through runs (limit default 20).
func (rc *RestClient) ListTrainingRuns(ctx context.Context, limit, offset int, scope, projectID string) (*protocol.TrainingRunsResponse, error) {
	if limit <= 0 {
		limit = 20
	}
	q := scopeQuery(scope)
	if q.Get("access_scope") == "" {
		q.Set("access_scope", "owned")
	}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	if projectID != "" {
		q.Set("project_id", projectID)
	}
	var out protocol.TrainingRunsResponse
	if err := rc.get(ctx, protocol.PathTrainingRuns, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCheckpoints lists a run's checkpoints.
func (rc *RestClient) ListCheckpoints(ctx context.Context, runID string) (*protocol.CheckpointsListResponse, error) {
	var out protocol.CheckpointsListResponse
	if err := rc.get(ctx, protocol.TrainingRunCheckpointsPath(runID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListUserCheckpoints lists all of the user's checkpoints (limit default 100).
func (rc *RestClient) ListUserCheckpoints(ctx context.Context, limit, offset int) (*protocol.CheckpointsListResponse, error) {
	if limit <= 0 {
		limit = 100
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
	var out protocol.CheckpointsListResponse
	if err := rc.get(ctx, protocol.PathCheckpoints, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func splitPath(path string) (string, string, error) {
	tp, err := protocol.ParseTinkerPath(path)
	if err != nil {
		return "", "", fmt.Errorf("tinker: %w", err)
	}
	return tp.TrainingRunID, tp.CheckpointID(), nil
}

// DeleteCheckpoint deletes run/ckpt ("weights/<n>" or "sampler_weights/<n>").
func (rc *RestClient) DeleteCheckpoint(ctx context.Context, runID, checkpointID string) error {
	return rc.send(ctx, http.MethodDelete, protocol.CheckpointPath(runID, checkpointID), nil)
}

// DeleteCheckpointFromTinkerPath deletes tinker://run/kind/name.
func (rc *RestClient) DeleteCheckpointFromTinkerPath(ctx context.Context, path string) error {
	run, ck, err := splitPath(path)
	if err != nil {
		return err
	}
	return rc.DeleteCheckpoint(ctx, run, ck)
}

// PublishCheckpoint makes a checkpoint public (409 if already public).
func (rc *RestClient) PublishCheckpoint(ctx context.Context, runID, checkpointID string) error {
	return rc.send(ctx, http.MethodPost, protocol.CheckpointPath(runID, checkpointID)+"/publish", nil)
}

// UnpublishCheckpoint makes a checkpoint private (409 if already private).
func (rc *RestClient) UnpublishCheckpoint(ctx context.Context, runID, checkpointID string) error {
	return rc.send(ctx, http.MethodDelete, protocol.CheckpointPath(runID, checkpointID)+"/publish", nil)
}

// PublishCheckpointFromTinkerPath / UnpublishCheckpointFromTinkerPath take a tinker:// path.
func (rc *RestClient) PublishCheckpointFromTinkerPath(ctx context.Context, path string, public bool) error {
	run, ck, err := splitPath(path)
	if err != nil {
		return err
	}
	if public {
		return rc.PublishCheckpoint(ctx, run, ck)
	}
	return rc.UnpublishCheckpoint(ctx, run, ck)
}

// SetCheckpointTTL sets (or with nil clears) a checkpoint's time to live.
func (rc *RestClient) SetCheckpointTTL(ctx context.Context, runID, checkpointID string, ttlSeconds *int64) error {
	if ttlSeconds != nil && *ttlSeconds <= 0 {
		return fmt.Errorf("tinker: set_checkpoint_ttl: ttl_seconds = %d must be > 0 (or None to clear)", *ttlSeconds)
	}
	return rc.send(ctx, http.MethodPut, protocol.CheckpointPath(runID, checkpointID)+"/ttl", protocol.SetCheckpointTTLRequest{TTLSeconds: ttlSeconds})
}

// SetCheckpointTTLFromTinkerPath is SetCheckpointTTL on a tinker:// path.
func (rc *RestClient) SetCheckpointTTLFromTinkerPath(ctx context.Context, path string, ttlSeconds *int64) error {
	run, ck, err := splitPath(path)
	if err != nil {
		return err
	}
	return rc.SetCheckpointTTL(ctx, run, ck, ttlSeconds)
}

// ArchiveURL is a signed download URL of a checkpoint archive (a tar of a
// PEFT adapter).
type ArchiveURL struct {
	URL     string
	Expires time.Time
}

// GetCheckpointArchiveURL asks for a checkpoint's archive URL: a 302 with
// Location (and Expires, else 15 min) or 200 {"url","expires"}; a 503
// means "still building" and is retried every 30 s, up to 6 times.
func (rc *RestClient) GetCheckpointArchiveURL(ctx context.Context, runID, checkpointID string) (*ArchiveURL, error) {
	if err := rc.s.ensureBoot(ctx); err != nil {
		return nil, err
	}
	c := rc.s.c
	r := &request{method: http.MethodGet, path: protocol.CheckpointPath(runID, checkpointID) + "/archive", noRedirect: true}
	for attempt := 0; ; attempt++ {
		resp, err := c.do(ctx, &request{method: r.method, path: r.path, noRedirect: true})
		if ae, ok := err.(*APIError); ok && ae.Status == http.StatusServiceUnavailable && attempt < 6 {
			if err := c.clock.Sleep(ctx, 30*time.Second); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if resp.status >= 300 && resp.status < 400 {
			loc := resp.header.Get("Location")
			if loc == "" {
				return nil, &MalformedResponseError{Method: r.method, Path: r.path, Err: fmt.Errorf("%d without Location", resp.status)}
			}
			exp := c.clock.Now().Add(15 * time.Minute)
			if e := resp.header.Get("Expires"); e != "" {
				if t, err := http.ParseTime(e); err == nil {
					exp = t
				}
			}
			return &ArchiveURL{URL: loc, Expires: exp}, nil
		}
		var out protocol.CheckpointArchiveURLResponse
		if err := c.decodeJSON(r, resp.body, &out); err != nil {
			return nil, err
		}
		if out.URL == "" {
			return nil, &MalformedResponseError{Method: r.method, Path: r.path, Err: fmt.Errorf("no url")}
		}
		return &ArchiveURL{URL: out.URL, Expires: out.Expires.Time}, nil
	}
}

// GetCheckpointArchiveURLFromTinkerPath is GetCheckpointArchiveURL on a path.
func (rc *RestClient) GetCheckpointArchiveURLFromTinkerPath(ctx context.Context, path string) (*ArchiveURL, error) {
	run, ck, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	return rc.GetCheckpointArchiveURL(ctx, run, ck)
}

// GetSession lists a session's training runs and samplers.
func (rc *RestClient) GetSession(ctx context.Context, sessionID, scope string) (*protocol.SessionResponse, error) {
	var out protocol.SessionResponse
	if err := rc.get(ctx, protocol.SessionPath(sessionID), scopeQuery(scope), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSessions pages through session ids.
func (rc *RestClient) ListSessions(ctx context.Context, limit, offset int, scope string) (*protocol.ListSessionsResponse, error) {
	if limit <= 0 {
		limit = 20
	}
	q := scopeQuery(scope)
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	var out protocol.ListSessionsResponse
	if err := rc.get(ctx, protocol.PathSessions, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AssignProject moves a session into a project.
func (rc *RestClient) AssignProject(ctx context.Context, sessionID, projectID string) error {
	return rc.send(ctx, http.MethodPut, protocol.SessionPath(sessionID)+"/project", protocol.AssignProjectRequest{ProjectID: projectID})
}

// GetTraceExport polls a session trace export once.
func (rc *RestClient) GetTraceExport(ctx context.Context, sessionID string) (*protocol.TraceExportResponse, error) {
	var out protocol.TraceExportResponse
	if err := rc.get(ctx, protocol.SessionPath(sessionID)+"/trace_export", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditLog lists audit events (eventType "all" or "checkpoints"; day
// YYYY-MM-DD or "").
func (rc *RestClient) AuditLog(ctx context.Context, eventType, day string) (*protocol.AuditLogResponse, error) {
	if eventType == "" {
		eventType = "all"
	}
	q := url.Values{"event_type": {eventType}}
	if day != "" {
		q.Set("day", day)
	}
	var out protocol.AuditLogResponse
	if err := rc.get(ctx, protocol.PathAudit, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BillingUsage lists usage buckets between two hour-aligned times (≤14 days).
func (rc *RestClient) BillingUsage(ctx context.Context, start, end time.Time) (*protocol.BillingUsageResponse, error) {
	q := url.Values{"starting_on": {start.UTC().Format(time.RFC3339)}, "ending_before": {end.UTC().Format(time.RFC3339)}}
	var out protocol.BillingUsageResponse
	if err := rc.get(ctx, protocol.PathBillingUsage, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSampler describes a sampling session.
func (rc *RestClient) GetSampler(ctx context.Context, samplerID string) (*protocol.SamplerInfoResponse, error) {
	var out protocol.SamplerInfoResponse
	if err := rc.get(ctx, protocol.SamplerPath(samplerID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DownloadCheckpointArchive fetches a checkpoint's archive URL and streams
// the archive into w, returning the byte count. The credential is sent
// only when the URL is on the service's own origin (the local backend
// serves archives itself); signed URLs elsewhere get no key.
func (rc *RestClient) DownloadCheckpointArchive(ctx context.Context, tinkerPath string, w io.Writer) (int64, error) {
	au, err := rc.GetCheckpointArchiveURLFromTinkerPath(ctx, tinkerPath)
	if err != nil {
		return 0, err
	}
	c := rc.s.c
	u, err := url.Parse(au.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return 0, &MalformedResponseError{Method: http.MethodGet, Path: "archive", Err: fmt.Errorf("bad archive URL %q", c.redact(au.URL))}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, au.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "tkx/"+Version)
	if base, err := url.Parse(c.base); err == nil && base.Scheme == u.Scheme && base.Host == u.Host {
		if cred := c.credential(); cred != "" {
			req.Header.Set(protocol.HeaderAPIKey, cred)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &ConnectionError{Method: http.MethodGet, Path: u.Path, BaseURL: u.Scheme + "://" + u.Host, Err: errors.New(c.redact(err.Error()))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return 0, &APIError{Method: http.MethodGet, Path: u.Path, Status: resp.StatusCode, Body: c.redact(string(b))}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("tinker: downloading %s: %s", tinkerPath, c.redact(err.Error()))
	}
	return n, nil
}
