package backend

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// maxBodyBytes bounds request bodies (a forward_backward chunk is ≤ ~5 MB).
const maxBodyBytes = 256 << 20

// Handler serves the whole Tinker protocol: bootstrap, direct and future
// endpoints, retrieve_future, and the REST API. Wrap-around order: fault
// injection (if configured), then the API-key check, then routing.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	e.routes(mux)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.opts.APIKey != "" && r.URL.Path != protocol.PathHealthz {
			got := r.Header.Get(protocol.HeaderAPIKey)
			if subtle.ConstantTimeCompare([]byte(got), []byte(e.opts.APIKey)) != 1 {
				writeErr(w, &RequestError{Category: CategoryUser, Msg: "missing or wrong API key (send it as X-API-Key)", Status: http.StatusUnauthorized})
				return
			}
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		mux.ServeHTTP(w, r)
	})
	if e.faults != nil {
		h = e.faults.wrap(h)
	}
	return h
}

func (e *Engine) routes(mux *http.ServeMux) {
	// Bootstrap and sessions.
	mux.HandleFunc("POST "+protocol.PathClientConfig, func(w http.ResponseWriter, r *http.Request) {
		cfg := protocol.DefaultClientConfig()
		cfg.UsePyqwestTransport = false
		cfg.ProtoCompressFwdbwd = false
		writeJSON(w, http.StatusOK, cfg)
	})
	mux.HandleFunc("POST "+protocol.PathAuthToken, func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, &RequestError{Category: CategoryUser, Msg: "the local backend does not issue JWTs (pjwt_auth_enabled is false)", Status: http.StatusNotFound})
	})
	mux.HandleFunc("POST "+protocol.PathClientDynamicConfig, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, protocol.DynamicConfigResponse{RefreshIntervalSec: 300})
	})
	mux.HandleFunc("POST "+protocol.PathCreateSession, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.CreateSessionRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		resp, err := e.CreateSession(req)
		reply(w, resp, err)
	})
	mux.HandleFunc("POST "+protocol.PathSessionHeartbeat, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.SessionHeartbeatRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		reply(w, protocol.SessionHeartbeatResponse{Type: "session_heartbeat"}, e.Heartbeat(req.SessionID))
	})
	mux.HandleFunc("POST "+protocol.PathTelemetry, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.TelemetryRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
	})
	mux.HandleFunc("GET "+protocol.PathGetServerCapabilities, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Capabilities())
	})
	mux.HandleFunc("GET "+protocol.PathHealthz, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, protocol.HealthResponse{Status: "ok"})
	})

	// Direct model endpoints.
	mux.HandleFunc("POST "+protocol.PathGetInfo, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.GetInfoRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		resp, err := e.GetInfo(req)
		reply(w, resp, err)
	})
	mux.HandleFunc("POST "+protocol.PathCreateSamplingSession, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.CreateSamplingSessionRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		resp, err := e.CreateSamplingSession(req)
		reply(w, resp, err)
	})
	mux.HandleFunc("POST "+protocol.PathWeightsInfo, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.WeightsInfoRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		resp, err := e.WeightsInfo(req)
		reply(w, resp, err)
	})
	mux.HandleFunc("GET "+protocol.PathSamplersPrefix+"{id}", func(w http.ResponseWriter, r *http.Request) {
		resp, err := e.SamplerInfo(r.PathValue("id"))
		reply(w, resp, err)
	})

	// Future endpoints.
	mux.HandleFunc("POST "+protocol.PathCreateModel, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.CreateModelRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		f, err := e.CreateModel(req)
		replyFuture(w, f, err)
	})
	fwdbwd := func(forwardOnly bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			req, ok := e.decodeForwardBackward(w, r, forwardOnly)
			if !ok {
				return
			}
			f, err := e.ForwardBackward(*req)
			replyFuture(w, f, err)
		}
	}
	mux.HandleFunc("POST "+protocol.PathForwardBackward, fwdbwd(false))
	mux.HandleFunc("POST "+protocol.PathForward, fwdbwd(true))
	mux.HandleFunc("POST "+protocol.PathOptimStep, modelFuture(e, e.OptimStep, func(q *protocol.OptimStepRequest) (string, int) { return q.ModelID, q.SeqID }))
	mux.HandleFunc("POST "+protocol.PathSaveWeights, modelFuture(e, e.SaveWeights, func(q *protocol.SaveWeightsRequest) (string, int) { return q.ModelID, q.SeqID }))
	mux.HandleFunc("POST "+protocol.PathSaveWeightsForSampler, modelFuture(e, e.SaveWeightsForSampler, func(q *protocol.SaveWeightsForSamplerRequest) (string, int) { return q.ModelID, q.SeqID }))
	mux.HandleFunc("POST "+protocol.PathLoadWeights, modelFuture(e, e.LoadWeights, func(q *protocol.LoadWeightsRequest) (string, int) { return q.ModelID, q.SeqID }))
	mux.HandleFunc("POST "+protocol.PathASample, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.SampleRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		f, err := e.Sample(req)
		replyFuture(w, f, err)
	})
	mux.HandleFunc("POST "+protocol.PathUnloadModel, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.UnloadModelRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		f, err := e.UnloadModel(req)
		replyFuture(w, f, err)
	})
	mux.HandleFunc("POST "+protocol.PathRetrieveFuture, e.handleRetrieve)

	// REST.
	mux.HandleFunc("GET "+protocol.PathTrainingRuns, e.handleListRuns)
	mux.HandleFunc("GET "+protocol.PathTrainingRuns+"/{run}", e.handleGetRun)
	mux.HandleFunc("GET "+protocol.PathTrainingRuns+"/{run}/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		e.handleListCheckpoints(w, r, r.PathValue("run"))
	})
	mux.HandleFunc("GET "+protocol.PathCheckpoints, func(w http.ResponseWriter, r *http.Request) {
		e.handleListCheckpoints(w, r, "")
	})
	ck := protocol.PathTrainingRuns + "/{run}/checkpoints/{kind}/{name}"
	mux.HandleFunc("DELETE "+ck, e.withCheckpoint(e.handleDeleteCheckpoint))
	mux.HandleFunc("POST "+ck+"/publish", e.withCheckpoint(func(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
		e.handlePublish(w, ref, true)
	}))
	mux.HandleFunc("DELETE "+ck+"/publish", e.withCheckpoint(func(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
		e.handlePublish(w, ref, false)
	}))
	mux.HandleFunc("PUT "+ck+"/ttl", e.withCheckpoint(e.handleTTL))
	mux.HandleFunc("GET "+ck+"/archive", e.withCheckpoint(e.handleArchiveURL))
	mux.HandleFunc("GET "+ck+"/archive/download", e.withCheckpoint(e.handleArchiveDownload))
	mux.HandleFunc("GET "+protocol.PathSessions, e.handleListSessions)
	mux.HandleFunc("GET "+protocol.PathSessions+"/{sid}", e.handleGetSession)
	mux.HandleFunc("PUT "+protocol.PathSessions+"/{sid}/project", func(w http.ResponseWriter, r *http.Request) {
		var req protocol.AssignProjectRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		s, err := e.getSession(r.PathValue("sid"))
		if err != nil {
			writeErr(w, notFound(err))
			return
		}
		e.mu.Lock()
		s.projectID = req.ProjectID
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	mux.HandleFunc("GET "+protocol.PathSessions+"/{sid}/trace_export", func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.getSession(r.PathValue("sid")); err != nil {
			writeErr(w, notFound(err))
			return
		}
		writeJSON(w, http.StatusOK, protocol.TraceExportResponse{Status: "failed", Error: "trace export is not available on the tkx local backend"})
	})
	mux.HandleFunc("GET "+protocol.PathAudit, func(w http.ResponseWriter, r *http.Request) {
		e.handleAudit(w, r)
	})
	mux.HandleFunc("GET "+protocol.PathBillingUsage, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, protocol.BillingUsageResponse{Data: []protocol.BillingUsageEvent{}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), Status: http.StatusNotFound})
	})
}

