// Package pretrain makes the shipped checkpoint of tkx/local-base
// (backend/model/pretrained/local-base.safetensors):
//
//	go run ./backend/model/cmd/pretrain
//
// runs the Shipped stages. It is deterministic: the corpus (corpus.go) and
// the initial weights come from fixed seeds, batches are packed in a fixed
// order, and the model's arithmetic is bitwise reproducible for a given
// binary and CPU path, so the same stages give the same bytes. -custom runs
// one stage from flags; -eval reports a checkpoint's arithmetic accuracy.
package pretrain

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

// Stage is one pretraining run.
type Stage struct {
	Steps     int     // schedule length (warm-up, then cosine decay to MinLRFrac·LR at Steps)
	StopAt    int     // stop after this many steps (0: Steps), keeping the schedule
	Batch     int     // conversations packed into sequences of ≤ 256 tokens, per step
	Warmup    int     // linear warm-up steps
	LR        float64 // peak learning rate
	MinLRFrac float64
	WD        float64 // AdamW weight decay
	Clip      float64 // gradient clipping norm
	Seed      uint64  // weight initialisation (ignored with Init)
	DataSeed  uint64  // corpus seed
	ArithPct  int     // percentage of arithmetic conversations
	AnswerW   float64 // loss weight of arithmetic answer tokens (0 or 1: plain mean)
	Init      string  // start from this checkpoint's weights (fresh optimizer)
}

// Shipped are the stages that made the shipped checkpoint, each starting
// from the previous one's weights with a fresh optimizer:
//  1. general chat, Q&A and arithmetic (55% of conversations), stopped at
//     step 600 of a 1000-step schedule;
//  2. arithmetic-heavy (80%), stopped at step 400 of 1000;
//  3. arithmetic-heavy with the answer digits' loss weighted 6x, 600 steps
//     (the units digit was what the model still got wrong).
//
// Stages 1 and 2 stop early (StopAt) where a first, slower attempt on a
// busy machine was cut; StopAt keeps each stage's learning-rate schedule.
var Shipped = []Stage{
	{Steps: 1000, StopAt: 600, Batch: 16, Warmup: 100, LR: 2e-3, MinLRFrac: 0.1, WD: 0.01, Clip: 1, Seed: 1, DataSeed: 2, ArithPct: 55},
	{Steps: 1000, StopAt: 400, Batch: 16, Warmup: 30, LR: 1.5e-3, MinLRFrac: 0.1, WD: 0.01, Clip: 1, Seed: 1, DataSeed: 3, ArithPct: 80},
	{Steps: 600, Batch: 16, Warmup: 20, LR: 1e-3, MinLRFrac: 0.05, WD: 0.01, Clip: 1, Seed: 1, DataSeed: 4, ArithPct: 80, AnswerW: 6},
}

type runOpts struct {
	out                  string
	saveEvery, evalEvery int
	evalN                int
}

// Main is the command line (cmd/pretrain, or a `tkx pretrain` subcommand).
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pretrain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOpts
	var st Stage
	fs.StringVar(&o.out, "out", "backend/model/pretrained/local-base.safetensors", "output checkpoint")
	fs.IntVar(&o.saveEvery, "save-every", 100, "write the checkpoint every N steps")
	fs.IntVar(&o.evalEvery, "eval-every", 200, "arithmetic eval every N steps (0: off)")
	fs.IntVar(&o.evalN, "eval-n", 100, "questions per periodic arithmetic eval")
	custom := fs.Bool("custom", false, "run one stage from the flags below instead of the shipped stages")
	fs.IntVar(&st.Steps, "steps", 1000, "-custom: schedule length in optimizer steps")
	fs.IntVar(&st.StopAt, "stop-at", 0, "-custom: stop after this many steps (keeping the schedule); 0: run all")
	fs.IntVar(&st.Batch, "batch", 16, "-custom: sequences (of at most 256 tokens) per step")
	fs.IntVar(&st.Warmup, "warmup", 100, "-custom: linear warm-up steps")
	fs.Float64Var(&st.LR, "lr", 2e-3, "-custom: peak learning rate")
	fs.Float64Var(&st.MinLRFrac, "min-lr-frac", 0.1, "-custom: final learning rate as a fraction of the peak (cosine decay)")
	fs.Float64Var(&st.WD, "wd", 0.01, "-custom: AdamW weight decay")
	fs.Float64Var(&st.Clip, "clip", 1.0, "-custom: gradient clipping norm")
	fs.Uint64Var(&st.Seed, "seed", 1, "-custom: weight initialisation seed")
	fs.Uint64Var(&st.DataSeed, "data-seed", 2, "-custom: corpus seed")
	fs.IntVar(&st.ArithPct, "arith-pct", 55, "-custom: percentage of arithmetic conversations in the corpus")
	fs.Float64Var(&st.AnswerW, "answer-weight", 1, "-custom: loss weight of arithmetic answer tokens")
	fs.StringVar(&st.Init, "init", "", "-custom: start from this checkpoint's weights instead of random weights")
	eval := fs.String("eval", "", "evaluate this checkpoint instead of training")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pretrain: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *eval != "" {
		raw, err := os.ReadFile(*eval)
		if err != nil {
			fmt.Fprintln(stderr, "pretrain:", err)
			return 1
		}
		m, err := model.LoadBase[float32](raw)
		if err != nil {
			fmt.Fprintf(stderr, "pretrain: %s: %v\n", *eval, err)
			return 1
		}
		EvalReport(stdout, m, 500)
		return 0
	}
	stages := Shipped
	if *custom {
		stages = []Stage{st}
	}
	for i, s := range stages {
		out := o.out
		if i+1 < len(stages) {
			out = fmt.Sprintf("%s.stage%d", o.out, i+1)
		}
		if i > 0 && !*custom {
			s.Init = fmt.Sprintf("%s.stage%d", o.out, i)
		}
		so := o
		so.out = out
		if err := Train(s, so, stdout); err != nil {
			fmt.Fprintln(stderr, "pretrain:", err)
			return 1
		}
	}
	return 0
}

