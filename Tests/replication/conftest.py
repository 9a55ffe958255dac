"""A throwaway PostgreSQL 15 cluster for the replication tests (docs/operations.md).

initdb in a temporary directory (as Debian's unprivileged `postgres` user when run as root, which
PostgreSQL insists on), listening on 127.0.0.1 on a free port, trust authentication for the role
`ledger`; stopped (fast, then immediate, then SIGKILL, each bounded) and removed at the end of the
session. Each test gets a database of its own.

Binaries: $PGBIN (default /usr/lib/postgresql/15/bin) and $LEDGERCTL (default
.build/debug/ledgerctl). Nothing is built or installed here: scripts/test.sh installs postgresql-15.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LEDGERCTL = os.environ.get("LEDGERCTL", str(REPO / ".build" / "debug" / "ledgerctl"))
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def ledgerctl(*args: str, check: bool = True, timeout: float = 300, stdin: bytes | None = None):
    result = subprocess.run([LEDGERCTL, *args], capture_output=True, timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(
            f"ledgerctl {' '.join(args)} exited {result.returncode}\nstderr:\n{result.stderr.decode(errors='replace')}"
        )
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    directory: Path
    port: int
    as_user: list[str]
    options: str = ""

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(PGBIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "ledger", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True, timeout=60,
        )
        if result.returncode != 0:
            raise AssertionError(f"psql failed: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode().strip()

    def url(self, database: str) -> str:
        return f"postgres://ledger@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, str(PGBIN / "pg_ctl"), "-D", str(self.directory / "data"), *args],
            capture_output=True, timeout=timeout,
        )

    def start(self) -> None:
        result = self.pg_ctl(
            "-l", str(self.directory / "log"), "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.directory} {self.options}",
            "start",
        )
        if result.returncode != 0:
            log = (self.directory / "log").read_text(errors="replace") if (self.directory / "log").exists() else ""
            raise AssertionError(f"PostgreSQL did not start: {result.stderr.decode(errors='replace')}\n{log}")

    def kill(self) -> None:
        """The machine is lost: the postmaster and its children get SIGKILL, nothing is flushed."""
        pid_file = self.directory / "data" / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0])
        subprocess.run(["pkill", "-KILL", "-P", str(pid)], timeout=10)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self.pg_ctl("-m", "fast", "-w", "-t", "30", "stop").returncode == 0:
            return
        if self.pg_ctl("-m", "immediate", "-w", "-t", "20", "stop").returncode == 0:
            return
        pid_file = self.directory / "data" / "postmaster.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
            time.sleep(1)


def _new_directory() -> tuple[Path, list[str]]:
    """A temporary directory the server's user owns, and the command prefix that runs as that user."""
    if not (PGBIN / "initdb").exists():
        raise AssertionError(f"{PGBIN}/initdb is missing: install postgresql-15 (scripts/test.sh does)")
    directory = Path(tempfile.mkdtemp(prefix="ledger-replica-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    return directory, as_user


def new_cluster(options: str = "") -> Cluster:
    """A new cluster (initdb), started."""
    directory, as_user = _new_directory()
    subprocess.run(
        [*as_user, str(PGBIN / "initdb"), "-D", str(directory / "data"), "-U", "ledger", "-A", "trust",
         "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )
    pg = Cluster(directory=directory, port=_free_port(), as_user=as_user, options=options)
    pg.start()
    return pg


def new_standby(primary: Cluster, name: str) -> Cluster:
    """A streaming standby of `primary` (pg_basebackup -R), connected as `name`, started."""
    directory, as_user = _new_directory()
    subprocess.run(
        [*as_user, str(PGBIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "ledger",
         "-D", str(directory / "data"), "-R", "-X", "stream", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )
    with open(directory / "data" / "postgresql.auto.conf", "a") as conf:
        conf.write(f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=ledger application_name={name}'\n")
    standby = Cluster(directory=directory, port=_free_port(), as_user=as_user)
    standby.start()
    return standby


def remove(pg: Cluster) -> None:
    pg.stop()
    shutil.rmtree(pg.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster():
    pg = new_cluster()
    try:
        yield pg
    finally:
        remove(pg)


@pytest.fixture
def primary_and_standby():
    """A primary whose commits wait for a synchronous streaming standby (`standby1`), and the standby."""
    primary = new_cluster("-c synchronous_standby_names=standby1")
    standby = None
    try:
        standby = new_standby(primary, "standby1")
        deadline = time.monotonic() + 60
        while primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
            assert time.monotonic() < deadline, "the standby did not become synchronous"
            time.sleep(0.2)
        yield primary, standby
    finally:
        for pg in (primary, standby):
            if pg is not None:
                remove(pg)


_numbers = itertools.count(1)


@pytest.fixture
def database(cluster):
    """A new empty database; its URL."""
    name = f"replica_{os.getpid()}_{next(_numbers)}"
    cluster.psql(f"CREATE DATABASE {name}")
    return name


@pytest.fixture(scope="session")
def small_ledger(tmp_path_factory) -> Path:
    """A simulated ledger (about 7 000 events, identities sealed), written once per session."""
    path = tmp_path_factory.mktemp("ledgers") / "small.ledger"
    ledgerctl("simulate", "--ledger", str(path), "--scale", "0.001")
    return path
