#!/usr/bin/env bash
# Checks a live ledgerd against docs/openapi.yaml with schemathesis (PyPI), for CI.
#
#   LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl scripts/schemathesis.sh
#
# Makes a small simulated ledger in a temporary directory, starts ledgerd on a free port, waits for
# /readyz (60 s at most), runs schemathesis with a bounded number of examples (the checks: no 5xx,
# documented status codes, documented content types, responses valid against their schemas), stops
# the server and exits non-zero on any failure, including a server that died during the run.
#
# Environment: LEDGERD, LEDGERCTL (binaries), MAX_EXAMPLES (per operation, default 25),
# SSE_EXAMPLES (for /v1/subscribe, default 10), SEED (schemathesis --seed, default random).
set -euo pipefail
cd "$(dirname "$0")/.."

LEDGERD=${LEDGERD:-.build/debug/ledgerd}
LEDGERCTL=${LEDGERCTL:-.build/debug/ledgerctl}
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
SSE_EXAMPLES=${SSE_EXAMPLES:-10}
SPEC=$PWD/docs/openapi.yaml

for binary in "$LEDGERD" "$LEDGERCTL"; do
    [ -x "$binary" ] || { echo "schemathesis.sh: no executable $binary (set LEDGERD / LEDGERCTL)" >&2; exit 2; }
done
if ! command -v schemathesis >/dev/null 2>&1; then
    echo "schemathesis.sh: installing schemathesis (pip)" >&2
    python3 -m pip install --quiet --disable-pip-version-check schemathesis 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages schemathesis
    export PATH="$HOME/.local/bin:$PATH"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-schemathesis.XXXXXX")
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        # An open subscription delays a graceful stop (see the report); do not wait for it long.
        for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$LEDGERCTL" simulate --ledger "$work/d.ledger" --scale 0.003 >"$work/simulate.log" 2>&1 \
    || { cat "$work/simulate.log" >&2; exit 1; }
"$LEDGERD" --insecure-loopback --ledger "$work/d.ledger" --port 0 --port-file "$work/port" --log-level warning \
    >"$work/ledgerd.log" 2>&1 &
server=$!

url=""
for _ in $(seq 120); do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "schemathesis.sh: ledgerd exited before it was ready:" >&2
        cat "$work/ledgerd.log" >&2
        exit 1
    fi
    if [ -s "$work/port" ]; then
        candidate="http://127.0.0.1:$(tr -d '[:space:]' <"$work/port")"
        if curl -fsS --max-time 2 "$candidate/readyz" >/dev/null 2>&1; then url=$candidate; break; fi
    fi
    sleep 0.5
done
[ -n "$url" ] || { echo "schemathesis.sh: ledgerd not ready after 60 s" >&2; cat "$work/ledgerd.log" >&2; exit 1; }
echo "schemathesis.sh: ledgerd ready at $url" >&2

# NDJSON bodies are text (the schema says `type: string`): send them as they are.
cat >"$work/ledgerd_hooks.py" <<'PY'
import schemathesis
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
PY

common=(
    --url "$url" --workers 1 --no-color --generation-database none
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
)
[ -n "${SEED:-}" ] && common+=(--seed "$SEED")
# Run from the temporary directory: schemathesis leaves its files (.schemathesis/) in the current one.
run() {
    cd "$work" && SCHEMATHESIS_HOOKS=ledgerd_hooks PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}" \
        schemathesis run "$SPEC" "${common[@]}" "$@"
}

status=0
# Every operation but the streams (the subscription and the live head), which never end on their own.
timeout 150 bash -c "$(declare -f run); $(declare -p common SPEC work); run \"\$@\"" _ \
    --exclude-path /v1/subscribe --exclude-path /v1/live --max-examples "$MAX_EXAMPLES" --request-timeout 10 || status=1
# The subscription: each response is read until the request time-out, then its events are checked.
timeout 90 bash -c "$(declare -f run); $(declare -p common SPEC work); run \"\$@\"" _ \
    --include-path /v1/subscribe --phases examples,fuzzing --max-examples "$SSE_EXAMPLES" \
    --request-timeout 2 || status=1

if ! kill -0 "$server" 2>/dev/null; then
    echo "schemathesis.sh: ledgerd died during the run:" >&2
    tail -n 60 "$work/ledgerd.log" >&2
    status=1
elif grep -q "Fatal error\|Program crashed" "$work/ledgerd.log"; then
    tail -n 60 "$work/ledgerd.log" >&2
    status=1
fi
exit $status
