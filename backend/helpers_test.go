package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// rawClient speaks the protocol with plain HTTP, independently of the
// tinker client package.
type rawClient struct {
	t    testing.TB
	base string
	hc   *http.Client
	key  string
}

func (c *rawClient) do(method, path, contentType string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set(protocol.HeaderAPIKey, c.key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// postJSON posts v and returns status and body.
func (c *rawClient) postJSON(path string, v any) (int, []byte) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	code, _, body := c.do("POST", path, protocol.ContentTypeJSON, b, nil)
	return code, body
}

// mustJSON posts v, requires 200 and decodes the answer into out.
func (c *rawClient) mustJSON(path string, v, out any) {
	c.t.Helper()
	code, body := c.postJSON(path, v)
	if code != 200 {
		c.t.Fatalf("POST %s: %d %s", path, code, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			c.t.Fatalf("POST %s: decoding %s: %v", path, body, err)
		}
	}
}

func (c *rawClient) get(path string, out any) int {
	c.t.Helper()
	code, _, body := c.do("GET", path, "", nil, nil)
	if out != nil && code == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			c.t.Fatalf("GET %s: decoding %s: %v", path, body, err)
		}
	}
	return code
}

// submit posts a future request and returns its request id.
func (c *rawClient) submit(path string, v any) string {
	c.t.Helper()
	var f protocol.UntypedAPIFuture
	c.mustJSON(path, v, &f)
	if f.RequestID == "" {
		c.t.Fatalf("POST %s: no request_id", path)
	}
	return f.RequestID
}

// futureAnswer is a completed future.
type futureAnswer struct {
	contentType string
	body        []byte
	failed      *protocol.RequestFailedResponse
}

// await polls retrieve_future until it completes.
func (c *rawClient) await(id string, proto bool) futureAnswer {
	c.t.Helper()
	hdr := map[string]string{}
	if proto {
		hdr["Accept"] = protocol.ContentTypeProtobuf + ", " + protocol.ContentTypeJSON
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := json.Marshal(protocol.RetrieveFutureRequest{RequestID: id})
		code, h, body := c.do("POST", protocol.PathRetrieveFuture, protocol.ContentTypeJSON, b, hdr)
		if code == 408 || code >= 500 || code == 429 {
			continue
		}
		if code != 200 {
			c.t.Fatalf("retrieve_future %s: %d %s", id, code, body)
		}
		ct := h.Get("Content-Type")
		if protocol.IsProtobufContentType(ct) {
			return futureAnswer{contentType: ct, body: body}
		}
		fb, err := protocol.ClassifyFutureBody(body)
		if err != nil {
			c.t.Fatalf("retrieve_future %s: %v in %s", id, err, body)
		}
		switch fb.Kind {
		case protocol.FutureTryAgain:
			continue
		case protocol.FutureFailed:
			f := fb.Failed
			return futureAnswer{contentType: ct, body: body, failed: &f}
		case protocol.FutureCompleteMetadata:
			c.t.Fatalf("unexpected complete_metadata")
		}
		return futureAnswer{contentType: ct, body: body}
	}
	c.t.Fatalf("future %s did not complete in time", id)
	return futureAnswer{}
}

// awaitJSON waits for a JSON result and decodes it.
func (c *rawClient) awaitJSON(id string, out any) {
	c.t.Helper()
	a := c.await(id, false)
	if a.failed != nil {
		c.t.Fatalf("future failed: %+v", *a.failed)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			c.t.Fatalf("decoding %s: %v", a.body, err)
		}
	}
}

// awaitErr waits for a failed future.
func (c *rawClient) awaitErr(id string) protocol.RequestFailedResponse {
	c.t.Helper()
	a := c.await(id, false)
	if a.failed == nil {
		c.t.Fatalf("future %s succeeded (%s), want an error", id, a.body)
	}
	return *a.failed
}

func (c *rawClient) session() string {
	c.t.Helper()
	var s protocol.CreateSessionResponse
	c.mustJSON(protocol.PathCreateSession, protocol.CreateSessionRequest{SDKVersion: protocol.SDKVersion}, &s)
	return s.SessionID
}

func (c *rawClient) createModel(session string, n int, base string, rank int) string {
	c.t.Helper()
	lc := protocol.DefaultLoraConfig()
	lc.Rank = rank
	id := c.submit(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: session, ModelSeqID: n, BaseModel: base, LoraConfig: &lc})
	var r protocol.CreateModelResponse
	c.awaitJSON(id, &r)
	if want := fmt.Sprintf("%s:train:%d", session, n); r.ModelID != want {
		c.t.Fatalf("model_id = %q, want %q", r.ModelID, want)
	}
	return r.ModelID
}