func lrAt(s Stage, step int) float64 {
	if step < s.Warmup {
		return s.LR * float64(step+1) / float64(s.Warmup)
	}
	p := float64(step-s.Warmup) / float64(max(1, s.Steps-s.Warmup))
	return s.LR * (s.MinLRFrac + (1-s.MinLRFrac)*0.5*(1+math.Cos(math.Pi*p)))
}

func tokenWeight(s Stage, answer bool) float64 {
	if answer && s.AnswerW > 0 {
		return s.AnswerW
	}
	return 1
}

// Train runs one stage, writing the checkpoint to o.out.
func Train(s Stage, o runOpts, log io.Writer) error {
	cfg := model.LocalBase()
	m, err := model.NewRandom[float32](cfg, s.Seed)
	if err != nil {
		return err
	}
	if s.Init != "" {
		raw, err := os.ReadFile(s.Init)
		if err != nil {
			return err
		}
		if m, err = model.LoadBase[float32](raw); err != nil {
			return fmt.Errorf("%s: %v", s.Init, err)
		}
	}
	// Scalar math.Exp: the numerics the shipped checkpoint was made with.
	m.SetExactMath(true)
	b := &batcher{rng: rand.New(rand.NewPCG(s.DataSeed, 0x636f72707573)), maxLen: cfg.MaxSeq + 1, arithPct: s.ArithPct}
	fmt.Fprintf(log, "pretrain %s: %d params, steps %d, batch %d, lr %g (warmup %d, cosine to %g), wd %g, clip %g, seed %d, data-seed %d, arith-pct %d, answer-weight %g, init %q\n",
		cfg.Name, cfg.NumParams(), s.Steps, s.Batch, s.LR, s.Warmup, s.MinLRFrac, s.WD, s.Clip, s.Seed, s.DataSeed, s.ArithPct, s.AnswerW, s.Init)
	start := time.Now()
	var tokens, winTokens int
	var winLoss float64
	winStart := time.Now()
	for step := 0; step < s.Steps; step++ {
		// Weighted mean cross-entropy over the batch's tokens: weight 1, or
		// AnswerW for arithmetic answer tokens, divided by the total weight.
		seqs := make([][]int, s.Batch)
		masks := make([][]bool, s.Batch)
		ntok := 0
		var total float64
		for i := range seqs {
			seqs[i], masks[i] = b.sequence()
			ntok += len(seqs[i]) - 1
			for t := 1; t < len(seqs[i]); t++ {
				total += tokenWeight(s, masks[i][t])
			}
		}
		data := make([]model.Datum, s.Batch)
		for i, seq := range seqs {
			L := len(seq) - 1
			tg, w := make([]float64, L), make([]float64, L)
			for t := 0; t < L; t++ {
				tg[t], w[t] = float64(seq[t+1]), tokenWeight(s, masks[i][t+1])/total
			}
			data[i] = model.Datum{Tokens: seq[:L], Inputs: map[string][]float64{"target_tokens": tg, "weights": w}}
		}
		winTokens += ntok
		res, err := m.ForwardBackward(data, model.LossCrossEntropy, nil, false)
		if err != nil {
			return err
		}
		winLoss += res.Metrics["loss:sum"] * total
		p := model.AdamParams{LearningRate: lrAt(s, step), Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: s.WD, GradClipNorm: s.Clip}
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
		if o.evalEvery > 0 && (step+1)%o.evalEvery == 0 {
			EvalReport(log, m, o.evalN)
		}
		last := step+1 == s.Steps || step+1 == s.StopAt
		if (step+1)%o.saveEvery == 0 || last {
			if err := save(m, o.out); err != nil {
				return err
			}
		}
		if last {
			break
		}
	}
	EvalReport(log, m, 500)
	fmt.Fprintf(log, "done in %s; wrote %s\n", time.Since(start).Round(time.Second), o.out)
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
