package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

func TestParseFaults(t *testing.T) {
	fc, err := ParseFaults("rate=0.1,kinds=5xx+429+408+drop+slow,seed=1")
	if err != nil {
		t.Fatal(err)
	}
	if fc.Rate != 0.1 || len(fc.Kinds) != 5 || fc.Seed != 1 {
		t.Fatalf("%+v", fc)
	}
	if fc, _ := ParseFaults(""); fc != nil {
		t.Fatal("empty spec gave a config")
	}
	for spec, want := range map[string]string{
		"rate=2":                  "rate",
		"rate=0.1,kinds=5xx+boom": `unknown kind "boom"`,
		"kinds=5xx":               "rate= is required",
		"rate=0.1,color=red":      `unknown key "color"`,
		"rate":                    "not key=value",
		"rate=0.1,slow=fast":      "duration",
	} {
		if _, err := ParseFaults(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", spec, err, want)
		}
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	cfg := FaultConfig{Rate: 0.3, Kinds: faultKinds, Seed: 42}
	seq := func() string {
		fi := newFaultInjector(cfg)
		var b strings.Builder
		for i := 0; i < 200; i++ {
			k := fi.draw()
			if k == "" {
				k = "-"
			}
			b.WriteString(k + ",")
		}
		return b.String()
	}
	a, b := seq(), seq()
	if a != b {
		t.Fatal("same seed, different fault sequence")
	}
	n := strings.Count(a, "-,")
	if n < 110 || n > 170 { // ~140 of 200 pass at rate 0.3
		t.Fatalf("%d of 200 requests passed at rate 0.3", n)
	}
	for _, k := range []string{"500", "503", "429", "408", "drop", "slow"} {
		if !strings.Contains(a, k+",") {
			t.Errorf("kind %s never drawn", k)
		}
	}
	cfg.Seed = 43
	fi := newFaultInjector(cfg)
	var other strings.Builder
	for i := 0; i < 200; i++ {
		k := fi.draw()
		if k == "" {
			k = "-"
		}
		other.WriteString(k + ",")
	}
	if other.String() == a {
		t.Fatal("different seeds, same sequence")
	}
}

// With faults injected on every kind, a client that retries like the SDK
// (408/429/5xx/connection errors) still completes a training flow.
func TestFaultsRetryingClientCompletes(t *testing.T) {
	e, _, c := newFakeEngine(t, func(o *Options) {
		o.Faults = &FaultConfig{Rate: 0.3, Kinds: faultKinds, Seed: 7, SlowDelay: 5 * time.Millisecond}
	})
	rc := &retryingClient{rawClient: c}
	sid := rc.session()
	mid := rc.createModel(sid, 0, fakeBase, 1)
	for s := 1; s <= 10; s += 2 {
		fb := rc.fb(&protocol.ForwardBackwardRequest{ModelID: mid, SeqID: int32(s), LossFn: "cross_entropy", Data: []protocol.Datum{ceDatum(bytesOf("abcabc"))}})
		opt := rc.submitRetry(protocol.PathOptimStep, protocol.OptimStepRequest{ModelID: mid, SeqID: s + 1, AdamParams: protocol.DefaultAdamParams()})
		c.fbAwait(fb)
		c.awaitJSON(opt, nil)
	}
	counts := e.FaultCounts()
	total := 0
	for _, v := range counts {
		total += v
	}
	if total == 0 {
		t.Fatal("no faults were injected")
	}
	t.Logf("faults: %v", counts)
}
