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
# PostgreSQL, the event store users would pick instead (issue 19): a throwaway cluster for this run,
# at default durability, as Debian's unprivileged `postgres` user, reached through a Unix socket only
# (no TCP), stopped and removed at the end. LEDGER_BENCH_POSTGRES=0 leaves it out.
if [ "${LEDGER_BENCH_POSTGRES:-1}" != 0 ]; then
    pgbin=/usr/lib/postgresql/15/bin
    if [ ! -x "$pgbin/initdb" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    fi
    pgdir="$(mktemp -d /tmp/ledger-bench-postgres.XXXXXX)"
    chown postgres: "$pgdir"
    stop_postgres() {
        [ -d "$pgdir/data" ] || return 0
        if ! runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
            runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
                { [ -f "$pgdir/data/postmaster.pid" ] && kill -9 "$(head -1 "$pgdir/data/postmaster.pid")" 2>/dev/null; sleep 1; }
        fi
        rm -rf "$pgdir"
    }
    trap 'stop_postgres; rm -f "$summary"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -U bench -A trust -E UTF8 --no-sync >/dev/null
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$pgdir' -c max_connections=100" start >/dev/null
    export LEDGER_BENCH_POSTGRES_SOCKET="$pgdir/.s.PGSQL.5432"
fi
(cd Benchmarks && swift package benchmark --no-progress "$@")
# PostgreSQL is done: stopped now, so that its checkpoints and autovacuum stay out of what follows.
if [ "${LEDGER_BENCH_POSTGRES:-1}" != 0 ]; then stop_postgres; fi
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