// ---------------------------------------------------------------------------
// Encoding helpers

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(protocol.RequestFailedResponse{Error: "encoding response: " + err.Error(), Category: protocol.CategoryServer})
	}
	w.Header().Set("Content-Type", protocol.ContentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// httpStatus maps an error to a status code: its own, else 400 for user
// errors and 500 for the rest.
func httpStatus(re *RequestError) int {
	if re.Status != 0 {
		return re.Status
	}
	if re.Category == CategoryUser {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeErr(w http.ResponseWriter, err error) {
	re := asRequestError(err)
	writeJSON(w, httpStatus(re), protocol.RequestFailedResponse{Error: re.Msg, Category: string(re.Category)})
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// modelFuture is the handler of a JSON future endpoint addressed to one
// model's sequence: decode, check model_id and seq_id, submit, reply.
func modelFuture[R any](e *Engine, submit func(R) (*future, error), ids func(*R) (string, int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req R
		if !e.decodeModelJSON(w, r, &req, func() (string, int) { return ids(&req) }) {
			return
		}
		f, err := submit(req)
		replyFuture(w, f, err)
	}
}

func replyFuture(w http.ResponseWriter, f *future, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, protocol.UntypedAPIFuture{RequestID: f.id, ModelID: f.modelID})
}

// notFound turns a user error about an unknown id into a 404.
func notFound(err error) error {
	re := asRequestError(err)
	if re.Category == CategoryUser && re.Status == 0 {
		return &RequestError{Category: re.Category, Msg: re.Msg, Status: http.StatusNotFound}
	}
	return re
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("Content-Encoding %q is not supported by the local backend (it announces proto_compress_fwdbwd=false)", enc), Status: http.StatusUnsupportedMediaType})
		return nil, false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("request body of %s is larger than %d bytes", r.URL.Path, mbe.Limit), Status: http.StatusRequestEntityTooLarge})
			return nil, false
		}
		writeErr(w, userErr("reading the body of %s: %v", r.URL.Path, err))
		return nil, false
	}
	return b, true
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeErr(w, userErr("malformed JSON body for %s: %v", r.URL.Path, err))
		return false
	}
	return true
}

