package backend

import (
	"testing"

	"github.com/tkx-dev/tkx/protocol"
)

// BenchmarkEngineTrainStep measures one LoRA forward_backward + optim_step
// of tkx/local-base (8×256 tokens) through the whole engine over the
// in-process transport; compare with model's BenchmarkTrainLocalBaseLoRA32
// for the engine's overhead.
func BenchmarkEngineTrainStep(b *testing.B) {
	e, err := NewEngine(Options{DataDir: b.TempDir(), Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := &rawClient{t: b, base: InProcessBaseURL, hc: NewInProcessClient(e.Handler())}
	sid := c.session()
	mid := c.createModel(sid, 0, "tkx/local-base", 32)
	data := make([]protocol.Datum, 8)
	for i := range data {
		seq := make([]int32, 257)
		for t := range seq {
			seq[t] = int32((i*131 + t*7) % 256)
		}
		data[i] = ceDatum(seq)
	}
	seq := int32(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fb := c.fbSubmit(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: seq, LossFn: "cross_entropy", Data: data})
		opt := c.submit(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: int(seq + 1), AdamParams: protocol.DefaultAdamParams()})
		seq += 2
		c.fbAwait(fb)
		c.awaitJSON(opt, nil)
	}
	b.ReportMetric(float64(b.N*8*256)/b.Elapsed().Seconds(), "tokens/s")
}
