"""ledgerd over mutual TLS (issue 18): every role against every endpoint, and the certificates an
adversary would try (none, expired, from another CA, revoked while the server runs, a platform
forging another platform's events), through real clients (httpx with client certificates, curl, and
Python's ssl module for the protocol versions).

The credentials are made by `ledgerctl credentials` (a CA, the server's certificate, one client
certificate per principal) in the module's directory.
"""

from __future__ import annotations

import json
import ssl
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import ledgerctl, launch, simulate

PLATFORM = "cpam-34"
OTHER = "cpam-11"


def issue(credentials: Path, role: str, name: str, *extra: str) -> tuple[str, str, str]:
    """Issues a client certificate; returns (certificate path, key path, serial)."""
    out = ledgerctl("credentials", "issue", "--dir", str(credentials), "--role", role, "--name", name, *extra)
    fields = dict(
        line.split(":", 1) for line in out.stdout.decode().splitlines() if ":" in line
    )
    return fields["certificate"].strip(), fields["key"].strip(), fields["serial"].strip()


@pytest.fixture(scope="module")
def credentials(module_dir) -> Path:
    directory = module_dir / "credentials"
    ledgerctl("credentials", "init", "--dir", str(directory))
    return directory


@pytest.fixture(scope="module")
def certs(credentials) -> dict[str, tuple[str, str, str]]:
    return {
        "platform": issue(credentials, "platform", PLATFORM),
        "other-platform": issue(credentials, "platform", OTHER),
        "statistician": issue(credentials, "statistician", "Hélène Statisticienne"),
        "administrator": issue(credentials, "administrator", "admin-34"),
    }


@pytest.fixture(scope="module")
def tls_server(ledger, module_dir, credentials):
    srv = launch(ledger, module_dir / "tls", "--credentials", str(credentials), "--log-level", "notice")
    try:
        yield srv
    finally:
        srv.stop()


def tls_context(credentials: Path, cert: tuple[str, str, str] | None) -> ssl.SSLContext:
    """Trusts the deployment's CA; presents `cert` (certificate, key) when given."""
    context = ssl.create_default_context(cafile=str(credentials / "ca.pem"))
    if cert:
        context.load_cert_chain(cert[0], cert[1])
    return context


def client(server, credentials: Path, cert: tuple[str, str, str] | None) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=tls_context(credentials, cert), timeout=httpx.Timeout(30.0))


def event(platform: str, stream: str, kind: str = "CallPlaced", data: dict | None = None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "stream": stream,
        "type": kind,
        "platform": platform,
        "occurredAt": "2022-03-01T10:00:00Z",
        "data": data
        if data is not None
        else {"direction": "OUTBOUND", "line": "MOBILE", "outcome": "REACHED", "durationSeconds": 60, "agent": "a-17"},
    }


# Every endpoint, and what each role gets there (200: allowed; 401/403: refused).
ENDPOINTS = [
    ("GET", "/livez", None),
    ("GET", "/readyz", None),
    ("GET", "/openapi.yaml", None),
    ("GET", "/metrics", None),
    ("GET", f"/v1/events?limit=2&platform={PLATFORM}", None),
    ("GET", f"/v1/streams/{PLATFORM}%2Fp0%2F1/events?limit=2", None),
    ("GET", f"/v1/cases/{PLATFORM}%2Fp0%2F1", None),
    ("GET", f"/v1/stats?platform={PLATFORM}&by=month", None),
    ("GET", f"/v1/reports/closure?platform={PLATFORM}", None),
    ("POST", "/v1/events", "platform-call"),
    ("POST", "/v1/events", "admin-policy"),
    ("POST", "/v1/retention", "retention-noop"),
]

