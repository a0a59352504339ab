#!/usr/bin/env node
// Single-thread encode throughput of the HF Rust tokenizers library (npm
// tokenizers@0.23.2, prebuilt) on the same text as the Go benchmark
// (BenchmarkEncode in tokenizer/bench_test.go writes
// testdata/.cache/bench_text.txt). Run:
//
//   go test ./tokenizer -run XXX -bench Encode -cpu 1   # writes the text
//   RAYON_NUM_THREADS=1 node scripts/bench_tokenizers.js [name...]
//
// Reports tokens/s for 4 KB chunks (sequential encode calls) and for the
// whole 5 MB string, best of 3 runs after a warm-up run,
// both per wall second and per CPU second of the process.
'use strict';
process.env.RAYON_NUM_THREADS = process.env.RAYON_NUM_THREADS || '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const cache = path.join(root, 'testdata/.cache');
const { Tokenizer } = require(path.join(cache, 'npm/node_modules/tokenizers'));

const text = fs.readFileSync(path.join(cache, 'bench_text.txt'), 'utf8');
function chunks4k(s) {
  // Same cut as the Go benchmark: ~4096 bytes, at the last newline.
  const buf = Buffer.from(s, 'utf8');
  const out = [];
  let off = 0;
  while (off < buf.length) {
    let n = Math.min(4096, buf.length - off);
    if (n === 4096) {
      const i = buf.lastIndexOf(10, off + n - 1);
      if (i >= off + 1) n = i - off + 1;
    }
    out.push(buf.subarray(off, off + n).toString('utf8'));
    off += n;
  }
  return out;
}

async function main() {
  const names = process.argv.length > 2 ? process.argv.slice(2) : ['qwen3', 'llama3_1', 'gptoss', 'deepseek_v3'];
  const chunks = chunks4k(text);
  for (const name of names) {
    const tok = Tokenizer.fromFile(path.join(cache, 'tokenizers', name, 'tokenizer.json'));
    for (const mode of ['chunks4k', 'whole5MB']) {
      let best = 0, bestCPU = 0;
      for (let run = 0; run < 4; run++) {
        const t0 = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        let tokens = 0;
        if (mode === 'whole5MB') {
          tokens = (await tok.encode(text, null, { addSpecialTokens: false })).getIds().length;
        } else {
          for (const c of chunks) tokens += (await tok.encode(c, null, { addSpecialTokens: false })).getIds().length;
        }
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const cu = process.cpuUsage(c0);
        const cpuSecs = (cu.user + cu.system) / 1e6;
        if (run > 0) {
          best = Math.max(best, tokens / secs);
          bestCPU = Math.max(bestCPU, tokens / cpuSecs);
        }
      }
      // tokens/cpu-s divides by the CPU time of the whole process (all
      // threads): on a shared machine wall time also counts other processes.
      console.log(`${name}/${mode}: ${Math.round(best)} tokens/s, ${Math.round(bestCPU)} tokens/cpu-s (Rust tokenizers, 1 thread)`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
