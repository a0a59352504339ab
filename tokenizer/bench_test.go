package tokenizer

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// benchTextPath is written by the benchmarks and read by
// scripts/bench_tokenizers.js, so both sides encode the same bytes.
const benchTextPath = "../testdata/.cache/bench_text.txt"

const benchTextSize = 5 << 20

// benchText is ~5 MB of English prose-like HTML and Go code from GOROOT
// (the Go spec, then net/http sources), cut at a UTF-8 boundary.
var benchText = sync.OnceValue(func() string {
	root := runtime.GOROOT()
	var b strings.Builder
	files := []string{filepath.Join(root, "doc", "go_spec.html")}
	more, _ := filepath.Glob(filepath.Join(root, "src", "net", "http", "*.go"))
	sort.Strings(more)
	files = append(files, more...)
	for len(b.String()) < benchTextSize {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err == nil {
				b.Write(data)
			}
			if b.Len() >= benchTextSize {
				break
			}
		}
	}
	s := b.String()[:benchTextSize]
	for len(s) > 0 && !strings.HasSuffix(s, "\n") {
		s = s[:len(s)-1]
	}
	if old, err := os.ReadFile(benchTextPath); err != nil || string(old) != s {
		os.WriteFile(benchTextPath, []byte(s), 0o644)
	}
	return s
})

// chunks4k splits text into ~4 KB pieces at line boundaries.
func chunks4k(s string) []string {
	var out []string
	for len(s) > 0 {
		n := min(4096, len(s))
		if i := strings.LastIndexByte(s[:n], '\n'); i > 0 && n == 4096 {
			n = i + 1
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// BenchmarkEncode measures single-thread tokens/s (run with -cpu 1) on
// 4 KB chunks and on the whole 5 MB string. Compare with
// scripts/bench_tokenizers.js (HF Rust tokenizers via npm).
func BenchmarkEncode(b *testing.B) {
	text := benchText()
	chunks := chunks4k(text)
	for _, name := range goldNames {
		for _, mode := range []string{"chunks4k", "whole5MB", "whole5MB-coldcache"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				tk := cachedTokenizer(b, name, true)
				tk.Encode(text, false) // warm the word cache, as repeated runs of Rust do
				b.SetBytes(int64(len(text)))
				b.ResetTimer()
				cpu0 := cpuSeconds()
				tokens := 0
				for i := 0; i < b.N; i++ {
					if mode == "whole5MB-coldcache" {
						// Every word goes through BPE at least once per run.
						tk.model.mu.Lock()
						tk.model.cache = map[string][]int{}
						tk.model.mu.Unlock()
					}
					if mode != "chunks4k" {
						tokens += len(tk.Encode(text, false))
					} else {
						for _, c := range chunks {
							tokens += len(tk.Encode(c, false))
						}
					}
				}
				b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
				// CPU time of the process: on a shared machine wall time
				// also counts time other processes had the core.
				b.ReportMetric(float64(tokens)/(cpuSeconds()-cpu0), "tokens/cpu-s")
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	tk := cachedTokenizer(b, "qwen3", true)
	ids := tk.Encode(benchText(), false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Decode(ids)
	}
	b.ReportMetric(float64(len(ids)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(cacheDir, "gptoss", "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip("run scripts/test-setup.sh")
	}
	for i := 0; i < b.N; i++ {
		if _, err := ParseHF(path, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