// decodeModelJSON decodes a model request; when the body is invalid but
// names a model and a seq_id, that seq_id is marked consumed so the model's
// queue does not wait for it.
func (e *Engine) decodeModelJSON(w http.ResponseWriter, r *http.Request, v any, ids func() (string, int)) bool {
	b, ok := readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		var probe struct {
			ModelID string `json:"model_id"`
			SeqID   int    `json:"seq_id"`
		}
		if json.Unmarshal(b, &probe) == nil {
			e.rejectSeq(probe.ModelID, probe.SeqID)
		}
		writeErr(w, userErr("malformed JSON body for %s: %v", r.URL.Path, err))
		return false
	}
	return true
}

func (e *Engine) rejectSeq(modelID string, seq int) {
	if modelID == "" || seq <= 0 {
		return
	}
	e.mu.Lock()
	m := e.models[modelID]
	e.mu.Unlock()
	if m != nil {
		m.seq.reject(seq)
	}
}

// decodeForwardBackward reads a protobuf ForwardBackwardRequest, or the
// legacy JSON form.
func (e *Engine) decodeForwardBackward(w http.ResponseWriter, r *http.Request, forwardOnly bool) (*protocol.ForwardBackwardRequest, bool) {
	b, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	if protocol.IsProtobufContentType(r.Header.Get("Content-Type")) {
		req, err := protocol.DecodeForwardBackwardRequest(b)
		if err != nil {
			writeErr(w, userErr("malformed protobuf ForwardBackwardRequest: %v", err))
			return nil, false
		}
		if forwardOnly {
			req.ForwardOnly = true
		}
		return req, true
	}
	var legacy protocol.LegacyForwardBackwardRequest
	if err := json.Unmarshal(b, &legacy); err != nil {
		var probe struct {
			ModelID string `json:"model_id"`
			SeqID   int    `json:"seq_id"`
		}
		if json.Unmarshal(b, &probe) == nil {
			e.rejectSeq(probe.ModelID, probe.SeqID)
		}
		writeErr(w, userErr("malformed JSON body for %s: %v (send protobuf with Content-Type: application/x-protobuf, or the legacy JSON form)", r.URL.Path, err))
		return nil, false
	}
	in := legacy.ForwardBackwardInput
	if in == nil {
		in = legacy.ForwardInput
		forwardOnly = true
	}
	if in == nil {
		e.rejectSeq(legacy.ModelID, legacy.SeqID)
		writeErr(w, userErr("%s body needs forward_backward_input (or forward_input)", r.URL.Path))
		return nil, false
	}
	return &protocol.ForwardBackwardRequest{ModelID: legacy.ModelID, SeqID: int32(legacy.SeqID), Data: in.Data, LossFn: in.LossFn, LossFnConfig: in.LossFnConfig, ForwardOnly: forwardOnly}, true
}

