// Package tinkertest is a scripted fake Tinker server for tests of the
// client and of the `tinker` Starlark module. By default it answers every
// endpoint like a tiny well-behaved server (futures resolve on the first
// poll, forward_backward returns logprobs −0.5 per token); Script makes a
// path answer a sequence of canned steps first (try_again ×N, 5xx, 429 with
// Retry-After, 410, {error, category}, a slow answer, a dropped
// connection). Every request is recorded.
package tinkertest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// Step is one scripted answer.
type Step struct {
	Status      int    // default 200
	Body        string // raw body; if empty, JSON is marshalled
	JSON        any
	ContentType string // default application/json
	Header      map[string]string
	Delay       time.Duration   // answer only after this (or when the client gives up)
	Until       <-chan struct{} // answer only once this is closed (or when the client gives up)
	Drop        bool            // close the connection without answering
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	SeqID  int // seq_id of training requests (forward_backward decoded from protobuf), else -1
	Time   time.Time
}

type result struct {
	status int
	ct     string
	body   []byte
}

// Server is the fake. Use New (an httptest server) or NewHandler (no
// listener; serve it through an in-process RoundTripper).
type Server struct {
	URL string
	ts  *httptest.Server

	// APIKey, when set, is required in X-API-Key (else 401).
	APIKey string
	// ClientConfig is the body of /client/config (default {}).
	ClientConfig map[string]any
	// SessionID of the session created (default "sess-1").
	SessionID string

	mu          sync.Mutex
	notify      map[string][]chan struct{}
	scripts     map[string][]Step
	reqs        []Request
	results     map[string]result
	nextReq     int
	nextSampler int
	models      map[string]string // model id → base model
}

// NewHandler makes a server without a listener.
func NewHandler() *Server {
	return &Server{SessionID: "sess-1", scripts: map[string][]Step{}, results: map[string]result{}, models: map[string]string{}}
}

// New starts an httptest server; Close it when done.
func New() *Server {
	s := NewHandler()
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// Close stops the listener (if any).
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Script queues steps for a path (e.g. protocol.PathRetrieveFuture); they
// are consumed one per request before the default behaviour resumes.
func (s *Server) Script(path string, steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[path] = append(s.scripts[path], steps...)
}

// Arrived returns a channel closed when the next request to path arrives.
func (s *Server) Arrived(path string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = map[string][]chan struct{}{}
	}
	ch := make(chan struct{})
	s.notify[path] = append(s.notify[path], ch)
	return ch
}

// Requests returns the recorded requests to path ("" = all), in arrival order.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// TryAgain is a try_again body with a queue state.
func TryAgain(state, reason string) Step {
	return Step{JSON: protocol.TryAgainResponse{RequestID: "x", QueueState: state, QueueStateReason: reason}}
}

