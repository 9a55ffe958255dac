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
LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl python3 -m pytest -q -p no:cacheprovider Tests/http
LEDGERD=.build/debug/ledgerd LEDGERCTL=.build/debug/ledgerctl bash scripts/schemathesis.sh
