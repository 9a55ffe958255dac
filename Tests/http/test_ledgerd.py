"""ledgerd through real clients (httpx, curl, a raw socket): issue 17.

Each test is named for the behaviour it protects. Events appended here belong to platform
`test-99` (streams `test-99/...`) so that the simulated platforms' figures stay those of the
simulation; statistics and reports are compared with ledgerctl on the same log anyway.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from conftest import init_empty, ledgerctl, ledgerctl_ndjson

PLATFORM = "test-99"
PROBLEM_TYPE_PREFIX = "tag:tracing-ledger,2026:problem/"


# MARK: - Helpers


def new_stream(prefix: str = "p0") -> str:
    return f"{PLATFORM}/{prefix}/{uuid.uuid4().hex[:12]}"


def call_event(stream: str, **envelope) -> dict:
    event = {
        "id": str(uuid.uuid4()),
        "stream": stream,
        "type": "CallPlaced",
        "platform": PLATFORM,
        "occurredAt": "2021-03-01T10:00:00Z",
        "data": {"direction": "OUTBOUND", "line": "MOBILE", "outcome": "REACHED", "durationSeconds": 60, "agent": "a-17"},
    }
    event.update(envelope)
    return event


def opened_event(stream: str, **envelope) -> dict:
    event = {
        "id": str(uuid.uuid4()),
        "stream": stream,
        "type": "CaseOpened",
        "platform": PLATFORM,
        "occurredAt": "2021-03-01T09:00:00Z",
        "recordedAt": "2021-03-01T09:01:00Z",
        "schemaVersion": 1,
        "expectedVersion": "noStream",
        "data": {"person": uuid.uuid4().hex, "role": "PATIENT_ZERO", "source": "LAB_FEED", "phoneKnown": True},
    }
    event.update(envelope)
    return event


def case_batch(stream: str | None = None, calls: int = 2) -> list[dict]:
    """A new case: CaseOpened then `calls` CallPlaced, each with its expected version."""
    stream = stream or new_stream()
    batch = [opened_event(stream)]
    for version in range(calls):
        batch.append(call_event(stream, expectedVersion=version, occurredAt=f"2021-03-01T1{version}:00:00Z"))
    return batch


def ndjson(events: list[dict]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode()


def head(client: httpx.Client) -> int:
    reply = client.get("/v1/events", params={"limit": 1})
    assert reply.status_code == 200, reply.text
    return reply.json()["head"]


def append(client: httpx.Client, events: list[dict]) -> dict:
    reply = client.post("/v1/events", json=events)
    assert reply.status_code == 200, f"{reply.status_code} {reply.text}"
    return reply.json()


def assert_problem(reply: httpx.Response, status: int, name: str | None = None) -> dict:
    """The reply is an RFC 9457 problem with this status (and type name)."""
    assert reply.status_code == status, f"expected {status}, got {reply.status_code}: {reply.text}"
    content_type = reply.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == "application/problem+json", (
        f"Content-Type {content_type!r}, body {reply.text!r}"
    )
    doc = reply.json()
    for key in ("type", "title", "status", "detail"):
        assert key in doc, f"problem without '{key}': {doc}"
    assert doc["status"] == status
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["detail"], str) and doc["detail"]
    assert doc["type"].startswith(PROBLEM_TYPE_PREFIX), doc["type"]
    if name:
        assert doc["type"] == PROBLEM_TYPE_PREFIX + name, doc
    return doc


def read_pages(client: httpx.Client, url: str, until: int) -> list[dict]:
    """Follows `next` from `url` until the page's `next` is beyond `until` (a log position)."""
    events: list[dict] = []
    for _ in range(10_000):
        reply = client.get(url)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert reply.headers.get("link") == f'<{page["next"]}>; rel="next"'
        events += page["events"]
        next_from = int(httpx.URL(page["next"]).params["from"])
        if next_from > until:
            return events
        assert next_from > int(httpx.URL(url).params.get("from", "1")), "next does not move forward"
        url = page["next"]
    raise AssertionError("paging did not reach the head")


def sse_events(response: httpx.Response):
    """Parses a text/event-stream into dicts: id, event, data (parsed JSON), or comment."""
    current: dict = {}
    data_lines: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data_lines or current:
                if data_lines:
                    current["data"] = json.loads("\n".join(data_lines))
                yield current
            current, data_lines = {}, []
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "data":
                data_lines.append(value)
            elif key in ("id", "event", "retry"):
                current[key] = value


def strip_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


# MARK: - Appends


