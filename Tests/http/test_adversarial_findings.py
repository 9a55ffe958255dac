"""Regression tests for what an adversarial review of ledgerd found (each named for the behaviour)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

from conftest import LEDGERCTL, ledgerctl, simulate


def test_a_read_model_reset_by_another_process_is_caught_up_again_without_new_events(tmp_path, start_server):
    ledger = simulate(tmp_path / "reset", scale="0.003")
    srv = start_server(ledger)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        head = c.get("/v1/events?limit=1").json()["head"]
        # A from-scratch replay killed early leaves the stored read model far behind the head.
        replay = subprocess.Popen(
            [LEDGERCTL, "replay", "--ledger", str(ledger), "--from-scratch", "--chunk-size", "200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        replay.kill()
        replay.wait()
        # No event is appended: the service must notice the reset itself and catch up.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = c.get("/readyz")
            if ready.status_code == 200 and f"read model at {head}" in ready.text:
                break
            time.sleep(0.2)
        assert f"read model at {head}" in c.get("/readyz").text, c.get("/readyz").text
        assert c.get("/v1/stats", params={"by": "month"}).status_code == 200


def test_a_body_shorter_than_its_content_length_is_400_and_writes_nothing(base_url, client):
    head = client.get("/v1/events?limit=1").json()["head"]
    port = int(base_url.rsplit(":", 1)[1])
    body = b'{"id":"6b0f0d7e-8a53-4f1e-9a51-3d0c1d2f7777","stream":"cpam-34/p0/1"}'
    request = (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
        + b"Content-Length: %d\r\n\r\n" % (len(body) + 10) + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"malformed-body" in reply
    assert client.get("/v1/events?limit=1").json()["head"] == head


def test_a_platform_stream_is_not_a_case(client):
    reply = client.get("/v1/cases/platform/cpam-34")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"


def test_an_unknown_platform_beside_all_is_404(client):
    reply = client.get("/v1/stats", params=[("platform", "all"), ("platform", "nope")])
    assert reply.status_code == 404


def test_an_empty_id_under_a_prefix_is_404_not_405(client):
    for path in ("/v1/cases/", "/v1/streams/"):
        assert client.get(path).status_code == 404, path


def test_a_host_name_that_only_starts_like_loopback_is_refused_with_64(tmp_path):
    from conftest import LEDGERD

    run = subprocess.run(
        [LEDGERD, "--ledger", str(tmp_path / "x.ledger"), "--host", "127.0.0.1.example.com"],
        capture_output=True, text=True, timeout=30)
    assert run.returncode == 64, run.stderr
    assert "loopback" in run.stderr