// fbProto submits a protobuf forward_backward.
func (c *rawClient) fbProto(req *protocol.ForwardBackwardRequest) (int, []byte) {
	c.t.Helper()
	b, err := protocol.EncodeForwardBackwardRequest(req)
	if err != nil {
		c.t.Fatal(err)
	}
	code, _, body := c.do("POST", protocol.PathForwardBackward, protocol.ContentTypeProtobuf, b, nil)
	return code, body
}

func (c *rawClient) fbSubmit(req *protocol.ForwardBackwardRequest) string {
	c.t.Helper()
	code, body := c.fbProto(req)
	if code != 200 {
		c.t.Fatalf("forward_backward: %d %s", code, body)
	}
	var f protocol.UntypedAPIFuture
	if err := json.Unmarshal(body, &f); err != nil {
		c.t.Fatal(err)
	}
	return f.RequestID
}

func (c *rawClient) fbAwait(id string) *protocol.ForwardBackwardOutput {
	c.t.Helper()
	a := c.await(id, true)
	if a.failed != nil {
		c.t.Fatalf("forward_backward failed: %+v", *a.failed)
	}
	if !protocol.IsProtobufContentType(a.contentType) {
		c.t.Fatalf("forward_backward result content-type %q, want protobuf", a.contentType)
	}
	out, err := protocol.DecodeForwardBackwardOutput(a.body)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *rawClient) sampleAwait(id string) *protocol.SampleResponse {
	c.t.Helper()
	a := c.await(id, true)
	if a.failed != nil {
		c.t.Fatalf("sample failed: %+v", *a.failed)
	}
	out, err := protocol.DecodeSampleResponse(a.body)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// ceDatum is a cross-entropy datum over seq (input seq[:-1], targets seq[1:]).
func ceDatum(seq []int32) protocol.Datum {
	in := seq[:len(seq)-1]
	tg := make([]int64, len(seq)-1)
	w := make([]float32, len(seq)-1)
	for i := range tg {
		tg[i] = int64(seq[i+1])
		w[i] = 1
	}
	return protocol.Datum{ModelInput: protocol.FromTokens(in), LossFnInputs: map[string]protocol.TensorData{
		"target_tokens": protocol.Int64Tensor(tg), "weights": protocol.Float32Tensor(w)}}
}

func bytesOf(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

// retryingClient retries submits the way the SDK does on 408/429/5xx and
// connection errors (without sleeping long).
type retryingClient struct {
	*rawClient
}

func (r *retryingClient) try(method, path, ct string, body []byte) (int, []byte) {
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest(method, r.base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := r.hc.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500 {
			continue
		}
		return resp.StatusCode, b
	}
	r.t.Fatalf("%s %s: still failing after 50 tries", method, path)
	return 0, nil
}

func (r *retryingClient) submitRetry(path string, v any) string {
	code, body := r.try("POST", path, protocol.ContentTypeJSON, mustMarshal(v))
	var f protocol.UntypedAPIFuture
	if code != 200 || json.Unmarshal(body, &f) != nil {
		r.t.Fatalf("POST %s: %d %s", path, code, body)
	}
	return f.RequestID
}

func (r *retryingClient) session() string {
	_, body := r.try("POST", protocol.PathCreateSession, protocol.ContentTypeJSON, []byte(`{}`))
	var s protocol.CreateSessionResponse
	json.Unmarshal(body, &s)
	return s.SessionID
}

func (r *retryingClient) createModel(sid string, n int, base string, rank int) string {
	lc := protocol.DefaultLoraConfig()
	lc.Rank = rank
	id := r.submitRetry(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: sid, ModelSeqID: n, BaseModel: base, LoraConfig: &lc})
	var cm protocol.CreateModelResponse
	r.awaitJSON(id, &cm)
	return cm.ModelID
}

func (r *retryingClient) fb(req *protocol.ForwardBackwardRequest) string {
	b, err := protocol.EncodeForwardBackwardRequest(req)
	if err != nil {
		r.t.Fatal(err)
	}
	code, body := r.try("POST", protocol.PathForwardBackward, protocol.ContentTypeProtobuf, b)
	var f protocol.UntypedAPIFuture
	if code != 200 || json.Unmarshal(body, &f) != nil {
		r.t.Fatalf("forward_backward: %d %s", code, body)
	}
	return f.RequestID
}
