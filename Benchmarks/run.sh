#!/usr/bin/env bash
# Runs the whole benchmark suite in one run and prints the side-by-side table (Markdown).
#
#   bash Benchmarks/run.sh                      # full size: 1 M bulk events, herault-2022 at scale 1
#   LEDGER_BENCH_EVENTS=100000 LEDGER_BENCH_SCALE=0.05 LEDGER_BENCH_ITERATIONS=1 bash Benchmarks/run.sh
#
# Extra arguments go to `swift package benchmark` (for example `--filter "3 rebuild.*"`). The
# herault-2022 history is written once into $LEDGER_BENCH_DIR (default: the system's temporary
# directory) and kept for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! dpkg -s libsqlite3-dev >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null
fi
summary="$(mktemp)"
export LEDGER_BENCH_SUMMARY="$summary"
(cd Benchmarks && swift package benchmark --no-progress "$@")
# Workload 9: ledgerd over HTTP on loopback, in the same run (LEDGER_BENCH_HTTP=0 skips it).
# LEDGERD names another build of it (CI's smoke run uses the debug build).
if [ "${LEDGER_BENCH_HTTP:-1}" != 0 ]; then
    if [ -z "${LEDGERD:-}" ]; then
        swift build -c release --product ledgerd
        swift build -c release --product ledgerctl
        export LEDGERD=.build/release/ledgerd
    fi
    # The load client that presents a client certificate (mutual TLS): LEDGER_BENCH_TLS=0 skips it.
    if [ "${LEDGER_BENCH_TLS:-1}" != 0 ]; then
        (cd Benchmarks && swift build -c release --product http-load)
    fi
    python3 Benchmarks/http/bench_http.py
fi
echo
echo "Side by side (median of the runs; ledger ÷ this > 1: the ledger is better):"
echo
python3 Benchmarks/summary.py "$summary"
rm -f "$summary"