def test_append_json_array_returns_positions_and_stream_versions_readable_back(client, ledger):
    before = head(client)
    batch = case_batch(calls=3)
    reply = append(client, batch)
    assert reply["appended"] == 4 and reply["duplicates"] == 0
    assert [e["position"] for e in reply["events"]] == list(range(before + 1, before + 5))
    assert [e["streamVersion"] for e in reply["events"]] == [0, 1, 2, 3]
    assert [e["index"] for e in reply["events"]] == [0, 1, 2, 3]
    assert [e["id"] for e in reply["events"]] == [e["id"] for e in batch]
    assert all(e["status"] == "appended" for e in reply["events"])
    assert reply["head"] == before + 4 == head(client)

    from_log = client.get("/v1/events", params={"from": before + 1, "limit": 4}).json()["events"]
    stream = batch[0]["stream"]
    from_stream = client.get(f"/v1/streams/{stream}/events").json()
    assert from_stream["stream"] == stream and from_stream["version"] == 3
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--from", str(before + 1), "--limit", "4")
    assert from_log == printed
    assert from_stream["events"] == printed
    for sent, got in zip(batch, from_log):
        for key in ("id", "stream", "type", "platform", "occurredAt", "data"):
            assert got[key] == sent[key], key
    assert from_log[0]["recordedAt"] == "2021-03-01T09:01:00Z"


