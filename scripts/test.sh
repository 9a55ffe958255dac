#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds, runs the Swift test suite, then
# ledgerd's tests with real clients (Tests/http: curl and Python httpx against a server on loopback)
# and schemathesis against docs/openapi.yaml (scripts/schemathesis.sh). Every server a test starts
# listens on 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
pip_install() {
    python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
pip_install -r Tests/http/requirements.txt
# A real browser for the dashboard's test (Tests/http/test_dashboard.py): Debian's chromium, and NSS's
# tools to give it a client certificate; and PostgreSQL.
browser=()
command -v chromium >/dev/null 2>&1 || browser+=(chromium)
command -v certutil >/dev/null 2>&1 || browser+=(libnss3-tools)
# PostgreSQL for the replication tests (Tests/replication: a throwaway cluster on 127.0.0.1).
installs_postgres=0
[ -x /usr/lib/postgresql/15/bin/initdb ] || { browser+=(postgresql-15); installs_postgres=1; }
if [ ${#browser[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${browser[@]}" >/dev/null
    # Debian's package may start a default cluster: the tests start their own, so it is stopped.
    if [ "$installs_postgres" = 1 ]; then $sudo_cmd pg_ctlcluster 15 main stop 2>/dev/null || true; fi
fi
LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl python3 -m pytest -q -p no:cacheprovider Tests/http
LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl bash scripts/schemathesis.sh
# ledgerctl replicate and restore, and ledgerd --replicate-to, against a real PostgreSQL 15 (docs/operations.md).
LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl python3 -m pytest -q -p no:cacheprovider Tests/replication
