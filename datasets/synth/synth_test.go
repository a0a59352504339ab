package synth

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tkx-dev/tkx/datasets"
)

var update = flag.Bool("update", false, "rewrite testdata/sl from the generator")

const committed = "../../testdata/sl"

func TestCommittedFiles(t *testing.T) {
	if *update {
		if err := WriteFiles(committed); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	if err := WriteFiles(tmp); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"train.jsonl", "test.jsonl"} {
		want, _ := os.ReadFile(filepath.Join(tmp, name))
		got, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatalf("%v (run: go test ./datasets/synth -run TestCommittedFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator; run go test ./datasets/synth -run TestCommittedFiles -update", name)
		}
	}
}

func TestGenerated(t *testing.T) {
	train, test := Generate(DefaultSeed, TrainSize, TestSize)
	if len(train) != TrainSize || len(test) != TestSize {
		t.Fatal(len(train), len(test))
	}
	inTest := map[string]bool{}
	for _, r := range test {
		inTest[key(r)] = true
	}
	maxLen := 0
	for _, r := range append(append([]datasets.Row{}, train...), test...) {
		msgs, err := datasets.Messages(r)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			n += len(m.Content.(string)) + len(m.Role) + 4
		}
		maxLen = max(maxLen, n)
	}
	for _, r := range train {
		if inTest[key(r)] {
			t.Fatalf("test conversation in train: %s", key(r))
		}
	}
	if maxLen > 200 {
		t.Errorf("longest conversation %d bytes; must fit the local model's 256-token context", maxLen)
	}
	// Loads through the public reader with no bad lines.
	ds, rep, err := datasets.FromConversationFile(filepath.Join(committed, "train.jsonl"), datasets.ReadOptions{OnError: datasets.Fail})
	if err != nil || ds.Len() != TrainSize || rep.Skipped != 0 {
		t.Fatalf("%v %+v", err, rep)
	}
}