// ---------------------------------------------------------------------------
// retrieve_future

func (e *Engine) handleRetrieve(w http.ResponseWriter, r *http.Request) {
	var req protocol.RetrieveFutureRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.RequestID == "" {
		writeErr(w, userErr("retrieve_future needs a request_id"))
		return
	}
	f, st, done := e.retrieve(r.Context(), req.RequestID)
	switch st {
	case futureUnknown:
		writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown request_id %q", req.RequestID), Status: http.StatusNotFound})
		return
	case futureExpired:
		writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("request %q expired: results are kept for %s after they complete", req.RequestID, e.opts.FutureRetention), Status: http.StatusGone})
		return
	}
	if !done {
		writeJSON(w, http.StatusOK, protocol.TryAgainResponse{RequestID: f.id, QueueState: protocol.QueueStateActive})
		return
	}
	if f.err != nil {
		writeJSON(w, http.StatusOK, protocol.RequestFailedResponse{Error: f.err.Msg, Category: string(f.err.Category)})
		return
	}
	res := f.result
	useProto := res.Proto != nil && protocol.IsProtobufContentType(r.Header.Get("Accept"))
	body, ct := res.Proto, protocol.ContentTypeProtobuf
	if !useProto {
		var err error
		if body, err = res.jsonBody(); err != nil {
			writeErr(w, serverErr("encoding the result of %s: %v", f.kind, err))
			return
		}
		ct = protocol.ContentTypeJSON
	}
	if req.AllowMetadataOnly {
		writeJSON(w, http.StatusOK, protocol.CompleteMetadataResponse{ResponsePayloadSize: int64(len(body))})
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	e.futures.markDelivered(f)
}

// ---------------------------------------------------------------------------
// REST

func pageParams(r *http.Request, defLimit int) (limit, offset int, err error) {
	q := r.URL.Query()
	limit, offset = defLimit, 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			return 0, 0, userErr("limit=%q must be a non-negative integer", s)
		}
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, userErr("offset=%q must be a non-negative integer", s)
		}
	}
	return limit, offset, nil
}

func page[T any](xs []T, limit, offset int) []T {
	if offset >= len(xs) {
		return []T{}
	}
	end := len(xs)
	if limit > 0 && offset+limit < end {
		end = offset + limit
	}
	return xs[offset:end]
}

func toCheckpoint(m *CheckpointMeta) protocol.Checkpoint {
	size := m.SizeBytes
	c := protocol.Checkpoint{CheckpointID: m.CheckpointID, CheckpointType: m.Type, Time: protocol.Time{Time: m.Time}, TinkerPath: m.TinkerPath, SizeBytes: &size, Public: m.Public}
	if m.ExpiresAt != nil {
		c.ExpiresAt = &protocol.Time{Time: *m.ExpiresAt}
	}
	return c
}

