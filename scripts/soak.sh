#!/usr/bin/env bash
# The long reliability run: SIGKILL rounds in each append mode (single events, batches, the
# group-commit path), the 8 x 4 process concurrency test, full disk, stale readers, map growth, and
# the decoders' fuzzing with many more inputs. Figures go to docs/reliability.md.
#
#   bash scripts/soak.sh [ROUNDS_PER_MODE (default 70, so 210 kills)] [FUZZ_INPUTS (default 50000)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-70}
inputs=${2:-50000}
bash scripts/setup.sh
swift build --build-tests
LEDGER_SOAK_ROUNDS=$rounds LEDGER_FUZZ_INPUTS=$inputs \
    swift test --filter "CrashSoakTests|ResourceTests|FuzzTests" 2>&1 | tee soak.log |
    grep -E "crash soak|concurrency:|full disk|fuzz:|Test run|✘" || true
echo "kills: $(grep -c 'crash soak' soak.log)"
echo "acknowledged appends checked: $(grep 'crash soak' soak.log | awk '{s += $6} END {print s}')"
grep -q "✘" soak.log && { echo "soak: FAILED (see soak.log)"; exit 1; }
echo "soak: passed (full output in soak.log)"
