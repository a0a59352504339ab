package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"gpu"}, {"backend", "--trials", "0"}, {"backend", "--nope"}} {
		var out, errb bytes.Buffer
		if code := runBench(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	var out, errb bytes.Buffer
	if code := runBench([]string{"backend", "-h"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "train_tokens_per_s") {
		t.Errorf("help: %d %q", code, out.String())
	}
}
