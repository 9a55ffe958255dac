#!/usr/bin/env python3
"""ledgerd on loopback, for the benchmark suite (workload 9; docs/benchmarks.md).

Starts the release ledgerd on a fresh ledger and measures, each in the same run as the suite's
in-process group commit (workload 2):
  - 64 concurrent clients, one event per request, each waiting for its durable reply (wrk);
  - 100 events per request (wrk, 16 clients);
  - 100 SSE subscribers while a client appends 5 000 events/s: every subscriber must get every
    event in order; the delivery lag (receipt time minus the event's recordedAt) is sampled.
Client and server CPU seconds are reported for each. Figures go to LEDGER_BENCH_SUMMARY as JSON
lines (the suite's format) and are printed.

Then, unless LEDGER_BENCH_TLS=0, the two append workloads again through the Swift client
Benchmarks/Tools/http-load (async-http-client), over plain HTTP and over mutual TLS in turn: what TLS costs;
and the 100 SSE subscribers again over mutual TLS (each presenting a platform's certificate).

Then, unless LEDGER_BENCH_REPLICATION=0, workload 10: the 64-client workload again on fresh ledgers,
without replication, with asynchronous and with synchronous replication (--replication-mode sync)
to a throwaway PostgreSQL 15 on loopback at default durability (initdb as Debian's `postgres` user
in a temporary directory, stopped and removed at the end); the ratio synchronous ÷ none.

Environment: LEDGERD (binary, default .build/release/ledgerd), LEDGERCTL (default beside LEDGERD),
HTTP_LOAD (default Benchmarks/.build/release/http-load), LEDGER_BENCH_DIR, LEDGER_BENCH_HTTP_SECONDS
(default 15 per wrk run), LEDGER_BENCH_SSE_SECONDS (default 15), LEDGER_BENCH_SSE_SUBSCRIBERS (100),
LEDGER_BENCH_SSE_RATE (5000 events/s).
"""
import asyncio
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEDGERD = os.environ.get("LEDGERD", os.path.join(ROOT, ".build/release/ledgerd"))
SUMMARY = os.environ.get("LEDGER_BENCH_SUMMARY")
SECONDS = int(os.environ.get("LEDGER_BENCH_HTTP_SECONDS", "15"))
SSE_SECONDS = int(os.environ.get("LEDGER_BENCH_SSE_SECONDS", "15"))
SUBSCRIBERS = int(os.environ.get("LEDGER_BENCH_SSE_SUBSCRIBERS", "100"))
RATE = int(os.environ.get("LEDGER_BENCH_SSE_RATE", "5000"))
TICKS = os.sysconf("SC_CLK_TCK")
HTTP_LOAD = os.environ.get("HTTP_LOAD", os.path.join(ROOT, "Benchmarks/.build/release/http-load"))
LEDGERCTL = os.environ.get("LEDGERCTL", os.path.join(os.path.dirname(LEDGERD), "ledgerctl"))


def record(workload, contender, metric, value, unit):
    print(f"  {workload} | {contender} | {metric}: {value:.2f} {unit}", flush=True)
    if SUMMARY:
        with open(SUMMARY, "a") as f:
            f.write(json.dumps({"workload": workload, "contender": contender, "metric": metric,
                                "value": float(value), "unit": unit}) + "\n")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    def __init__(self, directory, credentials=None, extra=()):
        self.directory = directory
        ledger = os.path.join(directory, "http.ledger")
        port_file = os.path.join(directory, "port")
        self.log = open(os.path.join(directory, "ledgerd.log"), "w")
        security = ["--credentials", credentials] if credentials else ["--insecure-loopback"]
        self.process = subprocess.Popen(
            [LEDGERD, *security, "--ledger", ledger, "--port", "0", "--port-file", port_file, "--log-level", "warning",
             *extra],
            stdout=self.log, stderr=self.log)
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.process.poll() is not None:
                raise SystemExit(f"ledgerd exited with {self.process.returncode}")
            time.sleep(0.05)
        else:
            raise SystemExit("ledgerd did not start within 30 s")
        self.port = int(open(port_file).read())
        self.url = f"https://localhost:{self.port}" if credentials else f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wrk(server, connections, batch, seconds):
    """Runs wrk; returns (requests/s, latency percentiles in ms, client CPU s, server CPU s)."""
    before = cpu_seconds(server.process.pid)
    env = dict(os.environ, LEDGERD_BATCH=str(batch))
    start = os.times()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-s", os.path.join(os.path.dirname(__file__), "append.lua"), server.url],
        env=env, capture_output=True, text=True, check=True)
    end = os.times()
    client = (end.children_user - start.children_user) + (end.children_system - start.children_system)
    server_cpu = cpu_seconds(server.process.pid) - before
    text = out.stdout
    if "Non-2xx" in text or out.stderr.strip():
        print(text, out.stderr, file=sys.stderr)
        raise SystemExit("wrk saw errors")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    latencies = {}
    for p, value, unit in re.findall(r"\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\b", text):
        factor = {"us": 0.001, "ms": 1, "s": 1000}[unit]
        latencies[p] = float(value) * factor
    return rps, latencies, client, server_cpu


