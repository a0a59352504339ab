package pretrain

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestCorpusDeterministicAndWellFormed(t *testing.T) {
	mk := func() *batcher {
		return &batcher{rng: rand.New(rand.NewPCG(2, 0x636f72707573)), maxLen: 257, arithPct: 55}
	}
	a, b := mk(), mk()
	turnRE := regexp.MustCompile(`^User: ([^\n]+)\n\nAssistant: ([^\n]+)\n\n`)
	addRE := regexp.MustCompile(`^What is (\d+) \+ (\d+)\?$`)
	adds, marked := 0, 0
	for i := 0; i < 200; i++ {
		sa, ma := a.sequence()
		sb, _ := b.sequence()
		if len(ma) != len(sa) {
			t.Fatal("mask length")
		}
		for j, on := range ma {
			if on {
				marked++
				if sa[j] < '0' || sa[j] > '9' {
					t.Fatalf("answer mask covers %q", rune(sa[j]))
				}
			}
		}
		if fmt.Sprint(sa) != fmt.Sprint(sb) {
			t.Fatal("same seed, different corpus")
		}
		if len(sa) == 0 || len(sa) > 257 || sa[len(sa)-1] != eos {
			t.Fatalf("sequence %d: length %d, last %d", i, len(sa), sa[len(sa)-1])
		}
		// Split at <|endoftext|>.
		start := 0
		for j, tok := range sa {
			if tok != eos {
				continue
			}
			conv := decode(sa[start:j])
			start = j + 1
			if !strings.HasSuffix(conv, "\n\nUser:") {
				t.Fatalf("conversation does not end with the stop overlap: %q", conv)
			}
			rest := conv
			for strings.HasPrefix(rest, "User: ") {
				m := turnRE.FindStringSubmatch(rest)
				if m == nil {
					t.Fatalf("malformed turn in %q", conv)
				}
				if q := addRE.FindStringSubmatch(m[1]); q != nil {
					var x, y, z int
					fmt.Sscan(q[1], &x)
					fmt.Sscan(q[2], &y)
					fmt.Sscan(m[2], &z)
					if x > 100 || y > 100 || z != x+y {
						t.Fatalf("bad arithmetic %q -> %q", m[1], m[2])
					}
					adds++
				}
				rest = rest[len(m[0]):]
			}
			if rest != "User:" {
				t.Fatalf("trailing %q in %q", rest, conv)
			}
		}
	}
	if marked < 2*adds {
		t.Fatalf("%d answer bytes marked for %d additions", marked, adds)
	}
	if adds < 100 {
		t.Fatalf("only %d addition questions", adds)
	}
}

func TestCheckAnswer(t *testing.T) {
	if !checkAnswer(" 68\n\nUser:", 68) || checkAnswer(" 67\n\nUser:", 68) || checkAnswer("", 1) || checkAnswer(" sixty", 60) {
		t.Fatal("checkAnswer")
	}
}

func TestLRSchedule(t *testing.T) {
	s := Stage{Steps: 1000, Warmup: 100, LR: 2e-3, MinLRFrac: 0.1}
	if lrAt(s, 0) != 2e-5 || lrAt(s, 99) != 2e-3 || lrAt(s, 100) != 2e-3 {
		t.Fatal("warm-up")
	}
	if v := lrAt(s, 1000); v < 1.99e-4 || v > 2.01e-4 {
		t.Fatalf("final lr %g", v)
	}
}

func TestMainBadInput(t *testing.T) {
	var out, errb strings.Builder
	if rc := Main([]string{"-nope"}, &out, &errb); rc != 2 {
		t.Fatalf("unknown flag: rc %d", rc)
	}
	if rc := Main([]string{"extra"}, &out, &errb); rc != 2 {
		t.Fatalf("stray argument: rc %d", rc)
	}
	if rc := Main([]string{"-eval", "/nonexistent/x.safetensors"}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "nonexistent") {
		t.Fatalf("missing checkpoint: rc %d, %q", rc, errb.String())
	}
}

func TestShippedStagesAreConsistent(t *testing.T) {
	if len(Shipped) != 3 || Shipped[0].Init != "" || Shipped[2].AnswerW != 6 {
		t.Fatalf("Shipped = %+v", Shipped)
	}
	for i, s := range Shipped {
		if s.Steps <= 0 || s.Batch <= 0 || s.LR <= 0 || (s.StopAt != 0 && s.StopAt > s.Steps) {
			t.Fatalf("stage %d: %+v", i+1, s)
		}
	}
}
