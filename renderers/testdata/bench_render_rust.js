#!/usr/bin/env node
// Rust tokenizers (npm tokenizers@0.23.2, one thread) encoding the same
// rendered supervised example as BenchmarkSupervisedExample, which writes
// testdata/.cache/render_bench_<renderer>.txt. Run from the repo root:
//
//   go test ./renderers -run XXX -bench SupervisedExample -cpu 1
//   RAYON_NUM_THREADS=1 node renderers/testdata/bench_render_rust.js
'use strict';
process.env.RAYON_NUM_THREADS = process.env.RAYON_NUM_THREADS || '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const fs = require('fs');
const path = require('path');
const cache = path.resolve(__dirname, '../../testdata/.cache');
const { Tokenizer } = require(path.join(cache, 'npm/node_modules/tokenizers'));
const pairs = [['qwen3', 'qwen3'], ['qwen3_instruct', 'qwen3'], ['llama3', 'llama3_1'], ['deepseekv3', 'deepseek_v3'], ['gpt_oss_no_sysprompt', 'gptoss']];

async function main() {
  for (const [renderer, tokName] of pairs) {
    const f = path.join(cache, `render_bench_${renderer}.txt`);
    if (!fs.existsSync(f)) continue;
    const text = fs.readFileSync(f, 'utf8');
    const tok = Tokenizer.fromFile(path.join(cache, 'tokenizers', tokName, 'tokenizer.json'));
    let best = 0, n = 0;
    for (let run = 0; run < 6; run++) {
      const t0 = process.hrtime.bigint();
      let tokens = 0, iters = 0;
      while (Number(process.hrtime.bigint() - t0) < 5e8) {
        tokens += (await tok.encode(text, null, { addSpecialTokens: false })).getIds().length;
        iters++;
      }
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      n = tokens / iters;
      if (run > 0) best = Math.max(best, tokens / secs);
    }
    console.log(`${renderer} (${tokName}): ${Math.round(best)} tokens/s, ${n} tokens/example (Rust tokenizers encode of the rendered text, 1 thread)`);
  }
}
main();
