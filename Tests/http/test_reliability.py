"""ledgerd's reliability through real clients (issue 17): kill -9 and SIGTERM while 16 clients
append and retry, half-open connections and a stalled subscriber.

Each test is named for the behaviour it protects. The clients are threads with their own
`httpx.Client`; each builds a batch once (its ids are fixed from then on) and resends exactly that
batch after any connection error or 5xx, to whatever server is current (a restart comes up on a new
port, same ledger), until it gets a 2xx. A client only moves on to its next batch after a 2xx, so
every batch a client ever sent is acknowledged at the end: the log must then hold the ledger's
`PlatformOpened` plus every acknowledged event, each exactly once, at its acknowledged position.

Environment:
  LEDGERD_KILL_ROUNDS  kill -9 rounds (default 3; scripts/soak-ledgerd.sh runs 50)
  LEDGERD_KILL_SEED    seed of the batches and kill delays (default: random, printed on failure)
"""

from __future__ import annotations

import os
import random
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conftest import init_empty, launch, ledgerctl, ledgerctl_ndjson
from test_ledgerd import PLATFORM, call_event, metric, opened_event, sse_events

CLIENTS = 16
SHARED_STREAMS = [f"{PLATFORM}/shared/{n}" for n in range(4)]
KILL_ROUNDS = int(os.environ.get("LEDGERD_KILL_ROUNDS", "3"))
SEED = int(os.environ.get("LEDGERD_KILL_SEED", str(random.SystemRandom().randrange(1 << 32))))
BATCH_DEADLINE = 30.0  # seconds one batch may take to be acknowledged, retries included


