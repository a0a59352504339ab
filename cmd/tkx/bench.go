package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/tkx-dev/tkx/backend"
	"github.com/tkx-dev/tkx/backend/kernels"
	"github.com/tkx-dev/tkx/backend/model"
	"github.com/tkx-dev/tkx/protocol"
)

const benchUsage = `Usage: tkx bench backend [--json] [--trials N] [--quick]

Measures the embedded local backend on this machine, for the default model
(tkx/local-base: L=4, d=128, 4 heads, T=256, vocab 288):

  train_tokens_per_s         forward + backward + AdamW, full-weight training,
                             batch 8 × 256 tokens per step
  train_lora_tokens_per_s    the same with LoRA rank 32 adapters (what the
                             engine trains)
  train_engine_tokens_per_s  LoRA rank 32 through the whole engine (protocol
                             encoding, futures, in-process HTTP)
  sample_tokens_per_s_b1     sampling with the KV cache, 1 sequence,
                             16-token prompt, 128 new tokens
  sample_tokens_per_s_b16    the same with 16 sequences decoded as one batch
  matmul_gflops              the GEMM kernel on the model's shapes (2048 rows)
  matmul_peak_share          matmul_gflops / the CPU's fp32 peak for the path

Every figure is the best of --trials trials (default 3): on a shared machine
other processes only ever make a trial slower. --json prints one JSON object.
--quick runs short trials (for smoke tests; figures are noisier).`

func init() {
	register(&command{
		name:    "bench",
		summary: "measure performance (tkx bench backend)",
		usage:   benchUsage,
		run:     runBench,
	})
}

