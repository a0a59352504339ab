package model

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func byteIDs(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

func byteText(ids []int) string {
	var b strings.Builder
	for _, t := range ids {
		if t < 256 {
			b.WriteByte(byte(t))
		}
	}
	return b.String()
}

func TestPretrainedCheckpoint(t *testing.T) {
	m, err := NewBase(LocalBaseName)
	if err != nil {
		t.Fatal(err)
	}
	if m.Cfg != LocalBase() {
		t.Fatalf("embedded config %+v", m.Cfg)
	}
	s := m.Sampler()
	// It writes in the role_colon format and stops at the next "User:".
	stop := byteIDs("\n\nUser:")
	r, err := s.Sample(SampleRequest{Prompt: byteIDs("User: Hello!\n\nAssistant:"), NumSamples: 1,
		Params: SamplingParams{MaxTokens: 80, StopSequences: [][]int{stop}}})
	if err != nil {
		t.Fatal(err)
	}
	if out := byteText(r.Sequences[0].Tokens); r.Sequences[0].StopReason != "stop" || !strings.HasSuffix(out, "\n\nUser:") {
		t.Fatalf("greeting reply %q (%s)", out, r.Sequences[0].StopReason)
	}
	// RL on "What is X + Y?" gets a reward signal: sampling at temperature
	// 1 with the cookbook's few-shot prefix answers some questions right.
	rng := rand.New(rand.NewPCG(99, 1))
	correct, total := 0, 0
	var reqs []SampleRequest
	var want []int
	for i := 0; i < 16; i++ {
		x, y := rng.IntN(101), rng.IntN(101)
		p := fmt.Sprintf("User: What is 4 + 5?\n\nAssistant: 9\n\nUser: What is %d + %d?\n\nAssistant:", x, y)
		reqs = append(reqs, SampleRequest{Prompt: byteIDs(p), NumSamples: 8,
			Params: SamplingParams{MaxTokens: 10, Temperature: 1, Seed: uint64(i), HasSeed: true, StopSequences: [][]int{stop}}})
		want = append(want, x+y)
	}
	res, errs := s.SampleMany(reqs)
	for i := range res {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, sq := range res[i].Sequences {
			total++
			f := strings.Fields(byteText(sq.Tokens))
			if len(f) > 0 {
				if v, err := strconv.Atoi(f[0]); err == nil && v == want[i] {
					correct++
				}
			}
		}
	}
	t.Logf("arithmetic at temperature 1: %d/%d correct", correct, total)
	if correct < minPretrainedCorrect {
		t.Fatalf("only %d/%d arithmetic answers correct, want >= %d", correct, total, minPretrainedCorrect)
	}
	// Greedy, without the few-shot prefix.
	reqs, want = nil, nil
	for i := 0; i < 32; i++ {
		x, y := rng.IntN(101), rng.IntN(101)
		reqs = append(reqs, SampleRequest{Prompt: byteIDs(fmt.Sprintf("User: What is %d + %d?\n\nAssistant:", x, y)), NumSamples: 1,
			Params: SamplingParams{MaxTokens: 12, StopSequences: [][]int{stop}}})
		want = append(want, x+y)
	}
	res, _ = s.SampleMany(reqs)
	greedy := 0
	for i := range res {
		out := byteText(res[i].Sequences[0].Tokens)
		if out == fmt.Sprintf(" %d\n\nUser:", want[i]) {
			greedy++
		}
	}
	t.Logf("greedy: %d/32 exactly right with a clean stop", greedy)
	if greedy < minPretrainedGreedy {
		t.Fatalf("greedy arithmetic %d/32, want >= %d", greedy, minPretrainedGreedy)
	}
}