def http_load(server, connections, batch, seconds, certificate=None):
    """Runs the Swift load client (it presents a client certificate, which wrk cannot); returns
    (events/s, p50 ms, p99 ms, client CPU s, server CPU s)."""
    before = cpu_seconds(server.process.pid)
    start = os.times()
    args = [HTTP_LOAD, server.url, "--connections", str(connections), "--events", str(batch),
            "--seconds", str(seconds)]
    if certificate:
        args += ["--ca", certificate["ca"], "--cert", certificate["cert"], "--key", certificate["key"]]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    end = os.times()
    client = (end.children_user - start.children_user) + (end.children_system - start.children_system)
    server_cpu = cpu_seconds(server.process.pid) - before
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"http-load saw {result['errors']:.0f} errors: {out.stderr[-500:]}")
    return result["eventsPerSecond"], result["p50ms"], result["p99ms"], client, server_cpu


def tls_cost(base):
    """The append workloads through the same client (http-load) over plain HTTP and over mutual
    TLS, one after the other in this run: what TLS costs."""
    credentials = os.path.join(base, "credentials")
    subprocess.run([LEDGERCTL, "credentials", "init", "--dir", credentials], check=True, capture_output=True)
    subprocess.run([LEDGERCTL, "credentials", "issue", "--dir", credentials, "--role", "platform", "--name", "cpam-34"],
                   check=True, capture_output=True)
    subprocess.run([LEDGERCTL, "credentials", "issue", "--dir", credentials, "--role", "administrator",
                    "--name", "bench-admin"], check=True, capture_output=True)
    administrator = {"ca": os.path.join(credentials, "ca.pem"),
                     "cert": os.path.join(credentials, "clients", "bench-admin.pem"),
                     "key": os.path.join(credentials, "clients", "bench-admin.key")}
    certificate = {"ca": os.path.join(credentials, "ca.pem"),
                   "cert": os.path.join(credentials, "clients", "cpam-34.pem"),
                   "key": os.path.join(credentials, "clients", "cpam-34.key")}
    for connections, batch in ((64, 1), (16, 100)):
        w = f"9 ledgerd, {connections} clients, {batch} event{'s' if batch > 1 else ''}/request, http-load"
        figures = {}
        for name, creds in (("plain HTTP", None), ("mutual TLS", credentials)):
            directory = tempfile.mkdtemp(prefix="ledgerd-bench-", dir=base)
            server = Server(directory, creds)
            try:
                eps, p50, p99, client, server_cpu = http_load(
                    server, connections, batch, SECONDS, certificate if creds else None)
            finally:
                server.stop()
                shutil.rmtree(directory, ignore_errors=True)
            figures[name] = eps
            record(w, name, "events/s", eps, "events/s")
            record(w, name, "p50", p50 * 1000, "µs")
            record(w, name, "p99", p99 * 1000, "µs")
            record(w, name, "server CPU", server_cpu / SECONDS, "cores")
            record(w, name, "client CPU (http-load)", client / SECONDS, "cores")
        record(w, "mutual TLS ÷ plain HTTP", "events/s ratio", figures["mutual TLS"] / figures["plain HTTP"], "×")
    directory = tempfile.mkdtemp(prefix="ledgerd-bench-", dir=base)
    server = Server(directory, credentials)
    try:
        record_sse(f"9 ledgerd SSE over mutual TLS, {SUBSCRIBERS} subscribers, appends at {RATE} events/s",
                   "mutual TLS", sse(server, certificate, administrator))
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def record_sse(w, contender, figures):
    total, complete, p50, p99, client, server_cpu = figures
    record(w, contender, "events appended", total, "events")
    record(w, contender, "subscribers with every event in order", complete, "subscribers")
    record(w, contender, "lag p50", p50, "ms")
    record(w, contender, "lag p99", p99, "ms")
    record(w, contender, "server CPU", server_cpu, "cores")
    record(w, contender, "client CPU (Python)", client, "cores")


