// Command pretrain makes the shipped checkpoint of tkx/local-base:
//
//	go run ./backend/model/cmd/pretrain -out backend/model/pretrained/local-base.safetensors
//
// It is deterministic: the corpus (corpus.go) and the initial weights come
// from fixed seeds, the batches are packed in a fixed order, and the model's
// arithmetic is reproducible for a given binary and CPU path, so the same
// flags give the same bytes. The defaults are the settings of the shipped
// checkpoint. With -eval it instead reports a checkpoint's greedy accuracy
// on held-out arithmetic questions.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/tkx-dev/tkx/backend/model"
)

type settings struct {
	steps, batch, warmup int
	lr, minLRFrac, wd    float64
	clip                 float64
	seed, dataSeed       uint64
	out                  string
	saveEvery, evalEvery int
	evalN                int
	arithPct             int
	init                 string
	stopAt               int
}

func main() {
	var s settings
	flag.IntVar(&s.steps, "steps", 1200, "optimizer steps")
	flag.IntVar(&s.batch, "batch", 16, "sequences (of at most 256 tokens) per step")
	flag.IntVar(&s.warmup, "warmup", 100, "linear warm-up steps")
	flag.Float64Var(&s.lr, "lr", 2e-3, "peak learning rate")
	flag.Float64Var(&s.minLRFrac, "min-lr-frac", 0.1, "final learning rate as a fraction of the peak (cosine decay)")
	flag.Float64Var(&s.wd, "wd", 0.01, "AdamW weight decay")
	flag.Float64Var(&s.clip, "clip", 1.0, "gradient clipping norm")
	flag.Uint64Var(&s.seed, "seed", 1, "weight initialisation seed")
	flag.Uint64Var(&s.dataSeed, "data-seed", 2, "corpus seed")
	flag.StringVar(&s.out, "out", "backend/model/pretrained/local-base.safetensors", "output checkpoint")
	flag.IntVar(&s.saveEvery, "save-every", 100, "write the checkpoint every N steps")
	flag.IntVar(&s.evalEvery, "eval-every", 200, "arithmetic eval every N steps (0: off)")
	flag.IntVar(&s.evalN, "eval-n", 100, "arithmetic eval questions")
	flag.IntVar(&s.stopAt, "stop-at", 0, "stop after this many steps (keeping the schedule of -steps); 0: run all")
	flag.IntVar(&s.arithPct, "arith-pct", 55, "percentage of arithmetic conversations in the corpus")
	flag.StringVar(&s.init, "init", "", "start from this checkpoint's base weights (a second stage) instead of random weights")
	eval := flag.String("eval", "", "evaluate this checkpoint instead of training")
	flag.Parse()
	if *eval != "" {
		raw, err := os.ReadFile(*eval)
		if err != nil {
			fatal(err)
		}
		m, err := model.Load[float32](raw)
		if err != nil {
			fatal(err)
		}
		evalReport(os.Stdout, m, 500)
		return
	}
	if err := train(s, os.Stdout); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "pretrain:", err)
	os.Exit(1)
}

func lrAt(s settings, step int) float64 {
	if step < s.warmup {
		return s.lr * float64(step+1) / float64(s.warmup)
	}
	p := float64(step-s.warmup) / float64(max(1, s.steps-s.warmup))
	return s.lr * (s.minLRFrac + (1-s.minLRFrac)*0.5*(1+math.Cos(math.Pi*p)))
}

func train(s settings, log io.Writer) error {
	cfg := model.LocalBase()
	m, err := model.NewRandom[float32](cfg, s.seed)
	if err != nil {
		return err
	}
	if s.init != "" {
		raw, err := os.ReadFile(s.init)
		if err != nil {
			return err
		}
		if m, err = model.LoadBase[float32](raw); err != nil {
			return fmt.Errorf("%s: %v", s.init, err)
		}
	}
	b := &batcher{rng: rand.New(rand.NewPCG(s.dataSeed, 0x636f72707573)), maxLen: cfg.MaxSeq + 1, arithPct: s.arithPct}
	fmt.Fprintf(log, "pretrain %s: %d params, steps %d, batch %d, lr %g (warmup %d, cosine to %g), wd %g, clip %g, seed %d, data-seed %d, arith-pct %d, init %q\n",
		cfg.Name, cfg.NumParams(), s.steps, s.batch, s.lr, s.warmup, s.minLRFrac, s.wd, s.clip, s.seed, s.dataSeed, s.arithPct, s.init)
	start := time.Now()
	var tokens, winTokens int
	var winLoss float64
	winStart := time.Now()
	for step := 0; step < s.steps; step++ {
		// Mean cross-entropy over the batch's tokens (weights 1/tokens).
		seqs := make([][]int, s.batch)
		ntok := 0
		for i := range seqs {
			seqs[i] = b.sequence()
			ntok += len(seqs[i]) - 1
		}
		data := make([]model.Datum, s.batch)
		for i, seq := range seqs {
			L := len(seq) - 1
			tg, w := make([]float64, L), make([]float64, L)
			for t := 0; t < L; t++ {
				tg[t], w[t] = float64(seq[t+1]), 1/float64(ntok)
			}
			data[i] = model.Datum{Tokens: seq[:L], Inputs: map[string][]float64{"target_tokens": tg, "weights": w}}
		}
		winTokens += ntok
		res, err := m.ForwardBackward(data, model.LossCrossEntropy, nil, false)
		if err != nil {
			return err
		}
		winLoss += res.Metrics["loss:sum"] * float64(ntok)
		p := model.AdamParams{LearningRate: lrAt(s, step), Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: s.wd, GradClipNorm: s.clip}
		st, err := m.OptimStep(p)
		if err != nil {
			return err
		}
		if (step+1)%10 == 0 {
			el := time.Since(winStart).Seconds()
			tokens += winTokens
			fmt.Fprintf(log, "step %5d  loss/token %.4f  grad_norm %.3f  lr %.2e  tok/s %.0f  tokens %d  elapsed %s\n",
				step+1, winLoss/float64(winTokens), st.GradNorm, p.LearningRate, float64(winTokens)/el, tokens, time.Since(start).Round(time.Second))
			winTokens, winLoss, winStart = 0, 0, time.Now()
		}
		if s.evalEvery > 0 && (step+1)%s.evalEvery == 0 {
			evalReport(log, m, s.evalN)
		}
		last := step+1 == s.steps || step+1 == s.stopAt
		if (step+1)%s.saveEvery == 0 || last {
			if err := save(m, s.out); err != nil {
				return err
			}
		}
		if last {
			break
		}
	}
	evalReport(log, m, 500)
	fmt.Fprintf(log, "done in %s; wrote %s\n", time.Since(start).Round(time.Second), s.out)
	return nil
}

// save writes the base weights (no optimizer state) atomically.
func save(m *model.Model, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := m.Save(f, false); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
