#!/usr/bin/env bash
# The whole test suite: installs the fixtures tests need (idempotent), then
# runs every Go test, and the concurrent packages again under -race.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-setup.sh
# The fixtures are installed now: a test that finds one missing fails
# instead of skipping (tokenizer/tokenizertest).
export TKX_REQUIRE_TEST_FIXTURES=1
go test -count=1 ./...
# Packages whose code runs on many goroutines.
race_pkgs=$(go list ./host/... ./tinker/... ./backend ./rl/... 2>/dev/null || true)
if [ -n "$race_pkgs" ]; then
  go test -count=1 -race $race_pkgs
fi
