"""Fixtures for the real-client tests of ledgerd (pytest + httpx + curl).

Each test module gets a fresh small ledger (`ledgerctl simulate --scale 0.003`, about 21 000
events) and a ledgerd serving it on 127.0.0.1, port 0, told through --port-file. Tests that need a
server with other options (a small body limit, fast heartbeats, a small subscriber buffer) start
one with the `start_server` fixture; every server is stopped at the end (SIGTERM, then SIGKILL
after a bounded wait), whatever happened in the test.

Binaries: $LEDGERD and $LEDGERCTL, else .build/debug/ledgerd and .build/debug/ledgerctl under the
repository root. Nothing is built here.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
LEDGERD = os.environ.get("LEDGERD", str(REPO / ".build" / "debug" / "ledgerd"))
LEDGERCTL = os.environ.get("LEDGERCTL", str(REPO / ".build" / "debug" / "ledgerctl"))

READY_TIMEOUT = 60.0  # seconds a server may take to answer 200 on /readyz
STOP_TIMEOUT = 10.0  # seconds a server may take to exit after SIGTERM before it is killed

_running: list["Server"] = []


def ledgerctl(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ledgerctl; returns the completed process (stdout as bytes)."""
    result = subprocess.run([LEDGERCTL, *args], capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"ledgerctl {' '.join(args)} exited {result.returncode}\n"
            f"stderr:\n{result.stderr.decode(errors='replace')}"
        )
    return result


def ledgerctl_ndjson(*args: str) -> list[dict]:
    """The NDJSON that ledgerctl prints, parsed line by line."""
    out = ledgerctl(*args).stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@dataclass
class Server:
    """A running ledgerd."""

    ledger: Path
    proc: subprocess.Popen
    port: int
    stderr_path: Path
    args: list[str] = field(default_factory=list)
    # The credentials directory of a TLS server (None: --insecure-loopback, plain HTTP).
    credentials: Path | None = None

    @property
    def url(self) -> str:
        if self.credentials:
            return f"https://localhost:{self.port}"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr)"

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; returns the exit status."""
        if self in _running:
            _running.remove(self)
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        return self.proc.returncode


def launch(ledger: Path, workdir: Path, *extra: str) -> Server:
    """Starts ledgerd on `ledger` and waits (at most READY_TIMEOUT) for /readyz to answer 200."""
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.monotonic_ns()}"
    port_file = workdir / f"port-{stamp}"
    stderr_path = workdir / f"ledgerd-{stamp}.stderr"
    args = [
        LEDGERD, "--ledger", str(ledger), "--host", "127.0.0.1", "--port", "0",
        "--port-file", str(port_file), "--log-level", "warning",
        *(extra if "--credentials" in extra else ("--insecure-loopback", *extra)),
    ]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    credentials = Path(extra[extra.index("--credentials") + 1]) if "--credentials" in extra else None
    server = Server(
        ledger=ledger, proc=proc, port=0, stderr_path=stderr_path, args=args, credentials=credentials
    )
    # A TLS server's /readyz needs no client certificate: the CA is enough to trust it.
    verify = ssl.create_default_context(cafile=str(credentials / "ca.pem")) if credentials else True
    _running.append(server)
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"ledgerd exited with status {proc.returncode} before it was ready\n"
                    f"command: {' '.join(args)}\nstderr:\n{server.stderr()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"ledgerd was not ready within {READY_TIMEOUT:.0f} s (last: {last})\n"
                    f"command: {' '.join(args)}\nstderr:\n{server.stderr()}"
                )
            if server.port == 0 and port_file.exists():
                text = port_file.read_text().strip()
                if text.isdigit():
                    server.port = int(text)
            if server.port:
                try:
                    reply = httpx.get(server.url + "/readyz", timeout=2, verify=verify)
                    last = f"/readyz {reply.status_code} {reply.text.strip()}"
                    if reply.status_code == 200:
                        return server
                except httpx.HTTPError as error:
                    last = f"/readyz: {error!r}"
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise


def simulate(directory: Path, scale: str = "0.003") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ledger = directory / "d.ledger"
    ledgerctl("simulate", "--ledger", str(ledger), "--scale", scale)
    return ledger


def init_empty(directory: Path, platform: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ledger = directory / "empty.ledger"
    args = ["init", "--ledger", str(ledger)]
    if platform:
        args += ["--platform", platform, "--name", f"Platform {platform}", "--date", "2021-01-04"]
    ledgerctl(*args)
    return ledger


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        server.stop()


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ledgerd")


@pytest.fixture(scope="module")
def ledger(module_dir) -> Path:
    """A fresh simulated ledger (herault-2022 at scale 0.003, about 21 000 events) for the module."""
    for binary in (LEDGERD, LEDGERCTL):
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is not an executable (set LEDGERD / LEDGERCTL, or build the package)")
    return simulate(module_dir / "sim")


@pytest.fixture(scope="module")
def server(ledger, module_dir):
    """ledgerd on the module's ledger, with its default options."""
    srv = launch(ledger, module_dir / "run")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def base_url(server) -> str:
    return server.url


@pytest.fixture
def start_server(module_dir):
    """Starts extra servers for one test (`start_server(ledger, "--opt", "value")`); all stopped after."""
    started: list[Server] = []

    def start(ledger: Path, *extra: str) -> Server:
        srv = launch(ledger, module_dir / "extra", *extra)
        started.append(srv)
        return srv

    try:
        yield start
    finally:
        for srv in started:
            srv.stop()


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(30.0)) as c:
        yield c
