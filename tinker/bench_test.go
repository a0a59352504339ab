package tinker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker/tinkertest"
)

func benchData(nDatum, nTok int) []Datum {
	data := make([]Datum, nDatum)
	for i := range data {
		toks := make([]int32, nTok)
		tt := make([]int64, nTok)
		w := make([]float32, nTok)
		for j := range toks {
			toks[j] = int32((i + j) % 288)
			tt[j] = int64((i + j + 1) % 288)
			w[j] = 1
		}
		data[i] = Datum{ModelInput: protocol.FromTokens(toks), LossFnInputs: map[string]TensorData{
			protocol.InputTargetTokens: protocol.Int64Tensor(tt), protocol.InputWeights: protocol.Float32Tensor(w)}}
	}
	return data
}

// BenchmarkEncodeForwardBackward1024x512 encodes one forward_backward
// request of 1024 datums × 512 tokens (about 8 MB of protobuf).
func BenchmarkEncodeForwardBackward1024x512(b *testing.B) {
	data := benchData(1024, 512)
	req := &protocol.ForwardBackwardRequest{ModelID: "sess:train:0", SeqID: 1, Data: data, LossFn: protocol.LossCrossEntropy}
	out, _ := protocol.EncodeForwardBackwardRequest(req)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.EncodeForwardBackwardRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildValidateEncode1024x512 is the client's whole per-request
// CPU work: building the datums, validating, chunking and encoding.
func BenchmarkBuildValidateEncode1024x512(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		data := benchData(1024, 512)
		if err := protocol.ValidateForwardBackward(data, protocol.LossCrossEntropy, nil); err != nil {
			b.Fatal(err)
		}
		for _, ch := range protocol.ChunkData(data, 1024, 5000000) {
			out, err := protocol.EncodeForwardBackwardRequest(&protocol.ForwardBackwardRequest{ModelID: "m", SeqID: 1, Data: data[ch[0]:ch[1]], LossFn: protocol.LossCrossEntropy})
			if err != nil {
				b.Fatal(err)
			}
			n += len(out)
		}
	}
	b.SetBytes(int64(n / b.N))
}

// recorderTransport serves requests with a handler in-process.
type recorderTransport struct{ h http.Handler }

func (t recorderTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func benchNoop(b *testing.B, opts Options) {
	opts.HeartbeatInterval = -1
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	sc, err := NewServiceClient(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	ctx := context.Background()
	tc, err := sc.CreateLoraTrainingClient(ctx, "tkx/local-tiny", LoraOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p := protocol.DefaultAdamParams()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := tc.OptimStep(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoopFutureLoopback is the round trip of a no-op future (submit
// POST + one retrieve_future) against the fake over loopback TCP.
func BenchmarkNoopFutureLoopback(b *testing.B) {
	srv := tinkertest.New()
	defer srv.Close()
	benchNoop(b, Options{BaseURL: srv.URL})
}

// BenchmarkNoopFutureInProcess is the same through an in-process transport.
func BenchmarkNoopFutureInProcess(b *testing.B) {
	srv := tinkertest.NewHandler()
	benchNoop(b, Options{BaseURL: "http://local", HTTPClient: &http.Client{Transport: recorderTransport{srv}}})
}
