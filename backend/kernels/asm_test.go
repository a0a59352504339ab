package kernels

import (
	"os"
	"strings"
	"testing"
)

// TestAsmVZEROUPPERBeforeRET checks the hazard rule from
// shared/reference/local-backend.md §2.3 on the generated assembly: every
// RET is directly preceded by VZEROUPPER, so no routine returns to Go code
// with dirty upper vector state.
func TestAsmVZEROUPPERBeforeRET(t *testing.T) {
	src, err := os.ReadFile("kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	rets, texts := 0, 0
	for i, line := range strings.Split(string(src), "\n") {
		ins := strings.TrimSpace(line)
		if j := strings.Index(ins, "//"); j >= 0 {
			ins = strings.TrimSpace(ins[:j])
		}
		if ins == "" || strings.HasSuffix(ins, ":") {
			continue
		}
		if strings.HasPrefix(ins, "TEXT ") {
			texts++
		}
		if ins == "RET" {
			rets++
			if prev != "VZEROUPPER" {
				t.Errorf("kernels_amd64.s:%d: RET after %q, want VZEROUPPER", i+1, prev)
			}
		}
		prev = ins
	}
	if texts == 0 || rets < texts {
		t.Fatalf("found %d routines and %d RETs; is kernels_amd64.s generated?", texts, rets)
	}
}
