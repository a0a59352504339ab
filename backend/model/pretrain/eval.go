package pretrain

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/tkx-dev/tkx/backend/model"
)

func encode(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

func decode(ids []int) string {
	var b strings.Builder
	for _, t := range ids {
		if t < 256 {
			b.WriteByte(byte(t))
		}
	}
	return b.String()
}

// arithmeticResult is the share of correct answers, and of answers that
// also end cleanly with the stop sequence.
type arithmeticResult struct{ correct, clean, n int }

// checkAnswer is the cookbook arithmetic environment's check: the first
// whitespace-separated chunk parses as the sum.
func checkAnswer(out string, want int) bool {
	f := strings.Fields(out)
	if len(f) == 0 {
		return false
	}
	v, err := strconv.Atoi(f[0])
	return err == nil && v == want
}

func evalArithmetic(m *model.Model, n int, fewShot bool, temp float64, samples int) arithmeticResult {
	s := m.Sampler()
	rng := rand.New(rand.NewPCG(12345, 678))
	stop := encode("\n\nUser:")
	var r arithmeticResult
	for i := 0; i < n; i++ {
		x, y := rng.IntN(101), rng.IntN(101)
		prompt := ""
		if fewShot {
			prompt = "User: What is 4 + 5?\n\nAssistant: 9\n\n"
		}
		prompt += fmt.Sprintf("User: What is %d + %d?\n\nAssistant:", x, y)
		res, err := s.Sample(model.SampleRequest{Prompt: encode(prompt), NumSamples: samples, Params: model.SamplingParams{
			MaxTokens: 12, Temperature: temp, Seed: uint64(i), HasSeed: true, StopSequences: [][]int{stop}}})
		if err != nil {
			panic(err)
		}
		for _, sq := range res.Sequences {
			out := decode(sq.Tokens)
			r.n++
			if checkAnswer(out, x+y) {
				r.correct++
				if sq.StopReason == "stop" && strings.HasSuffix(out, "\n\nUser:") {
					r.clean++
				}
			}
		}
	}
	return r
}

// EvalReport prints arithmetic accuracy (greedy with and without the
// few-shot prefix, and sampled at temperature 1) and a few sample replies.
func EvalReport(w io.Writer, m *model.Model, n int) {
	for _, c := range []struct {
		few     bool
		temp    float64
		samples int
	}{{true, 0, 1}, {false, 0, 1}, {true, 1, 4}} {
		r := evalArithmetic(m, n, c.few, c.temp, c.samples)
		fmt.Fprintf(w, "eval arithmetic few-shot=%v temperature=%g: accuracy %.3f (%d/%d), with clean stop %.3f\n",
			c.few, c.temp, float64(r.correct)/float64(r.n), r.correct, r.n, float64(r.clean)/float64(r.n))
	}
	s := m.Sampler()
	for _, q := range []string{"Hello!", "What is the capital of France?", "Count from 3 to 9.", "What is 23 + 45?"} {
		res, _ := s.Sample(model.SampleRequest{Prompt: encode("User: " + q + "\n\nAssistant:"), NumSamples: 1,
			Params: model.SamplingParams{MaxTokens: 60, StopSequences: [][]int{encode("\n\nUser:")}}})
		fmt.Fprintf(w, "eval sample %q -> %q\n", q, decode(res.Sequences[0].Tokens))
	}
}