# MARK: - Helpers


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def server_holds_connection(pid: int, server_port: int, client_port: int) -> bool:
    """Whether process `pid` still has a descriptor on its end of the TCP connection to `client_port`
    (a socket it closed may linger in the kernel, in FIN-WAIT, with no descriptor: that is closed)."""
    inodes = set()
    for name in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{name}") as table:
            for line in list(table)[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                    inodes.add(inode)
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return any(f"socket:[{inode}]" in held for inode in inodes if inode != "0")


class Target:
    """The URL of the server the clients talk to; changed when the server is restarted."""

    def __init__(self, url: str):
        self._url = url
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        with self._lock:
            return self._url

    @url.setter
    def url(self, value: str) -> None:
        with self._lock:
            self._url = value


@dataclass
class Ack:
    id: str
    stream: str
    position: int
    stream_version: int
    duplicate: bool  # the reply said "duplicate": a resent batch that was already committed


@dataclass
class ClientLog:
    """What one client thread saw."""

    worker: int
    acks: list[Ack] = field(default_factory=list)
    batches_acked: int = 0
    events_sent: set[str] = field(default_factory=set)  # ids of every batch ever sent
    outcomes: Counter = field(default_factory=Counter)  # "200", "503", "ConnectError", …
    unclean: list[str] = field(default_factory=list)  # replies that are neither 2xx nor a clean error
    cut: list[str] = field(default_factory=list)  # replies cut short (allowed after kill -9 only)
    failures: list[str] = field(default_factory=list)  # what makes the test fail at once
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acked_count(self) -> int:
        with self.lock:
            return self.batches_acked


def batch_for(worker: int, own_stream: str, version: list[int], rng: random.Random) -> list[dict]:
    """1–20 events: the client's own stream with exact expected versions (`noStream` first), and
    about one in four on a stream shared by every client with expectedVersion "any"."""
    events = []
    for _ in range(rng.randint(1, 20)):
        if version[0] < 0:
            events.append(opened_event(own_stream, id=str(uuid.UUID(int=rng.getrandbits(128), version=4))))
            version[0] = 0
        elif rng.random() < 0.25:
            events.append(
                call_event(
                    rng.choice(SHARED_STREAMS), expectedVersion="any",
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    data={"direction": "OUTBOUND", "line": "MOBILE", "outcome": "NO_ANSWER",
                          "durationSeconds": 0, "agent": f"a-{worker}"},
                )
            )
        else:
            events.append(
                call_event(own_stream, expectedVersion=version[0], id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            )
            version[0] += 1
    return events


def appender(worker: int, seed: int, target: Target, stop: threading.Event, log: ClientLog) -> None:
    """Appends batches until `stop`, resending the same batch after a connection error or a 5xx."""
    rng = random.Random(f"{seed}/{worker}")
    own_stream = f"{PLATFORM}/k{worker}/{uuid.UUID(int=rng.getrandbits(128), version=4).hex[:12]}"
    version = [-1]
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        while not stop.is_set():
            batch = batch_for(worker, own_stream, version, rng)
            with log.lock:
                log.events_sent.update(e["id"] for e in batch)
            started = time.monotonic()
            while True:
                if time.monotonic() - started > BATCH_DEADLINE:
                    log.failures.append(f"client {worker}: no 2xx for a batch within {BATCH_DEADLINE:.0f} s")
                    return
                try:
                    reply = client.post(target.url + "/v1/events", json=batch)
                except httpx.TransportError as error:
                    name = type(error).__name__
                    log.outcomes[name] += 1
                    if "complete message body" in str(error) or "incomplete" in str(error):
                        log.cut.append(f"client {worker}: a reply cut short: {error!r}")
                    time.sleep(0.02)
                    continue
                log.outcomes[str(reply.status_code)] += 1
                if reply.status_code >= 500:
                    if reply.status_code != 503:
                        log.unclean.append(f"client {worker}: {reply.status_code} {reply.text[:300]}")
                    time.sleep(0.02)
                    continue
                if reply.status_code != 200:
                    log.failures.append(f"client {worker}: {reply.status_code} for a resent batch: {reply.text[:500]}")
                    return
                body = reply.json()
                got = body["events"]
                if [e["id"] for e in got] != [e["id"] for e in batch]:
                    log.failures.append(f"client {worker}: the reply does not name the batch's ids: {body}")
                    return
                with log.lock:
                    log.acks += [Ack(e["id"], e["stream"], e["position"], e["streamVersion"], e["status"] == "duplicate") for e in got]
                    log.batches_acked += 1
                break


class Load:
    """16 appender threads against a Target."""

    def __init__(self, target: Target, seed: int):
        self.stop = threading.Event()
        self.logs = [ClientLog(worker) for worker in range(CLIENTS)]
        self.threads = [
            threading.Thread(target=appender, args=(w, seed, target, self.stop, self.logs[w]), daemon=True)
            for w in range(CLIENTS)
        ]

    def start(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def acked_batches(self) -> int:
        return sum(log.acked_count() for log in self.logs)

    def finish(self, timeout: float = BATCH_DEADLINE + 10) -> None:
        """Lets every client finish the batch it is on (until a 2xx), then stop."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        assert not alive, f"clients still running {timeout:.0f} s after they were told to stop: {alive}"

    def failures(self) -> list[str]:
        return [f for log in self.logs for f in log.failures]

    def unclean(self) -> list[str]:
        return [u for log in self.logs for u in log.unclean]

    def cut(self) -> list[str]:
        return [c for log in self.logs for c in log.cut]

    def outcomes(self) -> Counter:
        total = Counter()
        for log in self.logs:
            total.update(log.outcomes)
        return total

    def acks(self) -> list[Ack]:
        return [a for log in self.logs for a in log.acks]

    def sent_ids(self) -> set[str]:
        return set().union(*(log.events_sent for log in self.logs))


def wait_acked(load: Load, batches: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while load.acked_batches() < batches and time.monotonic() < deadline:
        time.sleep(0.05)


def check_log(ledger: Path, load: Load, context: str) -> list[dict]:
    """Every acknowledged event is in the log exactly once at its acknowledged position; the log
    holds nothing else but the PlatformOpened of `init`; positions are 1…head; verify passes."""
    logged = ledgerctl_ndjson("read", "--ledger", str(ledger))
    info = ledgerctl("info", "--ledger", str(ledger)).stdout.decode()
    head = int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("head position")))
    assert [e["position"] for e in logged] == list(range(1, len(logged) + 1)), f"{context}: positions have a gap"
    assert len(logged) == head, f"{context}: {len(logged)} events read but head is {head}"
    counts = Counter(e["id"] for e in logged)
    twice = [i for i, n in counts.items() if n > 1]
    assert not twice, f"{context}: {len(twice)} ids are in the log more than once, e.g. {twice[:5]}"
    by_id = {e["id"]: e for e in logged}
    acks = load.acks()
    lost = [a for a in acks if a.id not in by_id]
    assert not lost, f"{context}: {len(lost)} of {len(acks)} acknowledged events are not in the log, e.g. {lost[:3]}"
    moved = [(a, by_id[a.id]["position"], by_id[a.id]["streamVersion"]) for a in acks
             if (by_id[a.id]["position"], by_id[a.id]["streamVersion"], by_id[a.id]["stream"])
             != (a.position, a.stream_version, a.stream)]
    assert not moved, f"{context}: {len(moved)} acknowledged events are elsewhere in the log, e.g. {moved[:3]}"
    acked_ids = {a.id for a in acks}
    extra = [e for e in logged[1:] if e["id"] not in acked_ids]
    assert logged[0]["type"] == "PlatformOpened"
    sent = load.sent_ids()
    unknown = [e for e in extra if e["id"] not in sent]
    assert not unknown, f"{context}: events no client sent are in the log: {unknown[:3]}"
    result = ledgerctl("verify", "--ledger", str(ledger), check=False)
    assert result.returncode == 0, (
        f"{context}: ledgerctl verify exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    )
    return extra


# MARK: - kill -9


def kill_round(round_no: int, directory: Path, rng: random.Random) -> dict:
    ledger = init_empty(directory, platform=PLATFORM)
    run = directory / "run"
    first = launch(ledger, run)
    target = Target(first.url)
    load = Load(target, rng.randrange(1 << 32)).start()
    try:
        delay = rng.uniform(1.0, 3.0)
        time.sleep(delay)
        acked_at_kill = load.acked_batches()
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        first.stop()
        context = f"kill round {round_no} (seed {SEED}, killed after {delay:.2f} s)"
        assert first.proc.returncode == -signal.SIGKILL, f"{context}: ledgerd exited {first.proc.returncode} before the kill"
        assert acked_at_kill > 0, f"{context}: no batch was acknowledged before the kill:\n{first.stderr()}"
        restarted_at = time.monotonic()
        second = launch(ledger, run)
        try:
            target.url = second.url
            # The clients resend what was in flight, then append for a while on the new server.
            wait_acked(load, acked_at_kill + 2 * CLIENTS, timeout=10)
            load.finish()
            assert not load.failures(), f"{context}: {load.failures()[:5]}"
            assert not load.unclean(), f"{context}: {load.unclean()[:5]}"
            with httpx.Client(base_url=second.url, timeout=10) as client:
                served_head = client.get("/v1/events", params={"limit": 1}).json()["head"]
            recovered = time.monotonic() - restarted_at
        finally:
            status = second.stop()
        assert status == 0, f"{context}: the restarted ledgerd exited {status} at SIGTERM:\n{second.stderr()}"
        extra = check_log(ledger, load, context)
        assert not extra, (
            f"{context}: every batch sent was acknowledged in the end, yet {len(extra)} logged events were not: {extra[:3]}"
        )
        acks = load.acks()
        assert served_head == len(acks) + 1, f"{context}: the restarted server's head {served_head}, acks {len(acks)}"
        outcomes = load.outcomes()
        errors = sum(n for k, n in outcomes.items() if not k.isdigit())
        resent = sum(1 for a in acks if a.duplicate)
        print(
            f"kill round {round_no}: killed after {delay:.2f} s with {acked_at_kill} batches acknowledged; "
            f"{len(acks)} events in {load.acked_batches()} batches acknowledged, each once "
            f"({resent} acknowledged as duplicates of a commit whose reply was lost); {errors} connection errors retried ({len(load.cut())} replies cut short); recovered in {recovered:.2f} s; verify ok"
        )
        shutil.rmtree(directory, ignore_errors=True)
        return {"events": len(acks), "batches": load.acked_batches(), "errors": errors, "resent": resent}
    finally:
        load.stop.set()


def test_kill_9_under_16_retrying_clients_loses_no_acknowledged_event_and_stores_none_twice(tmp_path):
    rng = random.Random(SEED)
    started = time.monotonic()
    total = Counter()
    for round_no in range(1, KILL_ROUNDS + 1):
        total.update(kill_round(round_no, tmp_path / f"round-{round_no}", rng))
    errors = total["errors"]
    print(
        f"kill -9 summary: {KILL_ROUNDS} rounds, {total['events']} acknowledged events in {total['batches']} batches "
        f"({total['resent']} acknowledged as duplicates after a lost reply), {errors} connection errors retried, "
        f"lost 0, twice 0, verify failures 0, {time.monotonic() - started:.1f} s (seed {SEED})"
    )
    assert errors > 0, "no client ever saw the server die: the kills did not interrupt appends"


# MARK: - SIGTERM


def test_sigterm_under_16_appenders_finishes_in_flight_keeps_acknowledged_closes_subscriber(tmp_path):
    ledger = init_empty(tmp_path / "term", platform=PLATFORM)
    run = tmp_path / "run"
    srv = launch(ledger, run, "--heartbeat-seconds", "0.5")
    target = Target(srv.url)
    messages: list[dict] = []
    sub_ready = threading.Event()
    sub_end: list[str] = []

    def subscriber() -> None:
        try:
            with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(20.0)) as c:
                with c.stream("GET", "/v1/subscribe") as response:
                    for message in sse_events(response):
                        if message.get("event") == "caught-up":
                            sub_ready.set()
                        if "comment" not in message and "id" not in message:
                            messages.append(message)
                        elif "id" in message:
                            messages.append({"id": message["id"]})
            sub_end.append("ended")
        except httpx.HTTPError as error:
            sub_end.append(f"error: {error!r}")
        finally:
            sub_ready.set()

    sub_thread = threading.Thread(target=subscriber, daemon=True)
    sub_thread.start()
    assert sub_ready.wait(10), "the subscriber did not catch up"
    load = Load(target, SEED).start()
    try:
        wait_acked(load, 3 * CLIENTS, timeout=20)
        acked_before = load.acked_batches()
        assert acked_before >= 3 * CLIENTS, "the clients did not get going"
        srv.proc.send_signal(signal.SIGTERM)
        termed_at = time.monotonic()
        try:
            status = srv.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        took = time.monotonic() - termed_at
        acked_at_exit = load.acked_batches()
        srv.stop()
        assert status == 0, (
            f"ledgerd did not exit 0 within 10 s of SIGTERM under 16 appenders (status {status}):\n{srv.stderr()[-3000:]}"
        )
        sub_thread.join(5)
        assert not sub_thread.is_alive(), "the subscription did not end with the server"
        events = [m.get("event") for m in messages if "event" in m]
        assert "closed" in events, f"no closing event for the subscriber before its end ({sub_end}); events {events}"
        closed = next(m for m in messages if m.get("event") == "closed")
        assert closed["data"]["reason"], closed
        ids = [int(m["id"]) for m in messages if "id" in m]
        assert ids and closed["data"]["lastEventId"] == ids[-1], (closed, ids[-3:])
        assert messages[-1].get("event") == "closed", f"something after the closing event: {messages[-3:]}"
        assert not load.failures(), load.failures()[:5]
        assert not load.unclean(), f"replies that were neither 2xx nor a clean error: {load.unclean()[:5]}"
        assert not load.cut(), f"appends in flight at SIGTERM whose reply was cut short: {load.cut()[:5]}"
        # Everything acknowledged by the stopped server is in the log.
        check_log(ledger, load, "after SIGTERM")
        # Restarted, the clients resend what failed and go on; then every batch sent is in, once.
        second = launch(ledger, run)
        target.url = second.url
        wait_acked(load, acked_at_exit + CLIENTS, timeout=10)
        load.finish()
        assert second.stop() == 0
        assert not load.failures(), load.failures()[:5]
        extra = check_log(ledger, load, "after the restart")
        assert not extra, f"{len(extra)} logged events were never acknowledged: {extra[:3]}"
        print(
            f"SIGTERM: exit 0 in {took:.2f} s with {acked_at_exit} batches acknowledged; outcomes {dict(load.outcomes())}"
        )
    finally:
        load.stop.set()


# MARK: - Slow and half-open connections


def test_half_open_connections_time_out_in_bounded_memory_while_livez_answers(tmp_path):
    srv = launch(init_empty(tmp_path / "half", platform=PLATFORM), tmp_path / "run", "--idle-timeout-seconds", "2")
    try:
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            for _ in range(20):  # warm up the allocator and the event loops
                assert c.get("/livez").status_code == 200
        time.sleep(0.5)
        rss_before, fds_before = rss_kib(srv.pid), open_fds(srv.pid)
        half = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                f"Content-Type: application/json\r\nContent-Len").encode()
        sockets: dict[socket.socket, float] = {}
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            sock.sendall(half)
            sock.setblocking(False)
            sockets[sock] = time.monotonic()
        opened = time.monotonic()
        closed_after: list[float] = []
        received = bytearray()
        rss_peak = rss_kib(srv.pid)
        livez: list[float] = []
        pending = set(sockets)
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            while pending and time.monotonic() - opened < 15:
                readable, _, _ = select.select(list(pending), [], [], 0.2)
                for sock in readable:
                    try:
                        chunk = sock.recv(4096)
                    except (ConnectionResetError, BlockingIOError) as error:
                        chunk = b"" if isinstance(error, ConnectionResetError) else None
                    if chunk is None:
                        continue
                    received += chunk
                    if not chunk:
                        closed_after.append(time.monotonic() - sockets[sock])
                        pending.discard(sock)
                rss_peak = max(rss_peak, rss_kib(srv.pid))
                asked = time.monotonic()
                assert c.get("/livez").status_code == 200
                livez.append(time.monotonic() - asked)
        fds_peak_note = open_fds(srv.pid)
        for sock in sockets:
            sock.close()
        assert not pending, (
            f"{len(pending)} of 200 half-open connections still open {time.monotonic() - opened:.1f} s later "
            f"(idle timeout 2 s); {len(closed_after)} closed"
        )
        assert min(closed_after) >= 1.5, f"a half-open connection was closed after {min(closed_after):.2f} s already"
        assert max(closed_after) <= 6, f"a half-open connection took {max(closed_after):.2f} s to be closed"
        assert max(livez) < 1.0, f"/livez took {max(livez):.2f} s while half-open connections were held"
        grew = (rss_peak - rss_before) / 1024
        assert grew < 30, f"ledgerd's RSS grew by {grew:.1f} MiB for 200 half-open connections"
        time.sleep(0.5)
        assert open_fds(srv.pid) <= fds_before + 2, (
            f"ledgerd holds {open_fds(srv.pid)} descriptors, {fds_before} before (peak {fds_peak_note})"
        )
        print(f"half-open: 200 closed after {min(closed_after):.2f}–{max(closed_after):.2f} s, RSS +{grew:.1f} MiB, "
              f"/livez max {max(livez) * 1000:.0f} ms, replies seen {bytes(received[:80])!r}")
    finally:
        assert srv.stop() == 0


def test_request_body_that_stops_halfway_times_out_and_frees_the_connection(tmp_path):
    srv = launch(init_empty(tmp_path / "body", platform=PLATFORM), tmp_path / "run", "--idle-timeout-seconds", "2")
    try:
        fds_before = open_fds(srv.pid)
        sockets = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            sock.sendall(
                f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: 1000\r\n\r\n[{{\"id\":".encode()
            )
            sockets.append(sock)
        opened = time.monotonic()
        outcome = []
        for sock in sockets:
            sock.settimeout(max(0.1, opened + 10 - time.monotonic()))
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
                outcome.append(("closed", time.monotonic() - opened, data[:60]))
            except ConnectionResetError:
                outcome.append(("reset", time.monotonic() - opened, data[:60]))
            except socket.timeout:
                outcome.append(("open", time.monotonic() - opened, data[:60]))
            sock.close()
        still_open = [o for o in outcome if o[0] == "open"]
        assert not still_open, (
            f"{len(still_open)} of 50 connections whose body stopped halfway were still open 10 s later "
            f"(idle timeout 2 s), e.g. {still_open[:2]}"
        )
        time.sleep(0.5)
        assert open_fds(srv.pid) <= fds_before + 2
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            assert c.get("/v1/events", params={"limit": 1}).json()["head"] == 1, "part of a body was appended"
    finally:
        assert srv.stop() == 0


def test_headers_trickled_a_byte_at_a_time_are_cut_off_by_the_idle_timeout(tmp_path):
    """A slow client (slowloris) that sends a byte of headers every half second, never a whole
    request: the connection is closed about --idle-timeout-seconds after it opened, not kept alive by
    the trickle (a header that is not complete counts as nothing received)."""
    srv = launch(init_empty(tmp_path / "trickle", platform=PLATFORM), tmp_path / "run", "--idle-timeout-seconds", "2")
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        request = f"GET /livez HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nX-Pad: {'a' * 100}".encode()
        opened = time.monotonic()
        closed_after = None
        for byte in request:
            try:
                sock.send(bytes([byte]))
                readable, _, _ = select.select([sock], [], [], 0.5)
                if readable and not sock.recv(4096):
                    closed_after = time.monotonic() - opened
                    break
            except (ConnectionResetError, BrokenPipeError):
                closed_after = time.monotonic() - opened
                break
            if time.monotonic() - opened > 10:
                break
        sock.close()
        assert closed_after is not None, "a connection trickling header bytes was still open after 10 s (idle timeout 2 s)"
        assert 1.5 <= closed_after <= 5, f"the trickling connection was closed after {closed_after:.1f} s"
    finally:
        assert srv.stop() == 0


def test_stalled_subscriber_that_never_reads_is_closed_in_bounded_memory(ledger, tmp_path):
    srv = launch(ledger, tmp_path / "run", "--subscriber-buffer", "50", "--slow-subscriber-seconds", "1",
                 "--stalled-subscriber-seconds", "3")
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            top = c.get("/v1/events", params={"limit": 1}).json()["head"]
            assert top >= 20_000
            for _ in range(5):
                c.get("/v1/events", params={"limit": 1000})  # warm up
            assert metric(c.get("/metrics").text, "ledgerd_subscribers") == 0
            rss_before = rss_kib(srv.pid)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", srv.port))
            client_port = sock.getsockname()[1]
            sock.sendall(f"GET /v1/subscribe?from=1 HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
            started = time.monotonic()
            rss_peak, seen, gone_after = rss_before, 0, None
            while time.monotonic() - started < 20:
                rss_peak = max(rss_peak, rss_kib(srv.pid))
                subscribers = metric(c.get("/metrics").text, "ledgerd_subscribers")
                seen = max(seen, subscribers)
                if seen and subscribers == 0 and not server_holds_connection(srv.pid, srv.port, client_port):
                    gone_after = time.monotonic() - started
                    break
                time.sleep(0.2)
            assert seen == 1, "the stalled subscriber was never counted"
            assert gone_after is not None, (
                f"a subscriber that never reads was still served {time.monotonic() - started:.0f} s later "
                f"(stalled after 3 s): ledgerd_subscribers {subscribers}, connection held by ledgerd: "
                f"{server_holds_connection(srv.pid, srv.port, client_port)}"
            )
            assert gone_after <= 10, f"the stalled subscriber was closed only after {gone_after:.1f} s"
            # Reading now: what was in the kernel's buffers, then the end of the connection.
            sock.settimeout(10)
            received, ended = 0, False
            try:
                while chunk := sock.recv(1 << 16):
                    received += len(chunk)
                ended = True
            except ConnectionResetError:
                ended = True
            except socket.timeout:
                pass
            sock.close()
            assert ended, f"the connection did not end (read {received} bytes, then nothing for 10 s)"
            assert received < 40 << 20, f"{received} bytes were queued for a client that never read"
            grew = (rss_peak - rss_before) / 1024
            assert grew < 30, f"ledgerd's RSS grew by {grew:.1f} MiB for one stalled subscriber"
            assert c.get("/livez").status_code == 200
            print(f"stalled subscriber: closed after {gone_after:.1f} s, {received} bytes were in flight, "
                  f"RSS +{grew:.1f} MiB")
    finally:
        assert srv.stop() == 0
