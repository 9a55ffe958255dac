"""The dashboard in a real browser (issue 18): headless Chromium from Debian's packages loads `/` over
mutual TLS with a statistician's certificate, and the test checks the figures in the DOM against
`ledgerctl stats` and `ledgerctl report closure`, watches the live counter move when an event is
appended, and keeps a screenshot (artifacts/dashboard.png at the repository root).

Chromium is driven through its DevTools protocol (PyPI `websocket-client`). The statistician's
certificate goes into an NSS database in a temporary HOME, the CA is trusted there, and a managed
policy (`AutoSelectCertificateForUrls`, in /etc/chromium/policies/managed, removed afterwards) makes
Chromium present the certificate without asking. Needs root for that policy, as the tests run here.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websocket

from conftest import REPO, launch, ledgerctl
from test_security import PLATFORM, client, event, issue

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POLICY_DIR = Path("/etc/chromium/policies/managed")
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="module")
def dashboard_setup(module_dir, ledger):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs Debian's chromium and libnss3-tools)")
    credentials = module_dir / "credentials"
    ledgerctl("credentials", "init", "--dir", str(credentials))
    statistician = issue(credentials, "statistician", "Hélène Statisticienne")
    platform = issue(credentials, "platform", PLATFORM)
    server = launch(ledger, module_dir / "dashboard", "--credentials", str(credentials))
    home = module_dir / "browser-home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-d", db, "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-d", db, "-A", "-n", "tracing-ledger CA", "-t", "C,,", "-i", str(credentials / "ca.pem")],
        check=True, capture_output=True,
    )
    p12 = module_dir / "statistician.p12"
    subprocess.run(
        ["openssl", "pkcs12", "-export", "-inkey", statistician[1], "-in", statistician[0], "-out", str(p12),
         "-passout", "pass:"],
        check=True, capture_output=True,
    )
    subprocess.run(["pk12util", "-d", db, "-i", str(p12), "-W", ""], check=True, capture_output=True)
    POLICY_DIR.mkdir(parents=True, exist_ok=True)
    policy = POLICY_DIR / f"tracing-ledger-test-{uuid.uuid4().hex}.json"
    pattern = json.dumps({"pattern": f"https://localhost:{server.port}", "filter": {}})
    policy.write_text(json.dumps({"AutoSelectCertificateForUrls": [pattern]}))
    profile = module_dir / "browser-profile"
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,1800", "about:blank"],
        env={**os.environ, "HOME": str(home)}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(module_dir / "chromium.stderr", "wb"),
    )
    try:
        deadline = time.monotonic() + 60
        port_file = profile / "DevToolsActivePort"
        while not port_file.exists():
            assert browser.poll() is None, (module_dir / "chromium.stderr").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "chromium did not start its DevTools endpoint within 60 s"
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        cdp = CDP(page["webSocketDebuggerUrl"])
        yield {"server": server, "credentials": credentials, "platform": platform, "cdp": cdp, "ledger": ledger}
        cdp.close()
    finally:
        policy.unlink(missing_ok=True)
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        server.stop()


class CDP:
    """A minimal Chrome DevTools protocol client: one command at a time."""

    def __init__(self, url: str):
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def close(self):
        self.socket.close()


def test_the_dashboard_shows_ledgerctls_figures_live_in_a_real_browser(dashboard_setup):
    cdp, server, ledger = dashboard_setup["cdp"], dashboard_setup["server"], dashboard_setup["ledger"]
    cdp.call("Page.enable")
    cdp.call("Page.navigate", url=f"{server.url}/?platform={PLATFORM}")
    deadline = time.monotonic() + 30
    while cdp.evaluate("document.readyState + '|' + (document.getElementById('months') !== null)") != "complete|true":
        assert time.monotonic() < deadline, cdp.evaluate("document.documentElement.outerHTML.slice(0, 2000)")
        time.sleep(0.2)

    # The monthly indicators are ledgerctl's, row by row and column by column.
    shown = cdp.evaluate(
        "Array.from(document.querySelectorAll('#months tbody tr')).map(tr => "
        "[tr.querySelector('th').textContent].concat(Array.from(tr.querySelectorAll('td'))"
        ".map(td => td.dataset.field + '=' + td.textContent)))"
    )
    text = ledgerctl("stats", "--ledger", str(ledger), "--platform", PLATFORM, "--by", "month", "--format", "csv")
    expected = []
    for row in csv.DictReader(io.StringIO(text.stdout.decode())):
        fields = ["patientsZero", "contacts", "followed", "reachedRate", "p0ReachedWithin24hShare",
                  "contactsNotifiedWithin24hShare", "contactsPerP0Mean", "medianDelayHours"]
        expected.append([row["period"]] + [f"{f}={row[f]}" for f in fields])
    assert shown == expected

    # The headline is the closure report's.
    report = json.loads(
        ledgerctl("report", "closure", "--ledger", str(ledger), "--platform", PLATFORM, "--format", "json").stdout
    )
    headline = cdp.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#headline b'))"
        ".map(b => [b.dataset.field, Number(b.textContent)]))"
    )
    assert headline == {k: report[k] for k in ("followed", "patientsZero", "contacts")}

    # The weekly chart: one bar of each kind per week of the report.
    bars = cdp.evaluate("[document.querySelectorAll('#weekly rect.p0').length, "
                        "document.querySelectorAll('#weekly rect.contacts').length]")
    assert bars == [len(report["timeline"])] * 2

    # The live counter follows the head without a reload.
    before = int(cdp.evaluate("document.getElementById('live-head').textContent"))
    with client(server, dashboard_setup["credentials"], dashboard_setup["platform"]) as platform:
        reply = platform.post("/v1/events", json=[event(PLATFORM, f"{PLATFORM}/p0/1")])
        assert reply.status_code == 200, reply.text
        head = reply.json()["head"]
    assert head > before
    deadline = time.monotonic() + 15
    while int(cdp.evaluate("document.getElementById('live-head').textContent")) != head:
        assert time.monotonic() < deadline, "the live counter did not reach the new head within 15 s"
        time.sleep(0.2)

    shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard.png").write_bytes(base64.b64decode(shot["data"]))
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
