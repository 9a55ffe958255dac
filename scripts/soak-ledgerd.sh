#!/usr/bin/env bash
# The long kill -9 run of ledgerd (issue 17, docs/reliability.md "ledgerd: kill -9 under 16 HTTP
# clients"): the suite's test_kill_9_under_16_retrying_clients_... (Tests/http/test_reliability.py)
# with many rounds. Each round: a fresh ledger, ledgerd on it, 16 client threads appending batches of
# 1-20 events (own streams with exact expected versions, 4 shared streams with "any") and resending
# the same batch after any connection error or 5xx; SIGKILL after a random 1-3 s; ledgerd restarted
# on the same ledger (new port); the clients resend and go on; then every acknowledged id must be in
# `ledgerctl read` exactly once at its acknowledged position, the event count must equal the head,
# and `ledgerctl verify` must exit 0.
#
#   bash scripts/soak-ledgerd.sh [ROUNDS (default 50)]
#   LEDGERD_KILL_SEED=123 bash scripts/soak-ledgerd.sh 10     # repeat a run (the seed is printed)
#
# Nothing is built here: it uses $LEDGERD and $LEDGERCTL, else .build/debug/ledgerd and
# .build/debug/ledgerctl (build them first: swift build --product ledgerd --product ledgerctl).
# Needs python3 with pytest and httpx (Tests/http/requirements.txt). The full output goes to
# $SOAK_LOG (default .build/soak-ledgerd.log); exit 0 when every round passed, else 1.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-${LEDGERD_KILL_ROUNDS:-50}}
export LEDGERD=${LEDGERD:-.build/debug/ledgerd} LEDGERCTL=${LEDGERCTL:-.build/debug/ledgerctl}
for binary in "$LEDGERD" "$LEDGERCTL"; do
    [[ -x $binary ]] || { echo "soak-ledgerd: $binary is not built" >&2; exit 64; }
done
python3 -c 'import httpx, pytest' 2>/dev/null ||
    { echo "soak-ledgerd: python3 -m pip install -r Tests/http/requirements.txt first" >&2; exit 64; }
log=${SOAK_LOG:-.build/soak-ledgerd.log}
mkdir -p "$(dirname "$log")"
started=$(date +%s)
status=0
LEDGERD_KILL_ROUNDS=$rounds python3 -m pytest -q -s -p no:cacheprovider Tests/http/test_reliability.py \
    -k test_kill_9_under_16_retrying_clients 2>&1 | tee "$log" |
    grep -E "^kill round|^kill -9 summary|^E |passed|failed" || true
grep -qE "^1 passed" "$log" || status=1
echo "soak-ledgerd: $rounds rounds in $(( $(date +%s) - started )) s: $([[ $status == 0 ]] && echo passed || echo FAILED) (full output in $log)"
exit $status