def post(connection, body):
    connection.request("POST", "/v1/events", body=body.encode(), headers={"Content-Type": "application/x-ndjson"})
    reply = connection.getresponse()
    data = reply.read()
    if reply.status != 200:
        raise SystemExit(f"append failed: {reply.status} {data[:300]!r}")


def event_line(stream, n):
    return json.dumps({"id": str(uuid.uuid4()), "stream": stream, "type": "CallPlaced", "platform": "cpam-34",
                       "occurredAt": "2021-03-01T09:00:00Z",
                       "data": {"direction": "OUTBOUND", "line": "MOBILE", "outcome": "REACHED"}})


FIRST_ID = re.compile(rb"\nid: (\d+)\n")
LAST_ID = re.compile(rb"(?s).*\nid: (\d+)\n")
RECORDED = re.compile(rb'"recordedAt":"([^"]+)"')


class Live:
    """Counts the subscribers that have reached the head (their `caught-up` event), so that the
    appender starts only once every subscriber is live: a subscriber still in its TLS handshake would
    otherwise count its catch-up as delivery lag. `stop_at` moves to a few seconds after the last
    append."""

    def __init__(self, subscribers, limit):
        self.lock = threading.Lock()
        self.count = 0
        self.subscribers = subscribers
        self.all_live = threading.Event()
        self.stop_at = time.time() + limit

    def caught_up(self):
        with self.lock:
            self.count += 1
            if self.count == self.subscribers:
                self.all_live.set()


async def subscriber(port, start, live, results, index, context=None):
    if context:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, limit=1 << 22, ssl=context, server_hostname="localhost")
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    writer.write(f"GET /v1/subscribe?from={start} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    expected = start
    in_order = True
    lags = []
    tail = b""
    waiting = True
    while time.time() < live.stop_at:
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 20), timeout=min(max(live.stop_at - time.time(), 0.01), 0.5))
        except asyncio.TimeoutError:
            continue
        if not chunk:
            break
        now = time.time()
        data = tail + chunk
        if waiting and b"event: caught-up" in data:
            waiting = False
            live.caught_up()
        cut = data.rfind(b"\n\n")
        if cut < 0:
            tail = data
            continue
        complete, tail = data[:cut + 2], data[cut + 2:]
        # Cheap enough for one Python process to follow 100 streams: count the ids of the block and
        # read its first and last; gapless and in order means last - first + 1 == count == what we
        # expected next. (Chunked transfer encoding puts size lines between blocks, never inside one.)
        block = b"\n" + complete
        count = block.count(b"\nid: ")
        if count:
            first = int(FIRST_ID.search(block).group(1))
            last = int(LAST_ID.search(block).group(1))
            if first != expected or last - first + 1 != count:
                in_order = False
            expected = last + 1
            stamp = RECORDED.findall(block[block.rfind(b"\nid: "):])
            if stamp:
                recorded = datetime.datetime.fromisoformat(stamp[-1].decode().replace("Z", "+00:00")).timestamp()
                lags.append((now - recorded) * 1000)
    writer.close()
    results[index] = (expected - start, in_order, lags)