EXPECTED = {
    # role:            livez readyz openapi metrics events stream case stats report call policy retention
    None:             [200, 200, 200, 401, 401, 401, 401, 401, 401, 401, 401, 401],
    "platform":       [200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 403, 403],
    "other-platform": [200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    "statistician":   [200, 200, 200, 403, 403, 403, 403, 200, 200, 403, 403, 403],
    "administrator":  [200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 200, 200],
}


def body(kind: str | None) -> list[dict] | dict | None:
    if kind == "retention-noop":
        return {"asOf": "2000-01-01"}  # no period of this history has ended by then: nothing is erased
    if kind == "platform-call":
        return [event(PLATFORM, f"{PLATFORM}/p0/1")]
    if kind == "admin-policy":
        return [event(
                PLATFORM, f"platform/{PLATFORM}", "PolicyChanged",
                {"ruleVersion": "test", "effectiveOn": "2022-03-01", "note": "set by an administrator"},
            )]
    return None


@pytest.mark.parametrize("role", list(EXPECTED), ids=lambda r: r or "no-certificate")
def test_every_role_against_every_endpoint(tls_server, credentials, certs, role):
    cert = certs[role] if role else None
    with client(tls_server, credentials, cert) as c:
        for (method, path, kind), expected in zip(ENDPOINTS, EXPECTED[role]):
            reply = c.request(method, path, json=body(kind)) if method == "POST" else c.get(path)
            assert reply.status_code == expected, f"{role} {method} {path}: {reply.status_code} {reply.text[:300]}"
            if expected in (401, 403):
                assert reply.headers["content-type"] == "application/problem+json"
                problem = reply.json()
                name = "unauthenticated" if expected == 401 else "forbidden"
                assert problem["type"] == f"tag:tracing-ledger,2026:problem/{name}", problem
                assert problem["detail"], problem


def test_a_platform_forging_another_platforms_events_is_refused_and_nothing_is_written(
    tls_server, credentials, certs
):
    with client(tls_server, credentials, certs["platform"]) as c:
        head = c.get("/v1/events?limit=1").json()["head"]
        forged = [event(PLATFORM, f"{PLATFORM}/p0/1"), event(OTHER, f"{OTHER}/p0/1")]
        reply = c.post("/v1/events", json=forged)
        assert reply.status_code == 403, reply.text
        problem = reply.json()
        assert problem["index"] == 1 and problem["field"] == "platform", problem
        assert OTHER in problem["detail"], problem
        # Its own platform name on another platform's stream is refused too.
        reply = c.post("/v1/events", json=[event(PLATFORM, f"{OTHER}/p0/1")])
        assert reply.status_code == 403 and reply.json()["field"] == "stream", reply.text
        assert c.get("/v1/events?limit=1").json()["head"] == head
        # Reading another platform's events is refused, not silently filtered.
        assert c.get(f"/v1/events?platform={OTHER}").status_code == 403
        assert c.get(f"/v1/stats?platform={OTHER}").status_code == 403
    assert "refused" in tls_server.stderr() and PLATFORM in tls_server.stderr()


def test_a_case_handed_over_by_an_administrator_changes_hands(tls_server, credentials, certs):
    case = f"{PLATFORM}/p0/2"
    path = case.replace("/", "%2F")
    with client(tls_server, credentials, certs["administrator"]) as admin:
        # An administrator may not write a platform's daily work.
        assert admin.post("/v1/events", json=[event(PLATFORM, case)]).status_code == 403
        handover = event(PLATFORM, case, "CaseHandedOver", {"toPlatform": OTHER})
        assert admin.post("/v1/events", json=[handover]).status_code == 200
    with client(tls_server, credentials, certs["other-platform"]) as other:
        assert other.get(f"/v1/cases/{path}").status_code == 200
        reply = other.post("/v1/events", json=[event(OTHER, case)])
        assert reply.status_code == 200, reply.text
        # The receiving platform still may not hand cases over itself.
        back = event(OTHER, case, "CaseHandedOver", {"toPlatform": PLATFORM})
        assert other.post("/v1/events", json=[back]).status_code == 403
    with client(tls_server, credentials, certs["platform"]) as former:
        assert former.get(f"/v1/cases/{path}").status_code == 403
        reply = former.post("/v1/events", json=[event(PLATFORM, case)])
        assert reply.status_code == 403 and reply.json()["field"] == "stream", reply.text


def test_a_revoked_certificate_is_refused_without_a_restart(tls_server, credentials):
    cert = issue(credentials, "statistician", "to-revoke")
    with client(tls_server, credentials, cert) as c:
        assert c.get(f"/v1/stats?platform={PLATFORM}").status_code == 200
    ledgerctl("credentials", "revoke", "--dir", str(credentials), "--cert", cert[0], "--reason", "lost laptop")
    deadline = time.monotonic() + 5
    while True:
        with client(tls_server, credentials, cert) as c:
            reply = c.get(f"/v1/stats?platform={PLATFORM}")
        if reply.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert reply.status_code == 401, reply.text
    assert "revoked" in reply.json()["detail"]
    assert tls_server.proc.poll() is None


def test_an_expired_certificate_and_one_from_another_ca_end_the_handshake(tls_server, credentials, module_dir):
    expired = issue(credentials, "platform", "expired-34", "--valid-from", "2020-01-01", "--valid-until", "2020-02-01")
    other_ca = module_dir / "other-ca"
    ledgerctl("credentials", "init", "--dir", str(other_ca))
    foreign = issue(other_ca, "administrator", "intruder")
    for cert in (expired, foreign):
        with client(tls_server, credentials, cert) as c:
            with pytest.raises(httpx.TransportError):
                c.get(f"/v1/stats?platform={PLATFORM}")
    assert tls_server.proc.poll() is None


def test_tls_1_1_is_refused_and_1_2_and_1_3_are_served(tls_server, credentials):
    def handshake(version: ssl.TLSVersion) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(str(credentials / "ca.pem"))
        context.minimum_version = version
        context.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with socket.create_connection(("localhost", tls_server.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version() or ""

    assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        handshake(ssl.TLSVersion.TLSv1_1)


def test_curl_with_a_client_certificate(tls_server, credentials, certs):
    cert, key, _ = certs["statistician"]
    run = subprocess.run(
        [
            "curl", "-sS", "--cacert", str(credentials / "ca.pem"), "--cert", cert, "--key", key,
            "-H", "Accept: text/csv", f"{tls_server.url}/v1/stats?platform={PLATFORM}&by=month",
        ],
        capture_output=True, timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().startswith("platform,"), run.stdout[:200]
    refused = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(credentials / "ca.pem"),
         f"{tls_server.url}/v1/stats"],
        capture_output=True, timeout=30,
    )
    assert refused.stdout.decode() == "401", refused


def test_keys_are_private_and_principal_names_keep_their_accents(credentials, certs):
    for name in ("ca.key", "server.key"):
        assert (credentials / name).stat().st_mode & 0o777 == 0o600, name
    cert, key, _ = certs["statistician"]
    assert Path(key).stat().st_mode & 0o777 == 0o600
    shown = ledgerctl("credentials", "show", cert).stdout.decode()
    assert "Hélène Statisticienne" in shown and "statistician" in shown
    # The same name in decomposed form names the same principal (NFC).
    decomposed = "He\u0301le\u0300ne"
    cert2, _, _ = issue(credentials, "statistician", decomposed)
    assert "Hélène" in ledgerctl("credentials", "show", cert2).stdout.decode()


def test_ledgerd_refuses_to_start_without_credentials_or_with_plain_http_off_loopback(ledger):
    from conftest import LEDGERD

    plain = subprocess.run([LEDGERD, "--ledger", str(ledger)], capture_output=True, timeout=30)
    assert plain.returncode == 64 and b"--credentials" in plain.stderr, plain.stderr
    off = subprocess.run(
        [LEDGERD, "--ledger", str(ledger), "--insecure-loopback", "--host", "0.0.0.0"], capture_output=True,
        timeout=30,
    )
    assert off.returncode == 64 and b"loopback" in off.stderr, off.stderr


def test_an_identity_is_revealed_to_its_platform_only_after_the_consultation_is_recorded(
    tls_server, credentials, certs
):
    case = f"{PLATFORM}/p0/3"
    path = case.replace("/", "%2F")
    consult = {"reason": "rappel du patient injoignable", "agent": "a-17"}
    for role in ("statistician", "administrator", "other-platform"):
        with client(tls_server, credentials, certs[role]) as c:
            assert c.post(f"/v1/cases/{path}/identity", json=consult).status_code == 403, role
    with client(tls_server, credentials, certs["platform"]) as c:
        before = c.get(f"/v1/streams/{path}/events?limit=1000").json()["events"]
        bad = c.post(f"/v1/cases/{path}/identity", json={"reason": " ", "agent": "a-17"})
        assert bad.status_code == 422 and bad.json()["field"] == "reason", bad.text
        json_type = {"Content-Type": "application/json"}
        assert c.post(f"/v1/cases/{path}/identity", content=b"not json", headers=json_type).status_code == 400
        assert c.post(f"/v1/cases/{path}/identity", content=json.dumps(consult)).status_code == 415
        reply = c.post(f"/v1/cases/{path}/identity", json=consult)
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        assert answer["case"] == case and answer["platform"] == PLATFORM
        assert set(answer["identity"]) >= {"nir", "lastName", "firstName", "birthDate"}, answer
        after = c.get(f"/v1/streams/{path}/events?limit=1000").json()["events"]
        # Exactly one event was added, the consultation, naming the agent, the principal and the reason.
        assert len(after) == len(before) + 1
        audit = after[-1]
        assert audit["type"] == "IdentityConsulted", audit
        assert audit["data"]["reason"] == consult["reason"]
        assert "a-17" in audit["data"]["actor"] and f"platform {PLATFORM}" in audit["data"]["actor"]
        assert certs["platform"][2] in audit["data"]["actor"]
        assert c.post(f"/v1/cases/{PLATFORM}%2Fp0%2F999999/identity", json=consult).status_code in (403, 404)


def test_reads_of_case_data_are_traced_apart_from_the_log_refusals_included(tls_server, credentials, certs, ledger):
    marker = f"{PLATFORM}/p0/4"
    path = marker.replace("/", "%2F")
    with client(tls_server, credentials, certs["platform"]) as c:
        assert c.get(f"/v1/cases/{path}").status_code == 200
    with client(tls_server, credentials, certs["other-platform"]) as c:
        assert c.get(f"/v1/cases/{path}").status_code == 403
    with client(tls_server, credentials, certs["statistician"]) as c:
        assert c.get(f"/v1/stats?platform={PLATFORM}").status_code == 200
    out = ledgerctl("audit", "show", "--ledger", str(ledger), "--target", marker, "--format", "json").stdout.decode()
    records = [json.loads(line) for line in out.splitlines()]
    seen = {(r["principal"], r["role"], r["method"], r["status"]) for r in records}
    assert (PLATFORM, "platform", "GET", 200) in seen, records
    assert (OTHER, "platform", "GET", 403) in seen, records
    for r in records:
        assert r["at"].endswith("Z") and r["serial"] and r["address"], r
    # Aggregates are not case data: the statistician's reads of statistics are not traced (its refused
    # attempts at case data, in the table above, are).
    lines = ledgerctl("audit", "show", "--ledger", str(ledger), "--principal", "Hélène Statisticienne").stdout
    lines = lines.decode().splitlines()
    assert lines and all(" 403 " in line for line in lines), lines
    assert not any("/v1/stats" in line for line in lines), lines
    # The access log is kept apart from the ledger, one hash-chained log per month, and verifies.
    months = sorted(p.name for p in (ledger.parent / "d.ledger.audit").iterdir())
    assert months and all(len(m) == 7 for m in months), months
    ledgerctl("verify", "--ledger", str(ledger.parent / "d.ledger.audit" / months[-1]))
    assert ledgerctl("audit", "prune", "--ledger", str(ledger), "--keep-months", "0", "--as-of", "2000-01-01").stdout.startswith(
        b"access log: 0 months removed"
    )


def test_paths_with_extra_slashes_get_the_same_checks(tls_server, credentials, certs):
    """The router ignores empty path segments: the access table must too (found by a review)."""
    for path in ("/v1/events/", "//v1/events", "/v1//events?limit=1", f"/v1/cases//{PLATFORM}%2Fp0%2F1"):
        with client(tls_server, credentials, None) as anonymous:
            assert anonymous.get(path).status_code == 401, path
            assert anonymous.post(path, json=[event(PLATFORM, f"{PLATFORM}/p0/1")]).status_code == 401, path
    with client(tls_server, credentials, certs["statistician"]) as statistician:
        consult = {"reason": "x", "agent": "a"}
        assert statistician.post(f"//v1/cases/{PLATFORM}%2Fp0%2F1/identity", json=consult).status_code == 403
        assert statistician.get("/v1/events/").status_code == 403
    with client(tls_server, credentials, certs["platform"]) as platform:
        reply = platform.post("/v1/events/", json=[event(OTHER, f"{OTHER}/p0/1")])
        assert reply.status_code == 403 and reply.json()["field"] == "platform", reply.text
        # A path the API does not have is refused to a principal, whatever the router would do.
        assert platform.get("/v1/nothing-here").status_code in (403, 404)


def test_only_the_service_appends_identity_consultations(tls_server, credentials, certs):
    forged = event(PLATFORM, f"{PLATFORM}/p0/1", "IdentityConsulted",
                   {"person": "0" * 32, "actor": "someone else", "reason": "forged"})
    with client(tls_server, credentials, certs["platform"]) as platform:
        reply = platform.post("/v1/events", json=[forged])
        assert reply.status_code == 403 and reply.json()["field"] == "type", reply.text


def test_reserved_names_cannot_name_a_platform(credentials):
    for name in ("all", "platform", "PLATFORM"):
        refused = ledgerctl("credentials", "issue", "--dir", str(credentials), "--role", "platform", "--name", name,
                            check=False)
        assert refused.returncode == 65 and b"reserved" in refused.stderr, refused.stderr


def test_a_subscription_ends_when_its_certificate_is_revoked(tls_server, credentials):
    cert = issue(credentials, "platform", "cpam-99")
    with client(tls_server, credentials, cert) as c:
        with c.stream("GET", "/v1/subscribe?from=1", timeout=httpx.Timeout(30.0)) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            for line in lines:
                if line.startswith("event: caught-up"):
                    break
            ledgerctl("credentials", "revoke", "--dir", str(credentials), "--cert", cert[0])
            deadline = time.monotonic() + 15
            closed = False
            for line in lines:
                if line.startswith("data:") and "revoked" in line:
                    closed = True
                    break
                assert time.monotonic() < deadline, "the subscription did not end within 15 s of the revocation"
            assert closed


def test_an_administrator_applies_retention_over_http_and_erased_identities_stay_erased(
    module_dir, credentials, certs
):
    """POST /v1/retention does what `ledgerctl retention apply` does, for administrators only; a
    request it cannot apply as written (a misspelt period, a date to come) destroys nothing."""
    ledger = simulate(module_dir / "retention", scale="0.0005")
    server = launch(ledger, module_dir / "retention-tls", "--credentials", str(credentials))
    try:
        with client(server, credentials, certs["administrator"]) as admin:
            noop = admin.post("/v1/retention", json={"asOf": "2000-01-01"})
            assert noop.status_code == 200, noop.text
            keys = noop.json()["kept"]
            assert keys > 0 and noop.json()["erased"] == 0, noop.json()
            assert noop.json()["months"] == {"contactTracingMonths": 3, "labNegativeMonths": 3, "labPositiveMonths": 6}
            refused = [
                ({"asOf": "2099-01-01"}, "asOf"),
                ({"asOf": "2023-13-01"}, "asOf"),
                ({"asOf": "2026-01-01", "contactTracingMonth": 1}, "contactTracingMonth"),
                ({"asOf": "2026-01-01", "labPositiveMonths": True}, "labPositiveMonths"),
                ({"asOf": "2026-01-01", "labPositiveMonths": -1}, "labPositiveMonths"),
                ({"asOf": "2026-01-01", "labNegativeMonths": 2.5}, "labNegativeMonths"),
                ({"contactTracingMonths": 1}, "asOf"),
            ]
            for request, field in refused:
                reply = admin.post("/v1/retention", json=request)
                assert reply.status_code == 422, (request, reply.text)
                assert reply.headers["content-type"] == "application/problem+json"
                assert reply.json()["field"] == field and "no key was destroyed" in reply.json()["detail"], reply.text
            json_type = {"Content-Type": "application/json"}
            assert admin.post("/v1/retention", content=b"[1, 2]", headers=json_type).status_code == 400
            # What a page of another site could make an administrator's browser send: refused, nothing destroyed.
            everything = json.dumps({"asOf": "2026-01-01", "contactTracingMonths": 0, "labNegativeMonths": 0,
                                     "labPositiveMonths": 0, "accessLogMonths": 0})
            form = admin.post("/v1/retention", content=everything, headers={"Content-Type": "text/plain"})
            assert form.status_code == 415, form.text
            cross = admin.post("/v1/retention", content=everything,
                               headers={**json_type, "Sec-Fetch-Site": "cross-site"})
            assert cross.status_code == 403 and "another site" in cross.json()["detail"], cross.text
            assert admin.post("/v1/retention", json={"asOf": "2000-01-01"}).json()["kept"] == keys
            # Every period of a 2020-2022 history has ended by 2024: every key goes, once.
            this_month = time.strftime("%Y-%m", time.gmtime())
            applied = admin.post("/v1/retention", json={"asOf": time.strftime("%Y-%m-%d", time.gmtime()),
                                                          "accessLogMonths": 0})
            assert applied.status_code == 200, applied.text
            assert applied.json()["erased"] == keys and applied.json()["kept"] == 0, applied.json()
            assert applied.json()["accessLog"] == {"keptMonths": 0, "removedBefore": this_month, "removed": []}
            again = admin.post("/v1/retention", json={"asOf": "2024-01-01"})
            assert again.json()["erased"] == 0 and again.json()["kept"] == 0, again.json()
        for role in ("platform", "statistician"):
            with client(server, credentials, certs[role]) as c:
                reply = c.post("/v1/retention", json={"asOf": "2024-01-01"})
                assert reply.status_code == 403 and reply.json()["type"].endswith("/forbidden"), (role, reply.text)
        with client(server, credentials, certs["platform"]) as platform:
            case = f"{PLATFORM}%2Fp0%2F1"
            revealed = platform.post(f"/v1/cases/{case}/identity", json={"reason": "rappel", "agent": "a-17"})
            assert revealed.status_code == 200 and revealed.json()["identity"] == "erased", revealed.text
    finally:
        server.stop()
    # The administrator's acts are in the access log, refusals included.
    out = ledgerctl("audit", "show", "--ledger", str(ledger), "--target", "/v1/retention", "--format", "json")
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    statuses = sorted({(r["role"], r["status"]) for r in records})
    assert ("administrator", 200) in statuses and ("administrator", 422) in statuses, statuses
    # Before any key is destroyed, what is about to be applied is recorded (status 0), then the answer.
    applied_at = [i for i, r in enumerate(records) if r["status"] == 0 and "accessLogMonths=0" in r["target"]]
    assert applied_at and records[applied_at[0] + 1]["status"] == 200, records
    assert "contactTracingMonths=3&labNegativeMonths=3&labPositiveMonths=6" in records[applied_at[0]]["target"]
    assert not any(r["status"] == 0 and "contactTracingMonths=0" in r["target"] for r in records), records
    assert ("platform", 403) in statuses and ("statistician", 403) in statuses, statuses