def test_append_ndjson_returns_positions_and_events_equal_to_ledgerctl_read(client, ledger):
    before = head(client)
    batch = case_batch(calls=1)
    reply = client.post("/v1/events", content=ndjson(batch), headers={"content-type": "application/x-ndjson"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [e["position"] for e in body["events"]] == [before + 1, before + 2]
    assert [e["streamVersion"] for e in body["events"]] == [0, 1]
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--from", str(before + 1))
    served = client.get("/v1/events", params={"from": before + 1}).json()["events"]
    assert served == printed
    assert [e["id"] for e in served] == [e["id"] for e in batch]
    assert [e["position"] for e in served] == [before + 1, before + 2]


def test_append_ndjson_with_crlf_and_blank_lines_is_accepted(client):
    batch = case_batch(calls=1)
    body = b"\r\n".join(json.dumps(e).encode() for e in batch) + b"\r\n\r\n"
    reply = client.post("/v1/events", content=body, headers={"content-type": "application/x-ndjson"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["appended"] == 2


def test_stream_page_of_unknown_stream_is_404_problem(client):
    assert_problem(client.get(f"/v1/streams/{new_stream()}/events"), 404, "not-found")


# MARK: - Retries and idempotency


def test_retry_of_same_batch_is_duplicate_with_original_positions_and_head_unchanged(client):
    batch = case_batch(calls=2)
    first = append(client, batch)
    after = head(client)
    second = append(client, batch)
    assert second["appended"] == 0 and second["duplicates"] == 3
    assert [e["status"] for e in second["events"]] == ["duplicate"] * 3
    assert [(e["position"], e["streamVersion"]) for e in second["events"]] == [
        (e["position"], e["streamVersion"]) for e in first["events"]
    ]
    assert head(client) == after


def test_concurrent_retries_from_threads_are_duplicates_with_original_positions(base_url, client):
    batch = case_batch(calls=2)
    first = append(client, batch)
    after = head(client)

    def post(_):
        with httpx.Client(base_url=base_url, timeout=30) as c:
            return c.post("/v1/events", json=batch)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(post, range(16)))
    original = [e["position"] for e in first["events"]]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert [e["status"] for e in reply.json()["events"]] == ["duplicate"] * 3
        assert [e["position"] for e in reply.json()["events"]] == original
    assert head(client) == after


def test_concurrent_first_sends_of_one_batch_append_it_once(base_url, client):
    before = head(client)
    batch = case_batch(calls=2)
    barrier = threading.Barrier(8)

    def post(_):
        with httpx.Client(base_url=base_url, timeout=30) as c:
            barrier.wait()
            return c.post("/v1/events", json=batch)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(post, range(8)))
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies if r.status_code != 200]
    bodies = [r.json() for r in replies]
    assert sum(b["appended"] for b in bodies) == 3, "the batch must be appended exactly once"
    positions = {tuple(e["position"] for e in b["events"]) for b in bodies}
    assert positions == {(before + 1, before + 2, before + 3)}
    assert head(client) == before + 3


def test_same_id_with_other_content_is_409_idempotency_conflict_naming_index_id_field(client):
    batch = case_batch(calls=1)
    append(client, batch)
    after = head(client)
    changed = dict(batch[1], data=dict(batch[1]["data"], outcome="NO_ANSWER"))
    fresh = call_event(new_stream())
    doc = assert_problem(client.post("/v1/events", json=[fresh, changed]), 409, "idempotency-conflict")
    assert doc["index"] == 1
    assert doc["id"] == changed["id"]
    assert doc["position"] == after
    assert head(client) == after

    moved = dict(batch[1], stream=new_stream())
    moved_doc = assert_problem(client.post("/v1/events", json=[moved]), 409, "idempotency-conflict")
    assert (moved_doc["index"], moved_doc["id"], moved_doc["field"]) == (0, moved["id"], "stream")
    assert head(client) == after

    # The field in the vocabulary of the request (docs/events.md): `data` (or `data.outcome`).
    assert doc["field"] == "data" or doc["field"].startswith("data."), doc


def test_same_id_twice_in_one_batch_with_other_content_is_refused(client):
    before = head(client)
    first = call_event(new_stream())
    second = dict(first, data=dict(first["data"], agent="a-18"))
    doc = assert_problem(client.post("/v1/events", json=[first, second]), 422, "invalid-event")
    assert doc["errors"][0]["index"] == 1 and doc["errors"][0]["field"] == "id"
    assert head(client) == before


# MARK: - Optimistic concurrency


def test_wrong_expected_version_is_409_and_nothing_of_a_multi_stream_batch_is_written(client):
    existing = case_batch(calls=1)  # version 1 after this
    append(client, existing)
    before = head(client)
    other = new_stream()
    batch = [
        opened_event(other),
        call_event(other, expectedVersion=0),
        call_event(existing[0]["stream"], expectedVersion=5),
    ]
    doc = assert_problem(client.post("/v1/events", json=batch), 409, "version-conflict")
    assert doc["stream"] == existing[0]["stream"]
    assert doc["expected"] == 5
    assert doc["actual"] == 1
    assert doc["index"] == 2
    assert head(client) == before
    assert_problem(client.get(f"/v1/streams/{other}/events"), 404, "not-found")


def test_no_stream_expected_on_an_existing_stream_is_409_with_actual_version(client):
    existing = case_batch(calls=2)
    append(client, existing)
    before = head(client)
    doc = assert_problem(
        client.post("/v1/events", json=[opened_event(existing[0]["stream"])]), 409, "version-conflict"
    )
    assert (doc["stream"], doc["expected"], doc["actual"], doc["index"]) == (existing[0]["stream"], "noStream", 2, 0)
    assert head(client) == before


def test_expected_version_on_a_missing_stream_is_409_with_null_actual(client):
    before = head(client)
    stream = new_stream()
    doc = assert_problem(client.post("/v1/events", json=[call_event(stream, expectedVersion=3)]), 409, "version-conflict")
    assert (doc["stream"], doc["expected"], doc["actual"], doc["index"]) == (stream, 3, None, 0)
    assert head(client) == before


# MARK: - Bad requests


def test_invalid_events_are_422_with_index_and_field_and_nothing_written(client):
    before = head(client)
    good = call_event(new_stream())
    bad_outcome = call_event(new_stream(), data={"outcome": "FAX"})
    no_platform = call_event(new_stream())
    del no_platform["platform"]
    doc = assert_problem(client.post("/v1/events", json=[good, bad_outcome, no_platform]), 422, "invalid-event")
    errors = {(e["index"], e["field"]) for e in doc["errors"]}
    assert (1, "data.outcome") in errors, doc
    assert any(index == 2 and field == "platform" for index, field in errors), doc
    assert head(client) == before


def test_invalid_ndjson_line_is_422_with_its_line_number(client):
    before = head(client)
    events = [call_event(new_stream()), call_event(new_stream(), data={"durationSeconds": -5})]
    body = ndjson(events[:1]) + b"\n" + ndjson(events[1:])
    reply = client.post("/v1/events", content=body, headers={"content-type": "application/x-ndjson"})
    doc = assert_problem(reply, 422, "invalid-event")
    assert doc["errors"] == [
        {"index": 1, "line": 3, "field": "data.durationSeconds", "detail": doc["errors"][0]["detail"]}
    ]
    assert head(client) == before


def test_free_text_with_a_phone_number_is_refused(client):
    before = head(client)
    event = call_event(new_stream())
    event["data"]["agent"] = "06 12 34 56 78"
    doc = assert_problem(client.post("/v1/events", json=[event]), 422, "invalid-event")
    assert doc["errors"][0]["field"] == "data.agent"
    assert head(client) == before


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[{\"id\": ", b"not json at all", b"[1, 2", b"\xff\xfe"],
    ids=["broken-object", "unclosed-array", "text", "unclosed-numbers", "not-utf8"],
)
def test_non_json_body_is_400_problem_and_nothing_written(client, body):
    before = head(client)
    reply = client.post("/v1/events", content=body, headers={"content-type": "application/json"})
    doc = assert_problem(reply, 400)
    assert doc["errors"] and "index" in doc["errors"][0] and "field" in doc["errors"][0]
    assert head(client) == before


def test_empty_batch_is_refused(client):
    before = head(client)
    reply = client.post("/v1/events", content=b"[]", headers={"content-type": "application/json"})
    assert reply.status_code in (400, 422), reply.text
    assert_problem(reply, reply.status_code)
    assert head(client) == before


def test_text_plain_body_is_415_problem_and_nothing_written(client):
    before = head(client)
    reply = client.post("/v1/events", content=ndjson(case_batch()), headers={"content-type": "text/plain"})
    assert_problem(reply, 415, "unsupported-media-type")
    assert head(client) == before


def test_body_over_max_body_bytes_is_413_problem_and_nothing_written(ledger, start_server):
    small = start_server(ledger, "--max-body-bytes", "2048")
    with httpx.Client(base_url=small.url, timeout=30) as c:
        before = head(c)
        big = [call_event(new_stream()) for _ in range(20)]
        assert len(json.dumps(big)) > 2048
        doc = assert_problem(c.post("/v1/events", json=big), 413, "body-too-large")
        assert doc["limit"] == 2048
        assert head(c) == before
        # Just under the limit is accepted.
        assert c.post("/v1/events", json=case_batch(calls=1)).status_code == 200
        assert head(c) == before + 2


def test_unknown_route_and_method_are_problems(client):
    assert_problem(client.get("/v1/nothing-here"), 404)
    reply = client.delete("/v1/events")
    assert reply.status_code in (404, 405)
    assert_problem(reply, reply.status_code)


# MARK: - Unicode names


def test_stream_named_in_nfc_and_nfd_is_one_stream(client, ledger):
    name = f"{PLATFORM}/p0/Hérault-Béziers-{uuid.uuid4().hex[:8]}"
    nfc, nfd = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    assert nfc != nfd
    before = head(client)
    opened = opened_event(nfc)
    first = append(client, [opened])
    assert first["events"][0]["stream"] == nfc
    # The same event sent with the stream in NFD is the same event: a duplicate, not a conflict.
    retry = append(client, [dict(opened, stream=nfd)])
    assert retry["events"][0]["status"] == "duplicate"
    assert retry["events"][0]["position"] == before + 1
    # A second event in NFD goes to the same stream, at version 1.
    second = append(client, [call_event(nfd, expectedVersion=0)])
    assert second["events"][0]["streamVersion"] == 1
    # A noStream in NFD sees the stream that exists.
    assert_problem(client.post("/v1/events", json=[opened_event(nfd)]), 409, "version-conflict")
    assert head(client) == before + 2
    for form in (nfc, nfd):
        page = client.get("/v1/streams/" + quote(form, safe="/") + "/events").json()
        assert page["stream"] == nfc and page["version"] == 1
        assert [e["position"] for e in page["events"]] == [before + 1, before + 2]
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--stream", nfc)
    assert [e["position"] for e in printed] == [before + 1, before + 2]
    assert all(e["stream"] == nfc for e in printed)


def test_append_reply_and_problems_name_the_stream_as_stored_in_nfc(client):
    name = f"{PLATFORM}/p0/Hérault-Sète-{uuid.uuid4().hex[:8]}"
    nfc, nfd = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    reply = append(client, [opened_event(nfd)])
    stored = client.get("/v1/events", params={"from": reply["events"][0]["position"], "limit": 1}).json()
    assert stored["events"][0]["stream"] == nfc
    conflict = assert_problem(client.post("/v1/events", json=[opened_event(nfd)]), 409, "version-conflict")
    assert conflict["stream"] == nfc, conflict
    assert reply["events"][0]["stream"] == nfc, f"the reply names the stream {reply['events'][0]['stream']!r}"


def test_stream_pages_follow_next_links_for_a_name_with_slashes_and_accents(client, ledger):
    stream = f"{PLATFORM}/p0/Hérault-Lodève-{uuid.uuid4().hex[:8]}"
    append(client, case_batch(stream, calls=4))
    url = "/v1/streams/" + quote(stream, safe="/") + "/events?limit=2"
    versions = []
    for _ in range(10):
        reply = client.get(url)
        assert reply.status_code == 200, f"{url}: {reply.status_code} {reply.text}"
        page = reply.json()
        assert page["stream"] == stream and page["version"] == 4
        assert reply.headers.get("link") == f'<{page["next"]}>; rel="next"'
        versions += [e["streamVersion"] for e in page["events"]]
        if not page["events"]:
            break
        url = page["next"]
    assert versions == [0, 1, 2, 3, 4]
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--stream", stream)
    assert [e["streamVersion"] for e in printed] == versions


# MARK: - Pages


def test_paging_by_next_links_reaches_the_head_gapless(client):
    top = head(client)
    events = read_pages(client, "/v1/events?limit=500", top)
    assert len(events) == top
    assert [e["position"] for e in events] == list(range(1, top + 1))


def test_default_page_size_and_page_beyond_head(client):
    top = head(client)
    assert len(client.get("/v1/events").json()["events"]) == 100
    page = client.get("/v1/events", params={"from": top + 1}).json()
    assert page["events"] == [] and page["head"] == top


def test_type_filter_repeatable_and_comma_forms_match_ledgerctl(client, ledger):
    top = head(client)
    repeated = read_pages(client, "/v1/events?limit=1000&type=CaseClosed&type=PolicyChanged", top)
    comma = read_pages(client, "/v1/events?limit=1000&type=CaseClosed,PolicyChanged", top)
    assert repeated == comma
    assert repeated and {e["type"] for e in repeated} == {"CaseClosed", "PolicyChanged"}
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--type", "CaseClosed", "--type", "PolicyChanged")
    assert [e["position"] for e in repeated] == [e["position"] for e in printed if e["position"] <= top]


def test_platform_filter_repeatable_and_comma_forms_match_ledgerctl(client, ledger):
    top = head(client)
    repeated = read_pages(client, "/v1/events?limit=1000&platform=cpam-11&platform=" + PLATFORM, top)
    comma = read_pages(client, f"/v1/events?limit=1000&platform=cpam-11,{PLATFORM}", top)
    assert repeated == comma
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--platform", "cpam-11", "--platform", PLATFORM)
    assert [e["position"] for e in repeated] == [e["position"] for e in printed if e["position"] <= top]
    assert {e["platform"] for e in repeated} <= {"cpam-11", PLATFORM}
    both = read_pages(client, "/v1/events?limit=1000&platform=cpam-34&type=PlatformOpened", top)
    assert [e["type"] for e in both] == ["PlatformOpened"] and both[0]["platform"] == "cpam-34"


@pytest.mark.parametrize("query", ["limit=0", "limit=5000", "limit=-1", "limit=ten", "from=0", "from=x"])
def test_bad_page_parameters_are_400_problem(client, query):
    doc = assert_problem(client.get("/v1/events?" + query), 400, "bad-parameter")
    assert doc["parameter"] == query.split("=")[0]


def test_stream_page_bad_limit_is_400_problem(client):
    assert_problem(client.get("/v1/streams/cpam-34/p0/1/events?limit=0"), 400, "bad-parameter")


# MARK: - Subscriptions (SSE)


def test_subscribe_catch_up_ids_are_positions_then_caught_up_then_live_event(base_url, client):
    top = head(client)
    start = top - 9
    timeout = httpx.Timeout(10.0, read=10.0)
    with httpx.Client(base_url=base_url, timeout=timeout) as sub:
        with sub.stream("GET", "/v1/subscribe", params={"from": start}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = sse_events(response)
            seen = []
            for message in stream:
                if "comment" in message or "retry" in message and "data" not in message:
                    continue
                if message.get("event") == "caught-up":
                    assert message["data"]["position"] == top
                    break
                assert message.get("event") in (None, "message")
                assert int(message["id"]) == message["data"]["position"]
                seen.append(message["data"]["position"])
            assert seen == list(range(start, top + 1))

            live = case_batch(calls=0)
            started = time.monotonic()
            reply = append(client, live)
            for message in stream:
                if "data" in message and message.get("event") is None:
                    assert int(message["id"]) == reply["events"][0]["position"]
                    assert message["data"]["id"] == live[0]["id"]
                    break
            assert time.monotonic() - started < 3.0, "the live event took too long"


def test_subscribe_resume_with_last_event_id_gives_exactly_the_events_after_it(base_url, client):
    top = head(client)
    last = top - 7
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0)) as sub:
        with sub.stream("GET", "/v1/subscribe", headers={"Last-Event-ID": str(last)}) as response:
            assert response.status_code == 200
            ids = []
            for message in sse_events(response):
                if message.get("event") == "caught-up":
                    break
                if "id" in message:
                    ids.append(int(message["id"]))
    assert ids == list(range(last + 1, top + 1))