// benchReport is the JSON of `tkx bench backend --json`.
type benchReport struct {
	TrainTokensPerS       float64 `json:"train_tokens_per_s"`
	TrainLoRATokensPerS   float64 `json:"train_lora_tokens_per_s"`
	TrainEngineTokensPerS float64 `json:"train_engine_tokens_per_s"`
	SampleTokensPerSB1    float64 `json:"sample_tokens_per_s_b1"`
	SampleTokensPerSB16   float64 `json:"sample_tokens_per_s_b16"`
	MatmulGFLOPS          float64 `json:"matmul_gflops"`
	MatmulPeakShare       float64 `json:"matmul_peak_share"`
	MatmulPeakGFLOPS      float64 `json:"matmul_peak_gflops"`
	KernelPath            string  `json:"kernel_path"`
	Threads               int     `json:"threads"`
	CPU                   string  `json:"cpu"`
	Model                 string  `json:"model"`
	Trials                int     `json:"trials"`
	Seconds               float64 `json:"seconds"`
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "backend" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, benchUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "tkx bench: want a target: backend\n\n%s\n", benchUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("bench backend", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	trials := fs.Int("trials", 3, "")
	quick := fs.Bool("quick", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stdout, benchUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "tkx bench backend: %v\n\n%s\n", err, benchUsage)
		return exitUsage
	}
	if *trials < 1 || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tkx bench backend: --trials must be ≥ 1 and no other arguments are taken\n")
		return exitUsage
	}
	rep, err := benchBackend(*trials, *quick, func(s string) {
		if !*asJSON {
			fmt.Fprintln(stderr, s)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "tkx bench backend: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(stdout, "local backend, %s on %s (%d threads, kernel path %s), best of %d trials\n", rep.Model, rep.CPU, rep.Threads, rep.KernelPath, rep.Trials)
	fmt.Fprintf(stdout, "  training, full weights     %10.0f tokens/s\n", rep.TrainTokensPerS)
	fmt.Fprintf(stdout, "  training, LoRA rank 32     %10.0f tokens/s\n", rep.TrainLoRATokensPerS)
	fmt.Fprintf(stdout, "  training via the engine    %10.0f tokens/s (LoRA 32, protocol + futures)\n", rep.TrainEngineTokensPerS)
	fmt.Fprintf(stdout, "  sampling, batch 1          %10.0f tokens/s\n", rep.SampleTokensPerSB1)
	fmt.Fprintf(stdout, "  sampling, batch 16         %10.0f tokens/s\n", rep.SampleTokensPerSB16)
	fmt.Fprintf(stdout, "  matmul                     %10.1f GFLOPS (%.0f%% of the %.0f GFLOPS peak)\n", rep.MatmulGFLOPS, 100*rep.MatmulPeakShare, rep.MatmulPeakGFLOPS)
	return exitOK
}

func benchBackend(trials int, quick bool, progress func(string)) (*benchReport, error) {
	start := time.Now()
	cfg := model.LocalBase()
	steps, newTokens, minTime := 4, 128, 300*time.Millisecond
	if quick {
		steps, newTokens, minTime = 1, 32, 20*time.Millisecond
	}
	rep := &benchReport{Model: cfg.Name, Trials: trials, Threads: runtime.GOMAXPROCS(0)}

	progress("training (full weights)…")
	r, err := model.BenchTrain(cfg, nil, 8, 256, steps, trials)
	if err != nil {
		return nil, err
	}
	rep.TrainTokensPerS = r.TokensPerSec

	progress("training (LoRA rank 32)…")
	r, err = model.BenchTrain(cfg, &model.LoraConfig{Rank: 32, TrainAttn: true, TrainMLP: true, TrainUnembed: true}, 8, 256, steps, trials)
	if err != nil {
		return nil, err
	}
	rep.TrainLoRATokensPerS = r.TokensPerSec

	progress("training through the engine…")
	if rep.TrainEngineTokensPerS, err = benchEngineTrain(cfg.Name, steps, trials); err != nil {
		return nil, err
	}

	progress("sampling…")
	r, err = model.BenchSample(cfg, 1, 16, newTokens, trials)
	if err != nil {
		return nil, err
	}
	rep.SampleTokensPerSB1 = r.TokensPerSec
	r, err = model.BenchSample(cfg, 16, 16, newTokens, trials)
	if err != nil {
		return nil, err
	}
	rep.SampleTokensPerSB16 = r.TokensPerSec

	progress("matmul…")
	mm := kernels.MeasureMatmul(nil, trials, minTime)
	rep.MatmulGFLOPS, rep.MatmulPeakShare, rep.MatmulPeakGFLOPS = mm.GFLOPS, mm.PeakShare, mm.PeakGFLOPS
	rep.KernelPath = mm.Path
	rep.CPU = cpuName(mm.CPU)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// benchEngineTrain measures LoRA training through the engine: protobuf
// forward_backward + optim_step pipelined over the in-process transport,
// exactly as a client drives it.
func benchEngineTrain(base string, steps, trials int) (float64, error) {
	dir, err := os.MkdirTemp("", "tkx-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	e, err := backend.NewEngine(backend.Options{DataDir: dir, Logf: func(string, ...any) {}})
	if err != nil {
		return 0, err
	}
	defer e.Close()
	c := &benchClient{hc: backend.NewInProcessClient(e.Handler())}
	var sess protocol.CreateSessionResponse
	if err := c.call(protocol.PathCreateSession, protocol.CreateSessionRequest{}, &sess); err != nil {
		return 0, err
	}
	lc := protocol.DefaultLoraConfig()
	var fut protocol.UntypedAPIFuture
	if err := c.call(protocol.PathCreateModel, protocol.CreateModelRequest{SessionID: sess.SessionID, BaseModel: base, LoraConfig: &lc}, &fut); err != nil {
		return 0, err
	}
	var cm protocol.CreateModelResponse
	if err := c.wait(fut.RequestID, &cm); err != nil {
		return 0, err
	}
	const batch, seqLen = 8, 256
	data := make([]protocol.Datum, batch)
	for i := range data {
		toks := make([]int32, seqLen)
		tg := make([]int64, seqLen)
		w := make([]float32, seqLen)
		for t := range toks {
			toks[t] = int32((i*131 + t*7) % 256)
			tg[t] = int64((i*131 + t*7 + 7) % 256)
			w[t] = 1.0 / (batch * seqLen)
		}
		data[i] = protocol.Datum{ModelInput: protocol.FromTokens(toks), LossFnInputs: map[string]protocol.TensorData{"target_tokens": protocol.Int64Tensor(tg), "weights": protocol.Float32Tensor(w)}}
	}
	seq := int32(1)
	step := func() error {
		body, err := protocol.EncodeForwardBackwardRequest(&protocol.ForwardBackwardRequest{ModelID: cm.ModelID, SeqID: seq, Data: data, LossFn: "cross_entropy"})
		if err != nil {
			return err
		}
		var f1, f2 protocol.UntypedAPIFuture
		if err := c.post(protocol.PathForwardBackward, protocol.ContentTypeProtobuf, body, &f1); err != nil {
			return err
		}
		if err := c.call(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: cm.ModelID, SeqID: int(seq + 1), AdamParams: protocol.AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}}, &f2); err != nil {
			return err
		}
		seq += 2
		if err := c.wait(f1.RequestID, nil); err != nil {
			return err
		}
		return c.wait(f2.RequestID, nil)
	}
	if err := step(); err != nil {
		return 0, err
	}
	best := 0.0
	for tr := 0; tr < trials; tr++ {
		t0 := time.Now()
		for s := 0; s < steps; s++ {
			if err := step(); err != nil {
				return 0, err
			}
		}
		if r := float64(steps*batch*seqLen) / time.Since(t0).Seconds(); r > best {
			best = r
		}
	}
	return best, nil
}

// benchClient is a minimal protocol client (the bench measures the engine,
// not the tinker package's retry policy).
type benchClient struct {
	hc *http.Client
}

func (c *benchClient) post(path, contentType string, body []byte, out any) error {
	req, err := http.NewRequest("POST", backend.InProcessBaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", protocol.ContentTypeProtobuf+", "+protocol.ContentTypeJSON)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	if out == nil || protocol.IsProtobufContentType(resp.Header.Get("Content-Type")) {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (c *benchClient) call(path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.post(path, protocol.ContentTypeJSON, b, out)
}

// wait polls retrieve_future until the result is there.
func (c *benchClient) wait(id string, out any) error {
	for {
		var raw json.RawMessage
		b, _ := json.Marshal(protocol.RetrieveFutureRequest{RequestID: id})
		req, _ := http.NewRequest("POST", backend.InProcessBaseURL+protocol.PathRetrieveFuture, bytes.NewReader(b))
		req.Header.Set("Content-Type", protocol.ContentTypeJSON)
		req.Header.Set("Accept", protocol.ContentTypeProtobuf+", "+protocol.ContentTypeJSON)
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("retrieve_future: %d %s", resp.StatusCode, body)
		}
		if protocol.IsProtobufContentType(resp.Header.Get("Content-Type")) {
			return nil
		}
		fb, err := protocol.ClassifyFutureBody(body)
		if err != nil {
			return err
		}
		switch fb.Kind {
		case protocol.FutureTryAgain:
			continue
		case protocol.FutureFailed:
			return fmt.Errorf("%s (%s)", fb.Failed.Error, fb.Failed.Category)
		}
		raw = body
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
}

func cpuName(c kernels.CPUInfo) string {
	name := c.ModelName
	if name == "" {
		name = "unknown CPU"
	}
	return fmt.Sprintf("%s, %d cores, %.1f GHz (%s)", name, c.Cores, c.GHz, c.GHzSource)
}