func (e *Engine) trainingRun(rm *RunMeta) protocol.TrainingRun {
	rank := rm.LoraRank
	tr := protocol.TrainingRun{TrainingRunID: rm.TrainingRunID, BaseModel: rm.BaseModel, ModelOwner: rm.ModelOwner, IsLora: rm.IsLora,
		LoraRank: &rank, LastRequestTime: protocol.Time{Time: rm.LastRequest}, UserMetadata: rm.UserMetadata}
	e.mu.Lock()
	if m, ok := e.models[rm.TrainingRunID]; ok {
		tr.LastRequestTime = protocol.Time{Time: m.meta.LastRequest}
	}
	e.mu.Unlock()
	for _, p := range []struct {
		path string
		dst  **protocol.Checkpoint
	}{{rm.LastCheckpoint, &tr.LastCheckpoint}, {rm.LastSampler, &tr.LastSamplerCheckpoint}} {
		if p.path == "" {
			continue
		}
		if ref, err := ParseTinkerPath(p.path); err == nil {
			if _, meta, err := e.store.OpenCheckpoint(ref); err == nil {
				c := toCheckpoint(meta)
				*p.dst = &c
			}
		}
	}
	return tr
}

func (e *Engine) handleListRuns(w http.ResponseWriter, r *http.Request) {
	limit, offset, err := pageParams(r, 20)
	if err != nil {
		writeErr(w, err)
		return
	}
	runs, err := e.store.ListRuns()
	if err != nil {
		writeErr(w, serverErr("listing training runs: %v", err))
		return
	}
	out := protocol.TrainingRunsResponse{TrainingRuns: []protocol.TrainingRun{}, Cursor: protocol.Cursor{Offset: offset, Limit: limit, TotalCount: len(runs)}}
	for _, rm := range page(runs, limit, offset) {
		out.TrainingRuns = append(out.TrainingRuns, e.trainingRun(rm))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Engine) handleGetRun(w http.ResponseWriter, r *http.Request) {
	rm, err := e.store.GetRun(r.PathValue("run"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown training run %q", r.PathValue("run")), Status: http.StatusNotFound})
			return
		}
		writeErr(w, userErr("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, e.trainingRun(rm))
}

func (e *Engine) handleListCheckpoints(w http.ResponseWriter, r *http.Request, run string) {
	limit, offset, err := pageParams(r, 0)
	if err != nil {
		writeErr(w, err)
		return
	}
	if run == "" && limit == 0 {
		limit = 100
	}
	cks, err := e.store.ListCheckpoints(run)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("unknown training run %q", run), Status: http.StatusNotFound})
			return
		}
		writeErr(w, userErr("%v", err))
		return
	}
	out := protocol.CheckpointsListResponse{Checkpoints: []protocol.Checkpoint{}}
	for _, m := range page(cks, limit, offset) {
		out.Checkpoints = append(out.Checkpoints, toCheckpoint(m))
	}
	if run == "" || limit > 0 {
		out.Cursor = &protocol.Cursor{Offset: offset, Limit: limit, TotalCount: len(cks)}
	}
	writeJSON(w, http.StatusOK, out)
}

// withCheckpoint parses {run}/{kind}/{name} and checks the checkpoint
// exists.
func (e *Engine) withCheckpoint(h func(w http.ResponseWriter, r *http.Request, ref CheckpointRef)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref := CheckpointRef{Run: r.PathValue("run"), Kind: r.PathValue("kind"), Name: r.PathValue("name")}
		if err := ref.validate(); err != nil {
			writeErr(w, userErr("%v", err))
			return
		}
		if _, _, err := e.store.OpenCheckpoint(ref); err != nil {
			writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("checkpoint %s not found", ref), Status: http.StatusNotFound})
			return
		}
		h(w, r, ref)
	}
}