def test_subscribe_bad_last_event_id_is_400_problem(client):
    assert_problem(client.get("/v1/subscribe", headers={"Last-Event-ID": "abc"}), 400, "bad-parameter")


def test_subscribe_with_type_filter_only_gets_that_type(base_url, client, ledger):
    top = head(client)
    start = max(1, top - 3000)
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0)) as sub:
        with sub.stream("GET", "/v1/subscribe", params={"from": start, "type": "CaseClosed"}) as response:
            got = []
            for message in sse_events(response):
                if message.get("event") == "caught-up":
                    break
                if "data" in message:
                    got.append(message["data"])
    assert got and all(e["type"] == "CaseClosed" for e in got)
    printed = ledgerctl_ndjson("read", "--ledger", str(ledger), "--from", str(start), "--type", "CaseClosed")
    assert [e["position"] for e in got] == [e["position"] for e in printed if e["position"] <= top]


def test_subscribe_idle_sends_heartbeats(tmp_path, start_server):
    srv = start_server(init_empty(tmp_path / "hb", platform=PLATFORM), "--heartbeat-seconds", "0.5")
    heartbeats = 0
    started = time.monotonic()
    with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(5.0)) as sub:
        with sub.stream("GET", "/v1/subscribe") as response:
            for message in sse_events(response):
                if "comment" in message:
                    heartbeats += 1
                    if heartbeats == 3:
                        break
                assert time.monotonic() - started < 5
    assert heartbeats == 3
    assert time.monotonic() - started < 3.5