// Failed is a {"error","category"} body.
func Failed(msg, category string) Step {
	return Step{JSON: protocol.RequestFailedResponse{Error: msg, Category: category}}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "")
	rec := Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, SeqID: -1, Time: time.Now()}
	if path == protocol.PathForwardBackward && protocol.IsProtobufContentType(r.Header.Get("Content-Type")) {
		if fb, err := protocol.DecodeForwardBackwardRequest(body); err == nil {
			rec.SeqID = int(fb.SeqID)
		}
	} else if len(body) > 0 {
		var probe struct {
			SeqID *int `json:"seq_id"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.SeqID != nil {
			rec.SeqID = *probe.SeqID
		}
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	for _, ch := range s.notify[path] {
		close(ch)
	}
	delete(s.notify, path)
	var step *Step
	if q := s.scripts[path]; len(q) > 0 {
		st := q[0]
		s.scripts[path] = q[1:]
		step = &st
	}
	key := s.APIKey
	s.mu.Unlock()

	if key != "" && r.Header.Get(protocol.HeaderAPIKey) != key {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "invalid API key"})
		return
	}
	if step != nil {
		s.play(w, r, step)
		return
	}
	s.serveDefault(w, r, path, body)
}

func (s *Server) play(w http.ResponseWriter, r *http.Request, st *Step) {
	if st.Until != nil {
		select {
		case <-st.Until:
		case <-r.Context().Done():
			return
		}
	}
	if st.Delay > 0 {
		select {
		case <-time.After(st.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if st.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	for k, v := range st.Header {
		w.Header().Set(k, v)
	}
	status := st.Status
	if status == 0 {
		status = http.StatusOK
	}
	if st.Body == "" && st.JSON == nil {
		w.WriteHeader(status)
		return
	}
	ct := st.ContentType
	if ct == "" {
		ct = protocol.ContentTypeJSON
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	if st.Body != "" {
		io.WriteString(w, st.Body)
		return
	}
	b, _ := json.Marshal(st.JSON)
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", protocol.ContentTypeJSON)
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) future(w http.ResponseWriter, res result) {
	s.mu.Lock()
	s.nextReq++
	id := fmt.Sprintf("req-%d", s.nextReq)
	s.results[id] = res
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, protocol.UntypedAPIFuture{RequestID: id})
}

func jsonResult(v any) result {
	b, _ := json.Marshal(v)
	return result{status: 200, ct: protocol.ContentTypeJSON, body: b}
}

func (s *Server) serveDefault(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	bad := func(err error) {
		writeJSON(w, http.StatusBadRequest, protocol.RequestFailedResponse{Error: err.Error(), Category: protocol.CategoryUser})
	}
	switch {
	case path == protocol.PathClientConfig:
		cfg := s.ClientConfig
		if cfg == nil {
			cfg = map[string]any{}
		}
		writeJSON(w, 200, cfg)
	case path == protocol.PathClientDynamicConfig:
		writeJSON(w, 404, map[string]string{"detail": "not found"})
	case path == protocol.PathAuthToken:
		writeJSON(w, 200, protocol.AuthTokenResponse{JWT: "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.sig"})
	case path == protocol.PathCreateSession:
		writeJSON(w, 200, protocol.CreateSessionResponse{SessionID: s.SessionID, Type: "create_session"})
	case path == protocol.PathSessionHeartbeat:
		writeJSON(w, 200, protocol.SessionHeartbeatResponse{Type: "session_heartbeat"})
	case path == protocol.PathTelemetry:
		writeJSON(w, 200, map[string]string{"status": "accepted"})
	case path == protocol.PathGetServerCapabilities:
		writeJSON(w, 200, protocol.ServerCapabilities{SupportedModels: []protocol.SupportedModel{{ModelName: "tkx/local-tiny", MaxContextLength: 256}}})
	case path == protocol.PathCreateModel:
		var req protocol.CreateModelRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		id := fmt.Sprintf("%s:train:%d", req.SessionID, req.ModelSeqID)
		s.mu.Lock()
		s.models[id] = req.BaseModel
		s.mu.Unlock()
		s.future(w, jsonResult(protocol.CreateModelResponse{ModelID: id}))
	case path == protocol.PathForwardBackward:
		req, err := protocol.DecodeForwardBackwardRequest(body)
		if err != nil {
			bad(err)
			return
		}
		out := &protocol.ForwardBackwardOutput{LossFnOutputType: "ArrayRecord", Metrics: map[string]float64{}}
		loss := 0.0
		for _, d := range req.Data {
			n, _ := d.ModelInput.Length()
			lp := make([]float32, n)
			for i := range lp {
				lp[i] = -0.5
			}
			if wt, ok := d.LossFnInputs[protocol.InputWeights]; ok {
				dense, _ := wt.Dense()
				for _, x := range dense {
					loss += 0.5 * float64(x)
				}
			}
			out.LossFnOutputs = append(out.LossFnOutputs, map[string]protocol.TensorData{protocol.OutputLogprobs: {DType: protocol.DTypeFloat32, Float32: lp, Shape: []int64{int64(n)}}})
		}
		out.Metrics[protocol.MetricLossSum] = loss
		out.Metrics["datums:mean"] = float64(len(req.Data))
		b, _ := protocol.EncodeForwardBackwardOutput(out)
		s.future(w, result{status: 200, ct: protocol.ContentTypeProtobuf, body: b})
	case path == protocol.PathOptimStep:
		var req protocol.OptimStepRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		s.future(w, jsonResult(protocol.OptimStepResponse{Metrics: map[string]float64{"learning_rate:mean": req.AdamParams.LearningRate}}))
	case path == protocol.PathSaveWeights:
		var req protocol.SaveWeightsRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		s.future(w, jsonResult(protocol.SaveWeightsResponse{Path: protocol.TinkerPath{TrainingRunID: req.ModelID, Kind: "weights", Name: req.Path}.String()}))
	case path == protocol.PathSaveWeightsForSampler:
		var req protocol.SaveWeightsForSamplerRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		if req.Path == "" {
			s.future(w, jsonResult(protocol.SaveWeightsForSamplerResponse{SamplingSessionID: fmt.Sprintf("%s:sample:%d", s.SessionID, *req.SamplingSessionSeqID)}))
			return
		}
		s.future(w, jsonResult(protocol.SaveWeightsForSamplerResponse{Path: protocol.TinkerPath{TrainingRunID: req.ModelID, Kind: "sampler_weights", Name: req.Path}.String()}))
	case path == protocol.PathLoadWeights:
		var req protocol.LoadWeightsRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		s.future(w, jsonResult(protocol.LoadWeightsResponse{Path: req.Path, ModelID: req.ModelID}))
	case path == protocol.PathUnloadModel:
		var req protocol.UnloadModelRequest
		_ = json.Unmarshal(body, &req)
		s.future(w, jsonResult(protocol.UnloadModelResponse{ModelID: req.ModelID}))
	case path == protocol.PathASample:
		var req protocol.SampleRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		max := 4
		if req.SamplingParams.MaxTokens != nil {
			max = *req.SamplingParams.MaxTokens
		}
		res := &protocol.SampleResponse{}
		for i := 0; i < req.NumSamples; i++ {
			seq := protocol.SampledSequence{StopReason: protocol.StopReasonLength}
			for j := 0; j < max; j++ {
				seq.Tokens = append(seq.Tokens, int32(65+(i+j)%26))
				seq.Logprobs = append(seq.Logprobs, -1)
			}
			res.Sequences = append(res.Sequences, seq)
		}
		if req.PromptLogprobs {
			n, _ := req.Prompt.Length()
			res.PromptLogprobs = make([]float32, n)
			for i := range res.PromptLogprobs {
				res.PromptLogprobs[i] = -float32(i) / 4
			}
			if n > 0 {
				res.PromptLogprobs[0] = float32(math.NaN())
			}
		}
		b, _ := protocol.EncodeSampleResponse(res)
		s.future(w, result{status: 200, ct: protocol.ContentTypeProtobuf, body: b})
	case path == protocol.PathCreateSamplingSession:
		var req protocol.CreateSamplingSessionRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		writeJSON(w, 200, protocol.CreateSamplingSessionResponse{SamplingSessionID: fmt.Sprintf("%s:sample:%d", req.SessionID, req.SamplingSessionSeqID), Type: "create_sampling_session"})
	case path == protocol.PathGetInfo:
		var req protocol.GetInfoRequest
		_ = json.Unmarshal(body, &req)
		s.mu.Lock()
		base := s.models[req.ModelID]
		s.mu.Unlock()
		lora, rank := true, 32
		writeJSON(w, 200, protocol.GetInfoResponse{Type: "get_info", ModelID: req.ModelID, ModelData: protocol.ModelData{Arch: "tkx", ModelName: base, TokenizerID: base + ":v1"}, IsLora: &lora, LoraRank: &rank, ModelName: base})
	case path == protocol.PathWeightsInfo:
		rank, f := 8, false
		writeJSON(w, 200, protocol.WeightsInfoResponse{BaseModel: "tkx/local-tiny", IsLora: true, LoraRank: &rank, TrainUnembed: &f})
	case path == protocol.PathRetrieveFuture:
		var req protocol.RetrieveFutureRequest
		if err := json.Unmarshal(body, &req); err != nil {
			bad(err)
			return
		}
		s.mu.Lock()
		res, ok := s.results[req.RequestID]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, protocol.RequestFailedResponse{Error: "unknown request id " + req.RequestID, Category: protocol.CategoryUser})
			return
		}
		w.Header().Set("Content-Type", res.ct)
		w.WriteHeader(res.status)
		w.Write(res.body)
	case strings.HasPrefix(path, protocol.PathSamplersPrefix):
		writeJSON(w, 200, protocol.SamplerInfoResponse{SamplerID: strings.TrimPrefix(path, protocol.PathSamplersPrefix), BaseModel: "tkx/local-tiny"})
	case path == protocol.PathTrainingRuns:
		s.mu.Lock()
		var runs []protocol.TrainingRun
		for id, base := range s.models {
			runs = append(runs, protocol.TrainingRun{TrainingRunID: id, BaseModel: base, ModelOwner: "me", IsLora: true})
		}
		s.mu.Unlock()
		writeJSON(w, 200, protocol.TrainingRunsResponse{TrainingRuns: runs, Cursor: protocol.Cursor{Limit: 20, TotalCount: len(runs)}})
	case strings.HasPrefix(path, protocol.PathTrainingRuns+"/"):
		rest := strings.TrimPrefix(path, protocol.PathTrainingRuns+"/")
		run, tail, _ := strings.Cut(rest, "/")
		switch {
		case tail == "" && r.Method == http.MethodGet:
			writeJSON(w, 200, protocol.TrainingRun{TrainingRunID: run, BaseModel: "tkx/local-tiny", ModelOwner: "me", IsLora: true})
		case tail == "checkpoints":
			writeJSON(w, 200, protocol.CheckpointsListResponse{Checkpoints: []protocol.Checkpoint{{CheckpointID: "weights/a", CheckpointType: "training",
				Time: protocol.Time{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, TinkerPath: "tinker://" + run + "/weights/a"}}})
		case strings.HasSuffix(tail, "/archive"):
			w.Header().Set("Location", "https://example.invalid/"+run+"/archive.tar")
			w.WriteHeader(http.StatusFound)
		default:
			writeJSON(w, 200, map[string]any{})
		}
	case path == protocol.PathCheckpoints:
		writeJSON(w, 200, protocol.CheckpointsListResponse{Checkpoints: []protocol.Checkpoint{}})
	case path == protocol.PathSessions:
		writeJSON(w, 200, protocol.ListSessionsResponse{Sessions: []string{s.SessionID}})
	case strings.HasPrefix(path, protocol.PathSessions+"/"):
		writeJSON(w, 200, protocol.SessionResponse{TrainingRunIDs: []string{}, SamplerIDs: []string{}})
	default:
		writeJSON(w, 404, map[string]string{"detail": "no route " + r.Method + " " + path})
	}
}