func (e *Engine) handleDeleteCheckpoint(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
	if err := e.store.DeleteCheckpoint(ref); err != nil {
		writeErr(w, serverErr("deleting %s: %v", ref, err))
		return
	}
	e.samplerCache.drop(ref.String())
	e.audit("checkpoint_deleted", ref.Run, ref.String())
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) handlePublish(w http.ResponseWriter, ref CheckpointRef, public bool) {
	conflict := false
	_, err := e.store.UpdateMeta(ref, func(m *CheckpointMeta) error {
		if m.Public == public {
			conflict = true
			return errors.New("unchanged")
		}
		m.Public = public
		return nil
	})
	if conflict {
		state := "private"
		if public {
			state = "public"
		}
		writeErr(w, &RequestError{Category: CategoryUser, Msg: fmt.Sprintf("checkpoint %s is already %s", ref, state), Status: http.StatusConflict})
		return
	}
	if err != nil {
		writeErr(w, serverErr("%v", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) handleTTL(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
	var req protocol.SetCheckpointTTLRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.TTLSeconds != nil && *req.TTLSeconds <= 0 {
		writeErr(w, userErr("ttl_seconds = %d must be > 0 (or null to keep the checkpoint forever)", *req.TTLSeconds))
		return
	}
	_, err := e.store.UpdateMeta(ref, func(m *CheckpointMeta) error {
		if req.TTLSeconds == nil {
			m.ExpiresAt = nil
		} else {
			t := time.Now().UTC().Add(time.Duration(*req.TTLSeconds) * time.Second)
			m.ExpiresAt = &t
		}
		return nil
	})
	if err != nil {
		writeErr(w, serverErr("%v", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) handleArchiveURL(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "local"
	}
	u := url.URL{Scheme: scheme, Host: host, Path: protocol.CheckpointPath(ref.Run, ref.ID()) + "/archive/download"}
	u.RawPath = u.Path
	u.Path, _ = url.PathUnescape(u.RawPath)
	expires := time.Now().UTC().Add(15 * time.Minute)
	writeJSON(w, http.StatusOK, protocol.CheckpointArchiveURLResponse{URL: u.String(), Expires: protocol.Time{Time: expires}})
}

func (e *Engine) handleArchiveDownload(w http.ResponseWriter, r *http.Request, ref CheckpointRef) {
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", ref.Name+".tar"))
	if err := e.store.WriteArchive(ref, w); err != nil {
		// Headers may be out already; the truncated tar fails to parse.
		e.logf("tkx backend: archive of %s: %v", ref, err)
	}
}

func (e *Engine) handleListSessions(w http.ResponseWriter, r *http.Request) {
	limit, offset, err := pageParams(r, 20)
	if err != nil {
		writeErr(w, err)
		return
	}
	e.mu.Lock()
	ss := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		ss = append(ss, s)
	}
	e.mu.Unlock()
	sort.Slice(ss, func(i, j int) bool { return ss[i].created.After(ss[j].created) })
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.id
	}
	writeJSON(w, http.StatusOK, protocol.ListSessionsResponse{Sessions: page(ids, limit, offset)})
}

func (e *Engine) handleGetSession(w http.ResponseWriter, r *http.Request) {
	s, err := e.getSession(r.PathValue("sid"))
	if err != nil {
		writeErr(w, notFound(err))
		return
	}
	e.mu.Lock()
	resp := protocol.SessionResponse{TrainingRunIDs: append([]string{}, s.models...), SamplerIDs: append([]string{}, s.samplers...)}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) audit(event, modelID, path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.auditLog = append(e.auditLog, protocol.AuditEntry{Timestamp: protocol.Time{Time: time.Now().UTC()}, Event: event, ModelID: modelID, TinkerPath: path})
	if len(e.auditLog) > 10000 {
		e.auditLog = e.auditLog[len(e.auditLog)-10000:]
	}
}

func (e *Engine) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ := q.Get("event_type")
	day := q.Get("day")
	e.mu.Lock()
	out := protocol.AuditLogResponse{Entries: []protocol.AuditEntry{}}
	for _, a := range e.auditLog {
		if typ == "checkpoints" && !strings.HasPrefix(a.Event, "checkpoint") {
			continue
		}
		if day != "" && a.Timestamp.Format("2006-01-02") != day {
			continue
		}
		out.Entries = append(out.Entries, a)
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