def test_slow_subscriber_is_closed_with_reason_and_last_event_id_in_bounded_memory(ledger, start_server):
    srv = start_server(ledger, "--subscriber-buffer", "50", "--slow-subscriber-seconds", "1")
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        top = head(c)
    assert top >= 20_000

    def rss_kib() -> int:
        with open(f"/proc/{srv.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    rss_before = rss_kib()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.sendall(f"GET /v1/subscribe?from=1 HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
    rss_peak = rss_before
    stalled_until = time.monotonic() + 5
    while time.monotonic() < stalled_until:
        rss_peak = max(rss_peak, rss_kib())
        time.sleep(0.1)
    sock.settimeout(10)
    received = bytearray()
    closed_by_server = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            closed_by_server = True
            break
        received += chunk
        if received.endswith(b"\r\n0\r\n\r\n"):
            # The response is over: the server has 3 s to close the connection.
            sock.settimeout(3)
        if len(received) % (1 << 20) < (1 << 16):
            rss_peak = max(rss_peak, rss_kib())
    sock.close()
    text = received.decode(errors="replace")
    assert text.startswith("HTTP/1.1 200"), text[:200]
    assert "event: closed" in text, (
        f"no 'event: closed' in {len(received)} bytes (connection closed by the server: {closed_by_server}); "
        f"tail: {text[-200:]!r}"
    )
    closing = text[text.index("event: closed"):]
    data_line = next(line for line in closing.splitlines() if line.startswith("data: "))
    closed = json.loads(data_line[len("data: "):])
    assert closed.get("reason"), closed
    ids = [int(line[4:]) for line in text[: text.index("event: closed")].splitlines() if line.startswith("id: ")]
    assert ids and ids == list(range(1, len(ids) + 1))
    assert closed["lastEventId"] == ids[-1]
    assert ids[-1] < top, "the slow client was not closed before the head"
    grew_mib = (rss_peak - rss_before) / 1024
    assert grew_mib < 50, f"ledgerd's RSS grew by {grew_mib:.1f} MiB for one slow subscriber"
    assert text.endswith("\r\n0\r\n\r\n"), "the response did not end after 'event: closed'"

    # The client resumes from lastEventId.
    with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(10.0)) as sub:
        with sub.stream("GET", "/v1/subscribe", headers={"Last-Event-ID": str(closed["lastEventId"])}) as response:
            first = next(m for m in sse_events(response) if "id" in m)
    assert int(first["id"]) == closed["lastEventId"] + 1

    assert closed_by_server, (
        "the server ended the response after 'event: closed' but kept the slow client's connection open"
    )


