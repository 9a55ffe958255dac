"""ledgerctl replicate and restore against a real PostgreSQL 15 (docs/operations.md)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import unicodedata
import uuid
from pathlib import Path

from conftest import LEDGERCTL, ledgerctl


def info(ledger: Path) -> dict:
    return json.loads(ledgerctl("info", "--ledger", str(ledger), "--format", "json").stdout)


def copy_ledger(source: Path, target: Path) -> Path:
    """A consistent copy with the same ledger id, and the files beside it that the tests need."""
    ledgerctl("backup", "--ledger", str(source), "--to", str(target))
    return target


def call_event(stream: str, platform: str = "cpam-34") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "stream": stream,
        "type": "CallPlaced",
        "platform": platform,
        "occurredAt": "2021-03-01T10:00:00Z",
        "recordedAt": "2021-03-01T10:00:05Z",
        "data": {"direction": "OUTBOUND", "line": "MOBILE", "outcome": "REACHED", "durationSeconds": 60,
                 "agent": "a-17"},
    }


def append(ledger: Path, events: list[dict]) -> None:
    body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode()
    ledgerctl("append", "--ledger", str(ledger), "-", stdin=body)


def test_replicate_then_restore_gives_the_same_ledger_id_head_hash_and_statistics(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "a.ledger")
    before = info(ledger)
    out = ledgerctl("replicate", "--ledger", str(ledger), "--to", cluster.url(database), "--batch", "1000").stdout.decode()
    assert f"{before['events']} events shipped, 0 already there" in out
    assert cluster.psql("SELECT count(*), max(position) FROM ledger_events", database) == f"{before['events']}|{before['events']}"
    # The SQL view of the national aggregate and the jsonb payloads are there for SQL users.
    assert int(cluster.psql("SELECT sum(events) FROM ledger_daily_events", database)) == before["events"]
    assert cluster.psql(
        "SELECT payload->>'outcome' IS NOT NULL FROM ledger_events WHERE type = 'CallPlaced' LIMIT 1", database) == "t"

    restored = tmp_path / "restored.ledger"
    out = ledgerctl("restore", "--from", cluster.url(database), "--ledger-id", before["ledgerId"], "--to", str(restored))
    assert b"read model rebuilt" in out.stdout
    after = info(restored)
    assert (after["ledgerId"], after["headHash"], after["events"]) == (before["ledgerId"], before["headHash"], before["events"])
    ledgerctl("verify", "--ledger", str(restored))
    stats = [ledgerctl("stats", "--ledger", str(p), "--by", "month", "--format", "csv").stdout for p in (ledger, restored)]
    assert stats[0] == stats[1]
    # No key store in PostgreSQL: restore says what to copy back.
    assert b"key store" in out.stderr


def test_restore_read_only_gives_a_copy_that_answers_queries_and_refuses_appends_with_65(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "ro.ledger")
    before = info(ledger)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", cluster.url(database))
    copy = tmp_path / "elsewhere.ledger"
    out = ledgerctl("restore", "--from", cluster.url(database), "--ledger-id", before["ledgerId"], "--to", str(copy),
                    "--read-only").stdout.decode()
    assert "read-only copy" in out
    after = info(copy)
    assert (after["ledgerId"], after["headHash"]) == (before["ledgerId"], before["headHash"])
    assert "restored from the replica at" in after["readOnlyCopy"]
    assert info(ledger)["readOnlyCopy"] is None
    stats = [ledgerctl("stats", "--ledger", str(p), "--by", "month", "--format", "csv").stdout for p in (ledger, copy)]
    assert stats[0] == stats[1]
    ledgerctl("verify", "--ledger", str(copy))
    body = (json.dumps(call_event("cpam-34/forked")) + "\n").encode()
    refused = ledgerctl("append", "--ledger", str(copy), "-", stdin=body, check=False)
    assert refused.returncode == 65, refused.stderr
    assert b"read-only copy" in refused.stderr
    # Nothing is written beside the copy either: no key store, no secret, no checkpoint key.
    for args in (["simulate", "--scale", "0.0001"], ["checkpoint"]):
        result = ledgerctl(*args, "--ledger", str(copy), check=False)
        assert result.returncode == 65, (args, result.stderr)
        assert b"read-only copy" in result.stderr
    platform = info(copy)["platforms"][0]
    ledgerctl("report", "closure", "--ledger", str(copy), "--platform", platform, "--format", "json")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("elsewhere.ledger.")
                and p.suffix in (".keys", ".secret", ".checkpoint-key", ".checkpoints")]
    assert info(copy)["headHash"] == before["headHash"]


def test_replicating_again_ships_only_new_events_and_names_in_both_unicode_forms_survive(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "b.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    again = ledgerctl("replicate", "--ledger", str(ledger), "--to", url).stdout.decode()
    assert "0 events shipped" in again
    # Names with a backslash and a tab (which COPY's text had to escape) and accents in both forms (stored in NFC).
    nfd = unicodedata.normalize("NFD", "cas-Hélène\\tab\there")
    append(ledger, [call_event(nfd), call_event("cas-Hélène\\tab\there"), call_event("x", platform="cpam-é")])
    out = ledgerctl("replicate", "--ledger", str(ledger), "--to", url).stdout.decode()
    assert "3 events shipped, 0 already there" in out
    streams = cluster.psql("SELECT DISTINCT stream FROM ledger_events WHERE stream LIKE 'cas-H%'", database)
    assert streams == unicodedata.normalize("NFC", "cas-Hélène\\tab\there")
    restored = tmp_path / "b-restored.ledger"
    ledgerctl("restore", "--from", url, "--ledger-id", info(ledger)["ledgerId"], "--to", str(restored))
    assert info(restored)["headHash"] == info(ledger)["headHash"]


def test_a_replica_row_with_another_hash_stops_shipping_with_76_and_is_not_overwritten(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "c.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    events = info(ledger)["events"]
    forged = "\\x" + "00" * 32
    cluster.psql(f"UPDATE ledger_events SET hash = '{forged}' WHERE position = {events}", database)
    result = ledgerctl("replicate", "--ledger", str(ledger), "--to", url, check=False)
    assert result.returncode == 76
    assert f"position {events}".encode() in result.stderr and b"nothing was overwritten" in result.stderr
    assert cluster.psql(f"SELECT encode(hash, 'hex') FROM ledger_events WHERE position = {events}", database) == "00" * 32
    # A gap makes it ship again from position 1, row by row: a forged row in the middle is found too.
    cluster.psql(f"UPDATE ledger_events SET hash = (SELECT hash FROM ledger_events WHERE position = 1) WHERE position = {events}", database)
    cluster.psql("UPDATE ledger_events SET hash = '\\x" + "11" * 32 + "' WHERE position = 5", database)
    cluster.psql("DELETE FROM ledger_events WHERE position = 9", database)
    result = ledgerctl("replicate", "--ledger", str(ledger), "--to", url, check=False)
    assert result.returncode == 76 and b"position 5 " in result.stderr
    assert cluster.psql("SELECT count(*) FROM ledger_events", database) == str(events - 1)


def test_a_ledger_older_than_its_replica_is_refused_with_76(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "d.ledger")
    old = copy_ledger(ledger, tmp_path / "d-old.ledger")
    append(ledger, [call_event("cpam-34/late")])
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    result = ledgerctl("replicate", "--ledger", str(old), "--to", url, check=False)
    assert result.returncode == 76
    assert b"older than its replica" in result.stderr


def test_restore_refuses_a_replica_with_a_missing_position_and_an_existing_target(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "e.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    ledger_id = info(ledger)["ledgerId"]
    existing = tmp_path / "existing.ledger"
    existing.mkdir()
    (existing / "note.txt").write_text("mine")
    result = ledgerctl("restore", "--from", url, "--ledger-id", ledger_id, "--to", str(existing), check=False)
    assert result.returncode == 65 and b"already exists" in result.stderr
    assert (existing / "note.txt").read_text() == "mine"

    cluster.psql("DELETE FROM ledger_events WHERE position = 100", database)
    target = tmp_path / "e-restored.ledger"
    result = ledgerctl("restore", "--from", url, "--ledger-id", ledger_id, "--to", str(target), check=False)
    assert result.returncode == 76 and b"misses positions" in result.stderr
    assert not target.exists()
    assert not list(tmp_path.glob("e-restored.ledger.partial-*"))
    unknown = ledgerctl("restore", "--from", url, "--ledger-id", str(uuid.uuid4()), "--to", str(target), check=False)
    assert unknown.returncode == 76 and b"holds no ledger" in unknown.stderr


def test_restore_refuses_a_record_edited_in_the_replica(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "f.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    # Change the last byte of a record (its payload) without touching its hash column.
    cluster.psql(
        "UPDATE ledger_events SET record = overlay(record placing '\\x7f'::bytea from length(record)) WHERE position = 50",
        database)
    target = tmp_path / "f-restored.ledger"
    result = ledgerctl("restore", "--from", url, "--ledger-id", info(ledger)["ledgerId"], "--to", str(target), check=False)
    assert result.returncode == 76, result.stderr
    assert not target.exists()


def test_unreachable_servers_and_bad_urls_have_clear_errors_and_no_password_is_printed(small_ledger):
    result = ledgerctl("replicate", "--ledger", str(small_ledger), "--to", "postgres://ledger:s3cret@127.0.0.1:1/x",
                       check=False, timeout=60)
    assert result.returncode == 74
    assert b"127.0.0.1:1" in result.stderr and b"s3cret" not in result.stderr
    for url, part in [("mysql://u@h/db", b"scheme"), ("postgres://h/db", b"user"), ("postgres://u@h", b"database"),
                      ("postgres://u@h:70000/db", b"port"), ("postgres://u@h/db?host=relative", b"socket")]:
        result = ledgerctl("replicate", "--ledger", str(small_ledger), "--to", url, check=False)
        assert result.returncode == 64, (url, result.stderr)
        assert part in result.stderr, (url, result.stderr)


def replica_count(cluster, database: str) -> int:
    """The events in the replica, 0 before its tables exist."""
    if cluster.psql("SELECT to_regclass('ledger_events') IS NOT NULL", database) != "t":
        return 0
    return int(cluster.psql("SELECT count(*) FROM ledger_events", database) or 0)


def start_follower(ledger: Path, url: str) -> subprocess.Popen:
    return subprocess.Popen([LEDGERCTL, "replicate", "--ledger", str(ledger), "--to", url, "--follow",
                             "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_count(cluster, database: str, count: int, follower: subprocess.Popen, timeout: float = 60) -> None:
    """Waits until the replica holds `count` events, while `follower` runs."""
    deadline = time.monotonic() + timeout
    while (held := replica_count(cluster, database)) != count:
        assert follower.poll() is None, follower.stderr.read().decode(errors="replace")
        assert time.monotonic() < deadline, f"the replica holds {held} events, not {count}"
        time.sleep(0.2)


def test_follow_ships_new_events_as_they_come_and_stops_cleanly_on_sigterm(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "g.ledger")
    url = cluster.url(database)
    follower = start_follower(ledger, url)
    try:
        def wait_for(count: int) -> None:
            wait_for_count(cluster, database, count, follower)

        events = info(ledger)["events"]
        wait_for(events)
        for round in range(3):
            append(ledger, [call_event(f"cpam-34/follow-{round}-{i}") for i in range(10)])
            events += 10
            wait_for(events)
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
        assert follower.returncode == 0, err
        assert b"the replica holds positions 1..." in out
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=10)


def test_a_follower_outlives_a_postgresql_restart_and_catches_up(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "h.ledger")
    url = cluster.url(database)
    follower = start_follower(ledger, url)
    try:
        def wait_for(count: int) -> None:
            wait_for_count(cluster, database, count, follower, timeout=90)

        events = info(ledger)["events"]
        wait_for(events)
        cluster.stop()
        try:
            append(ledger, [call_event(f"cpam-34/while-down-{i}") for i in range(10)])
            events += 10
            time.sleep(2)
            assert follower.poll() is None, "the follower gave up while PostgreSQL was down"
        finally:
            cluster.start()
        wait_for(events)
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
        assert follower.returncode == 0, err
        assert b"retrying in" in err
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=10)


def test_two_followers_at_once_ship_every_event_once(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "h.ledger")
    url = cluster.url(database)
    # One in batches of 500, one in the default 5 000 (an INSERT of about 3 MB that the other's rows may
    # make the primary key refuse).
    runs = [subprocess.Popen([LEDGERCTL, "replicate", "--ledger", str(ledger), "--to", url, *batch],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for batch in (["--batch", "500"], [])]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    events = info(ledger)["events"]
    assert cluster.psql("SELECT count(*), count(DISTINCT position) FROM ledger_events", database) == f"{events}|{events}"



def test_a_replica_with_gaps_is_repaired_in_batches_of_several_megabytes(cluster, database, small_ledger, tmp_path):
    # Rows missing in the middle: every batch from position 1 goes through the checked path (about
    # 3 MB of text each), which skips what is there and writes what is missing.
    ledger = copy_ledger(small_ledger, tmp_path / "mb.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    events = info(ledger)["events"]
    cluster.psql(f"DELETE FROM ledger_events WHERE position > {events - 3000} AND position <> {events - 10}", database)
    result = ledgerctl("replicate", "--ledger", str(ledger), "--to", url, timeout=120)
    assert b"2999 events shipped" in result.stdout, result.stdout
    assert cluster.psql("SELECT count(*), count(DISTINCT position) FROM ledger_events", database) == f"{events}|{events}"


def test_a_payload_with_a_nul_character_ships_with_a_null_payload_and_restores_exactly(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "i.ledger")
    event = call_event("cpam-34/nul")
    event["data"]["agent"] = "a\u0000b"
    append(ledger, [event])
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    assert cluster.psql(f"SELECT payload IS NULL FROM ledger_events WHERE id = '{event['id']}'", database) == "t"
    assert cluster.psql("SELECT count(*) FROM ledger_events WHERE payload IS NULL", database) == "1"
    restored = tmp_path / "i-restored.ledger"
    ledgerctl("restore", "--from", url, "--ledger-id", info(ledger)["ledgerId"], "--to", str(restored))
    assert info(restored)["headHash"] == info(ledger)["headHash"]


def test_urls_with_unknown_parameters_bad_sslmode_or_an_unencoded_password_are_64_and_never_printed(small_ledger):
    cases = [
        ("postgres://u@h/db?sslmode=maybe", b"sslmode"),
        ("postgres://u@h/db?application_name=x", b"application_name"),
        ("postgres://ledger:ab/cd@db1/tracing", b"percent-encoded"),
        ("postgres://ledger:12/cd@db1/x", b"user"),
    ]
    for url, part in cases:
        result = ledgerctl("replicate", "--ledger", str(small_ledger), "--to", url, check=False)
        assert result.returncode == 64, (url, result.stderr)
        assert part in result.stderr, (url, result.stderr)
        assert b"ab/cd" not in result.stderr and b"12/cd" not in result.stderr
    # verify-full against a server without TLS: a connection error, not a plaintext fallback.
    result = ledgerctl("replicate", "--ledger", str(small_ledger), "--to",
                       "postgres://ledger@127.0.0.1:1/x?sslmode=verify-full", check=False, timeout=60)
    assert result.returncode == 74


def test_restore_of_a_row_whose_stream_version_was_edited_is_76(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "j.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    # Swap two rows' records and names: each row stays well formed, the history does not.
    cluster.psql(
        "UPDATE ledger_events e SET record = o.record, stream = o.stream, type = o.type, platform = o.platform "
        "FROM ledger_events o WHERE e.position = 30 AND o.position = 31", database)
    target = tmp_path / "j-restored.ledger"
    result = ledgerctl("restore", "--from", url, "--ledger-id", info(ledger)["ledgerId"], "--to", str(target), check=False)
    assert result.returncode == 76, result.stderr
    assert not target.exists()


def test_replicate_with_a_role_that_may_only_insert_and_select_once_the_tables_exist(cluster, database, small_ledger, tmp_path):
    ledger = copy_ledger(small_ledger, tmp_path / "k.ledger")
    url = cluster.url(database)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", url)
    cluster.psql("CREATE ROLE shipper LOGIN", database)
    cluster.psql("GRANT SELECT, INSERT ON ledger_replicas, ledger_events TO shipper", database)
    cluster.psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database)
    append(ledger, [call_event("cpam-34/least-privilege")])
    shipper = f"postgres://shipper@127.0.0.1:{cluster.port}/{database}"
    out = ledgerctl("replicate", "--ledger", str(ledger), "--to", shipper).stdout.decode()
    assert "1 events shipped" in out
    restored = tmp_path / "k-restored.ledger"
    ledgerctl("restore", "--from", shipper, "--ledger-id", info(ledger)["ledgerId"], "--to", str(restored))
    assert info(restored)["headHash"] == info(ledger)["headHash"]


def test_replica_columns_are_the_ledger_s_to_the_millisecond_from_1900_to_9999(cluster, database, small_ledger, tmp_path):
    """Times at both ends of the ledger's range (and one with milliseconds in between) land in
    timestamptz exactly, with every other column as `export` gives it: the times are bound as
    milliseconds and turned into timestamptz without a rounding floating-point step."""
    ledger = copy_ledger(small_ledger, tmp_path / "t.ledger")
    times = [("1900-01-01T00:00:00.001Z", "1900-01-01T00:00:00.002Z"),
             ("2020-05-12T09:30:00.123Z", "2020-05-12T09:31:02.999Z"),
             ("9999-12-31T23:59:59.998Z", "9999-12-31T23:59:59.999Z")]
    events = []
    for n, (occurred, recorded) in enumerate(times):
        event = call_event(f"cpam-34/times-{n}")
        event["occurredAt"], event["recordedAt"] = occurred, recorded
        events.append(event)
    append(ledger, events)
    ledgerctl("replicate", "--ledger", str(ledger), "--to", cluster.url(database))
    exported = {}
    for line in ledgerctl("export", "--ledger", str(ledger)).stdout.decode().splitlines():
        record = json.loads(line)
        if record["id"] in {e["id"] for e in events}:
            exported[record["id"]] = record
    assert len(exported) == 3
    fmt = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"
    for event in events:
        row = cluster.psql(
            f"SELECT concat_ws('|', position, stream, stream_version, type, platform, schema_version, "
            f"to_char(occurred_at AT TIME ZONE 'UTC', {fmt}), to_char(recorded_at AT TIME ZONE 'UTC', {fmt}), "
            f"extract(microseconds FROM occurred_at)::bigint % 1000, extract(microseconds FROM recorded_at)::bigint % 1000, "
            f"payload->>'outcome') FROM ledger_events WHERE id = '{event['id']}'", database)
        e = exported[event["id"]]
        assert row == "|".join(str(v) for v in [
            e["position"], e["stream"], e["streamVersion"], e["type"], e["platform"], e["schemaVersion"],
            event["occurredAt"], event["recordedAt"], 0, 0, "REACHED"]), row
