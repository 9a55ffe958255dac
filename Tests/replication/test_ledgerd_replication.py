"""ledgerd --replicate-to: asynchronous shipping while clients append (docs/operations.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from conftest import REPO
from test_replication import call_event, copy_ledger, info
from test_replication import replica_count as count_in_replica

LEDGERD = os.environ.get("LEDGERD", str(REPO / ".build" / "debug" / "ledgerd"))


class Ledgerd:
    def __init__(self, ledger: Path, workdir: Path, *extra: str):
        self.port_file = workdir / f"port-{time.monotonic_ns()}"
        self.stderr_path = workdir / f"ledgerd-{time.monotonic_ns()}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [LEDGERD, "--ledger", str(ledger), "--host", "127.0.0.1", "--port", "0", "--port-file",
                 str(self.port_file), "--insecure-loopback", "--log-level", "warning", *extra],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        deadline = time.monotonic() + 60
        while not (self.port_file.exists() and self.port_file.read_text().strip()):
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, "ledgerd did not start"
            time.sleep(0.1)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{int(self.port_file.read_text())}", timeout=30)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def append(self, events: list[dict]) -> None:
        body = "".join(json.dumps(e) + "\n" for e in events)
        response = self.client.post("/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert response.status_code in (200, 201), response.text

    def metric(self, name: str) -> float:
        text = self.client.get("/metrics").text
        match = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
        return float(match.group(1)) if match else -1.0

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_ledgerd_ships_what_clients_append_and_catches_up_after_postgresql_restarts(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "l.ledger")
    url = cluster.url(database)
    server = Ledgerd(ledger, tmp_path, "--replicate-to", url, "--replication-interval", "0.1")
    try:
        def replica_count() -> int:
            return count_in_replica(cluster, database)

        head = info(ledger)["events"]
        wait_until(lambda: replica_count() == head, "the replica did not catch up with the ledger")
        for round in range(3):
            server.append([call_event(f"cpam-34/served-{round}-{i}") for i in range(20)])
            head += 20
        wait_until(lambda: replica_count() == head, "appends did not reach the replica")
        wait_until(lambda: server.metric("ledgerd_replication_lag_events") == 0, "lag not back to 0")

        # PostgreSQL goes away: appends are still acknowledged (asynchronous mode), errors counted.
        cluster.stop()
        try:
            server.append([call_event(f"cpam-34/outage-{i}") for i in range(10)])
            head += 10
            wait_until(lambda: server.metric("ledgerd_replication_errors_total") >= 1, "no replication error counted")
            wait_until(lambda: server.metric("ledgerd_replication_lag_seconds") > 0.5, "no lag in seconds while down")
            wait_until(lambda: server.metric("ledgerd_replication_lag_events") >= 10, "no lag in events while down")
        finally:
            cluster.start()
        wait_until(lambda: replica_count() == head, "the replica did not catch up after the restart", timeout=90)
        assert cluster.psql("SELECT count(DISTINCT position) FROM ledger_events", database) == str(head)
        wait_until(lambda: server.metric("ledgerd_replication_lag_seconds") == 0, "lag in seconds not back to 0")
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.stderr()


def test_ledgerd_stops_replicating_a_diverged_replica_and_keeps_serving(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "m.ledger")
    url = cluster.url(database)
    from conftest import ledgerctl
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    head = info(ledger)["events"]
    cluster.psql(f"UPDATE ledger_events SET hash = '\\x{'00' * 32}' WHERE position = {head}", database)
    server = Ledgerd(ledger, tmp_path, "--replicate-to", url, "--replication-interval", "0.1")
    try:
        wait_until(lambda: server.metric("ledgerd_replication_diverged") == 1, "divergence not reported")
        server.append([call_event("cpam-34/after-divergence")])
        assert cluster.psql(f"SELECT encode(hash, 'hex') FROM ledger_events WHERE position = {head}", database) == "00" * 32
        assert cluster.psql("SELECT count(*) FROM ledger_events", database) == str(head)
        assert "disagrees with the ledger" in server.stderr()
    finally:
        server.stop()


def test_ledgerd_refuses_a_replica_url_it_cannot_use_with_64(tmp_path):
    result = subprocess.run([LEDGERD, "--ledger", str(tmp_path / "x.ledger"), "--insecure-loopback",
                             "--replicate-to", "mysql://u@h/db"], capture_output=True, timeout=60)
    assert result.returncode == 64, result.stderr
    assert b"scheme" in result.stderr