# MARK: - Cases, statistics, reports


@pytest.mark.parametrize("form", ["raw", "encoded"])
def test_case_document_matches_ledgerctl_case_show(client, ledger, form):
    case = "cpam-34/p0/1"
    path = case if form == "raw" else quote(case, safe="")
    reply = client.get("/v1/cases/" + path)
    assert reply.status_code == 200, reply.text
    served = reply.json()
    shown = json.loads(ledgerctl("case", "show", "--ledger", str(ledger), case, "--format", "json").stdout)
    assert served["state"] == shown["state"]
    for key in ("case", "platform", "person", "events"):
        assert served[key] == shown[key], key
    stream = client.get("/v1/streams/cpam-34/p0/1/events", params={"limit": 1000}).json()["events"]
    assert [(t["position"], t["type"]) for t in served["timeline"]] == [(e["position"], e["type"]) for e in stream]


def test_unknown_case_is_404_problem(client):
    assert_problem(client.get("/v1/cases/cpam-34/p0/999999999"), 404, "not-found")


def test_stats_json_rows_match_ledgerctl(client, ledger):
    reply = client.get("/v1/stats", params={"by": "month", "platform": "cpam-34"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    doc = reply.json()
    assert doc["by"] == "month"
    printed = ledgerctl_ndjson("stats", "--ledger", str(ledger), "--by", "month", "--platform", "cpam-34", "--format", "json")
    assert doc["rows"] == printed


def test_stats_csv_equals_ledgerctl_byte_for_byte(client, ledger):
    reply = client.get("/v1/stats", params={"by": "month", "platform": "cpam-34"}, headers={"Accept": "text/csv"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    printed = ledgerctl("stats", "--ledger", str(ledger), "--by", "month", "--platform", "cpam-34", "--format", "csv").stdout
    assert reply.content == printed


def test_stats_platform_all_equals_ledgerctl(client, ledger):
    reply = client.get("/v1/stats", params={"by": "month", "platform": "all"}, headers={"Accept": "text/csv"})
    assert reply.status_code == 200, reply.text
    printed = ledgerctl("stats", "--ledger", str(ledger), "--by", "month", "--platform", "all", "--format", "csv").stdout
    assert reply.content == printed
    assert b"\nall," in reply.content


def test_stats_unknown_platform_is_404_and_bad_by_is_400(client):
    assert_problem(client.get("/v1/stats", params={"platform": "cpam-999"}), 404, "not-found")
    assert_problem(client.get("/v1/stats", params={"by": "year"}), 400, "bad-parameter")
    assert_problem(client.get("/v1/stats", params={"asOf": "2020-13-45"}), 400, "bad-parameter")


def test_closure_report_markdown_equals_ledgerctl(client, ledger):
    reply = client.get("/v1/reports/closure", params={"platform": "cpam-34"}, headers={"Accept": "text/markdown"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/markdown")
    printed = ledgerctl("report", "closure", "--ledger", str(ledger), "--platform", "cpam-34").stdout
    assert reply.content == printed


def test_stats_several_platforms_and_as_of_equal_ledgerctl(client, ledger):
    reply = client.get(
        "/v1/stats?by=week&platform=cpam-34&platform=cpam-11&asOf=2021-06-30", headers={"Accept": "text/csv"}
    )
    assert reply.status_code == 200, reply.text
    printed = ledgerctl(
        "stats", "--ledger", str(ledger), "--by", "week", "--platform", "cpam-34", "--platform", "cpam-11",
        "--as-of", "2021-06-30", "--format", "csv",
    ).stdout
    assert reply.content == printed
    assert b"\nall," in reply.content


def test_closure_report_english_markdown_equals_ledgerctl(client, ledger):
    reply = client.get("/v1/reports/closure?platform=cpam-34&lang=en&format=md")
    assert reply.status_code == 200, reply.text
    printed = ledgerctl("report", "closure", "--ledger", str(ledger), "--platform", "cpam-34", "--lang", "en").stdout
    assert reply.content == printed


def test_closure_report_json_and_html(client):
    reply = client.get("/v1/reports/closure", params={"platform": "cpam-34"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    reply.json()
    html = client.get("/v1/reports/closure", params={"platform": "cpam-34"}, headers={"Accept": "text/html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


def test_not_acceptable_representation_is_406_problem(client):
    assert_problem(
        client.get("/v1/reports/closure", params={"platform": "cpam-34"}, headers={"Accept": "image/png"}), 406
    )
    assert_problem(client.get("/v1/stats", headers={"Accept": "image/png"}), 406)


def test_closure_report_unknown_or_missing_platform_is_problem(client):
    assert_problem(client.get("/v1/reports/closure", params={"platform": "cpam-999"}), 404, "not-found")
    assert_problem(client.get("/v1/reports/closure"), 400, "bad-parameter")


# MARK: - Operations


def test_livez_and_readyz(client):
    live = client.get("/livez")
    assert live.status_code == 200 and live.text.strip() == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and "ready" in ready.text


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name} in /metrics:\n{text[:2000]}")


def test_metrics_count_appended_events_and_subscribers(base_url, client):
    before = client.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    appended_before = metric(before.text, "ledgerd_events_appended_total")
    duplicates_before = metric(before.text, "ledgerd_events_duplicate_total")
    batch = case_batch(calls=4)
    append(client, batch)
    append(client, batch)
    append(client, case_batch(calls=1))
    after = client.get("/metrics").text
    assert metric(after, "ledgerd_events_appended_total") - appended_before == 7
    assert metric(after, "ledgerd_events_duplicate_total") - duplicates_before == 5
    assert metric(after, "ledgerd_head_position") == head(client)


def test_metrics_subscribers_gauge_follows_connects_and_disconnects(tmp_path, start_server):
    srv = start_server(init_empty(tmp_path / "subs", platform=PLATFORM))
    with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(10.0)) as c:
        assert metric(c.get("/metrics").text, "ledgerd_subscribers") == 0
        with c.stream("GET", "/v1/subscribe") as one, c.stream("GET", "/v1/subscribe") as two:
            for response in (one, two):
                next(m for m in sse_events(response) if m.get("event") == "caught-up")
            assert metric(c.get("/metrics").text, "ledgerd_subscribers") == 2
        started = time.monotonic()
        while metric(c.get("/metrics").text, "ledgerd_subscribers") != 0 and time.monotonic() - started < 5:
            time.sleep(0.1)
        assert metric(c.get("/metrics").text, "ledgerd_subscribers") == 0, (
            "two idle subscribers that disconnected are still counted 5 s later"
        )


def test_sigterm_stops_the_server_with_status_0(tmp_path, start_server):
    srv = start_server(init_empty(tmp_path / "term"))
    assert srv.stop() == 0, srv.stderr()


def test_sigterm_closes_open_subscriptions_and_exits_0(tmp_path, start_server):
    srv = start_server(init_empty(tmp_path / "term-sub", platform=PLATFORM), "--heartbeat-seconds", "0.5")
    messages = []
    with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(10.0)) as c:
        with c.stream("GET", "/v1/subscribe") as response:
            stream = sse_events(response)
            messages.append(next(m for m in stream if m.get("event") == "caught-up"))
            srv.proc.terminate()
            deadline = time.monotonic() + 10
            try:
                for message in stream:
                    messages.append(message)
                    if time.monotonic() > deadline:
                        break
            except httpx.HTTPError as error:
                messages.append({"error": repr(error)})
    try:
        status = srv.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        status = None
    assert status == 0, f"ledgerd did not exit 0 within 10 s of SIGTERM with a subscriber (status {status})"
    assert any(m.get("event") == "closed" for m in messages), (
        f"no closing event for the subscriber; it got {[m for m in messages if 'comment' not in m]}"
    )


# MARK: - Concurrency


def test_sixteen_concurrent_appenders_every_acknowledged_event_once(base_url, client):
    before = head(client)
    threads, batches = 16, 50

    def appender(worker: int) -> list[tuple[str, int]]:
        stream = new_stream(f"w{worker}")
        acknowledged = []
        with httpx.Client(base_url=base_url, timeout=30) as c:
            for n in range(batches):
                batch = [opened_event(stream)] if n == 0 else [call_event(stream, expectedVersion=2 * n - 1)]
                batch.append(call_event(stream, expectedVersion=2 * n))
                reply = c.post("/v1/events", json=batch)
                assert reply.status_code == 200, reply.text
                for sent, got in zip(batch, reply.json()["events"]):
                    assert got["status"] == "appended" and got["id"] == sent["id"]
                    acknowledged.append((sent["id"], got["position"]))
        return acknowledged

    with ThreadPoolExecutor(threads) as pool:
        acknowledged = [pair for result in pool.map(appender, range(threads)) for pair in result]
    total = threads * batches * 2
    assert len(acknowledged) == total
    assert head(client) == before + total
    logged = read_pages(client, f"/v1/events?from={before + 1}&limit=1000", before + total)
    assert [e["position"] for e in logged] == list(range(before + 1, before + total + 1))
    by_id = {e["id"]: e["position"] for e in logged}
    assert len(by_id) == total, "an event is in the log twice"
    assert dict(acknowledged) == by_id


# MARK: - curl


def curl(*args: str) -> tuple[int, bytes]:
    result = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", *args],
        capture_output=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    body, _, code = result.stdout.rpartition(b"\n")
    return int(code), body


def test_curl_posts_ndjson_with_data_binary(base_url, client, tmp_path):
    before = head(client)
    batch = case_batch(calls=1)
    body = tmp_path / "batch.ndjson"
    body.write_bytes(ndjson(batch))
    code, reply = curl("-X", "POST", "-H", "Content-Type: application/x-ndjson", "--data-binary", f"@{body}",
                       base_url + "/v1/events")
    assert code == 200, reply
    assert [e["position"] for e in json.loads(reply)["events"]] == [before + 1, before + 2]
    code, reply = curl("-X", "POST", "-H", "Content-Type: application/x-ndjson", "--data-binary", f"@{body}",
                       base_url + "/v1/events")
    assert code == 200 and json.loads(reply)["duplicates"] == 2


def test_curl_post_text_plain_is_415(base_url):
    code, reply = curl("-H", "Content-Type: text/plain", "--data-binary", "hello", base_url + "/v1/events")
    assert code == 415 and json.loads(reply)["status"] == 415


def test_curl_gets_a_page(base_url):
    code, reply = curl(base_url + "/v1/events?from=1&limit=3")
    assert code == 200
    page = json.loads(reply)
    assert [e["position"] for e in page["events"]] == [1, 2, 3]
    assert page["next"] == "/v1/events?from=4&limit=3"
    code, reply = curl(base_url + "/v1/events?limit=0")
    assert code == 400 and json.loads(reply)["type"].endswith("/bad-parameter")