def tls_context(certificate):
    """Trusts the deployment's CA and presents the client certificate."""
    context = ssl.create_default_context(cafile=certificate["ca"])
    context.load_cert_chain(certificate["cert"], certificate["key"])
    return context


def sse(server, certificate=None, subscriber_certificate=None):
    """100 subscribers while one client appends; over mutual TLS when `certificate` is given (the
    appender, a platform, presents it; the subscribers present `subscriber_certificate`, an
    administrator's, so that they follow the whole log as over plain HTTP). CPU is counted from the
    moment every subscriber is live to the last append."""
    context = tls_context(certificate) if certificate else None
    follow = tls_context(subscriber_certificate) if subscriber_certificate else context

    # Requests wrk left in flight may still commit: start once the head has stopped moving.
    def current_head():
        return json.load(urllib.request.urlopen(server.url + "/v1/events?limit=1", context=follow))["head"]

    head = current_head()
    while True:
        time.sleep(0.5)
        now = current_head()
        if now == head:
            break
        head = now
    start = head + 1
    live = Live(SUBSCRIBERS, SSE_SECONDS + 60)
    results = [None] * SUBSCRIBERS
    appended = [0]

    failure = []

    def appender():
        try:
            append()
        except BaseException as error:  # reported after the subscribers end
            failure.append(error)
        live.stop_at = time.time() + 3  # the last events reach every subscriber well within this

    window = {}

    def append():
        if not live.all_live.wait(30):
            raise SystemExit(f"only {live.count} of {SUBSCRIBERS} subscribers reached the head within 30 s")
        window["start"] = (time.time(), os.times(), cpu_seconds(server.process.pid))
        if context:
            connection = http.client.HTTPSConnection("localhost", server.port, timeout=30, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        per_request = max(RATE // 20, 1)
        t0 = time.time()
        n = 0
        while time.time() < t0 + SSE_SECONDS:
            # The platform's own streams: over mutual TLS the appender is platform cpam-34.
            body = "\n".join(event_line(f"cpam-34/sse/{n % 100}", n) for _ in range(per_request))
            post(connection, body)
            n += 1
            appended[0] += per_request
            delay = t0 + n * per_request / RATE - time.time()
            if delay > 0:
                time.sleep(delay)
        window["end"] = (time.time(), os.times(), cpu_seconds(server.process.pid))

    async def main():
        await asyncio.gather(
            *(subscriber(server.port, start, live, results, i, follow) for i in range(SUBSCRIBERS)),
            return_exceptions=True)
        live.all_live.set()  # a subscriber that failed must not leave the appender waiting

    thread = threading.Thread(target=appender)
    thread.start()
    asyncio.run(main())
    thread.join()
    if failure:
        raise SystemExit(f"the SSE appender failed: {failure[0]!r}")
    (wall0, cpu0, server0), (wall1, cpu1, server1) = window["start"], window["end"]
    elapsed = wall1 - wall0
    server_cpu = server1 - server0
    client_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    total = appended[0]
    if total == 0:
        raise SystemExit("the SSE appender appended nothing")
    complete = sum(1 for r in results if r and r[0] == total and r[1])
    if os.environ.get("LEDGER_BENCH_DEBUG"):
        print("received, in order:", [(r[0], r[1]) for r in results if r], "total", total, file=sys.stderr)
    lags = sorted(l for r in results if r for l in r[2])
    p = lambda q: lags[min(int(q / 100 * len(lags)), len(lags) - 1)] if lags else float("nan")
    return total, complete, p(50), p(99), client_cpu / elapsed, server_cpu / elapsed


class Postgres:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1, default durability, trust for the role bench."""

    BIN = "/usr/lib/postgresql/15/bin"

    def __init__(self):
        if not os.path.exists(f"{self.BIN}/initdb"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql-15"], check=True, capture_output=True)
        # In the system's temporary directory, not `base`: the server's user must be able to reach it
        # (CI's work directory is private to root).
        self.directory = tempfile.mkdtemp(prefix="ledgerd-bench-postgres-")
        shutil.chown(self.directory, "postgres")
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = os.path.join(self.directory, "data")
        result = subprocess.run(
            [*self.as_user, f"{self.BIN}/initdb", "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8"],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"initdb failed in {data}: {result.stderr.strip()}")
        subprocess.run([*self.as_user, f"{self.BIN}/pg_ctl", "-D", data, "-l", os.path.join(self.directory, "log"),
                        "-w", "-t", "60", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.directory}",
                        "start"], check=True, capture_output=True)
        self.url = f"postgres://bench@127.0.0.1:{self.port}/postgres"

    def stop(self):
        data = os.path.join(self.directory, "data")
        for mode in ("fast", "immediate"):
            if subprocess.run([*self.as_user, f"{self.BIN}/pg_ctl", "-D", data, "-m", mode, "-w", "-t", "30", "stop"],
                              capture_output=True).returncode == 0:
                break
        shutil.rmtree(self.directory, ignore_errors=True)


def replication_cost(base):
    """Workload 10: 64 clients, one event per request, without replication, then replicating
    asynchronously and synchronously to PostgreSQL on loopback; each on a fresh ledger."""
    w = "10 ledgerd replicating to PostgreSQL, 64 clients, 1 event/request"
    postgres = Postgres()
    figures = {}
    try:
        for name, extra in (("no replication", ()),
                            ("asynchronous", ("--replicate-to", postgres.url, "--replication-mode", "async")),
                            ("synchronous", ("--replicate-to", postgres.url, "--replication-mode", "sync"))):
            directory = tempfile.mkdtemp(prefix="ledgerd-bench-", dir=base)
            server = Server(directory, extra=extra)
            try:
                wait_ready(server)
                rps, lat, client, server_cpu = wrk(server, 64, 1, SECONDS)
            finally:
                server.stop()
                shutil.rmtree(directory, ignore_errors=True)
            figures[name] = rps
            record(w, name, "events/s", rps, "events/s")
            record(w, name, "p50", lat.get("50", 0) * 1000, "µs")
            record(w, name, "p99", lat.get("99", 0) * 1000, "µs")
            record(w, name, "server CPU", server_cpu / SECONDS, "cores")
        record(w, "synchronous ÷ no replication", "events/s ratio",
               figures["synchronous"] / figures["no replication"], "×")
    finally:
        postgres.stop()


def wait_ready(server):
    for _ in range(600):
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("ledgerd did not become ready within 30 s")


def main():
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    base = os.environ.get("LEDGER_BENCH_DIR") or tempfile.gettempdir()
    directory = tempfile.mkdtemp(prefix="ledgerd-bench-", dir=base)
    server = Server(directory)
    try:
        w = "9 ledgerd over HTTP, 64 clients, 1 event/request"
        rps, lat, client, server_cpu = wrk(server, 64, 1, SECONDS)
        record(w, "ledgerd", "events/s", rps, "events/s")
        record(w, "ledgerd", "p50", lat.get("50", 0) * 1000, "µs")
        record(w, "ledgerd", "p99", lat.get("99", 0) * 1000, "µs")
        record(w, "ledgerd", "server CPU", server_cpu / SECONDS, "cores")
        record(w, "ledgerd", "client CPU (wrk)", client / SECONDS, "cores")
        w = "9 ledgerd over HTTP, 16 clients, 100 events/request"
        rps, lat, client, server_cpu = wrk(server, 16, 100, SECONDS)
        record(w, "ledgerd", "events/s", rps * 100, "events/s")
        record(w, "ledgerd", "p99", lat.get("99", 0) * 1000, "µs")
        record(w, "ledgerd", "server CPU", server_cpu / SECONDS, "cores")
        record(w, "ledgerd", "client CPU (wrk)", client / SECONDS, "cores")
        record_sse(f"9 ledgerd SSE, {SUBSCRIBERS} subscribers, appends at {RATE} events/s", "ledgerd", sse(server))
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get("LEDGER_BENCH_TLS", "1") != "0":
        tls_cost(base)
    if os.environ.get("LEDGER_BENCH_REPLICATION", "1") != "0":
        replication_cost(base)


if __name__ == "__main__":
    main()
