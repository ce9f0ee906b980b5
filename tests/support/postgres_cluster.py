"""A private PostgreSQL cluster on a free port, for tests that stop and start a database.

The suite's shared server on 5432 is never touched: this one is made with `initdb` from
/usr/lib/postgresql/*/bin in a directory of its own, listens on 127.0.0.1 only (no Unix
socket), and is run by a non-root user (PostgreSQL refuses root; tests here run as root, so
the commands go through `runuser -u postgres`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from support.servers import LOCALHOST, free_port

StopMode = Literal["smart", "fast", "immediate"]
RUN_AS = "postgres"
SUPERUSER = "postgres"
START_TIMEOUT = 60
# No fsync keeps initdb and restarts fast and loses nothing to a killed server (only to a
# machine crash); commits stay synchronous, so an immediate stop keeps what was committed.
SETTINGS = {
    "listen_addresses": LOCALHOST,
    "unix_socket_directories": "",
    "max_connections": "20",
    "shared_buffers": "16MB",
    "fsync": "off",
    "full_page_writes": "off",
}


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent  # the newest major version


class PostgresCluster:
    """One cluster: `start`, `stop(mode)`, `refuse_connections` (57P03), and its URL."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self._bin = _bin_dir()
        self._frozen: list[int] = []

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """The SQLAlchemy URL of a database on this cluster (trust authentication)."""
        return f"postgresql+asyncpg://{user}@{LOCALHOST}:{self.port}/{database}"

    def dsn(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """The same, for asyncpg itself."""
        return f"postgresql://{user}@{LOCALHOST}:{self.port}/{database}"

    def initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\n")
            for name, value in SETTINGS.items():
                conf.write(f"{name} = '{value}'\n")

    def start(self, *, wait: bool = True) -> None:
        """Start serving; with `wait`, return once the server accepts connections."""
        self._pg_ctl("start", "-l", str(self.root / "server.log"), "-w" if wait else "-W")

    def stop(self, mode: StopMode = "fast", *, wait: bool = True) -> None:
        """`fast` ends every session (57P01), `immediate` kills the server (crash recovery at
        the next start); `smart` waits for the sessions to end, refusing new ones (57P03)."""
        self._pg_ctl("stop", "-m", mode, "-w" if wait else "-W")

    def refuse_connections(self) -> None:
        """Start as a standby without hot standby: the server runs and answers every connection
        with 57P03 "the database system is not accepting connections". `start` after a stop
        undoes it."""
        (self.data / "standby.signal").touch()
        self._chown(self.data / "standby.signal")
        self._pg_ctl("start", "-l", str(self.root / "server.log"), "-W", "-o", "-c hot_standby=off")

    def stop_refusing(self) -> None:
        """Leave the standby state of `refuse_connections` (stop it, then a normal start)."""
        self.stop("fast")
        (self.data / "standby.signal").unlink()

    def freeze(self) -> None:
        """SIGSTOP the server and every backend: connections stay open and nothing answers."""
        self._frozen = [self._postmaster_pid(), *self._backend_pids()]
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT whatever `freeze` stopped."""
        frozen, self._frozen = self._frozen, []
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def ensure_serving(self) -> None:
        """Back to a normal, running server, whatever a test left behind."""
        self.thaw()
        if (self.data / "standby.signal").exists():
            if self.running:
                self.stop("immediate")
            (self.data / "standby.signal").unlink()
        if not self.running:
            self.start()

    @property
    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def log_tail(self, characters: int = 3000) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-characters:] if log.exists() else ""

    def _postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _backend_pids(self) -> list[int]:
        """The postmaster's children (backends, checkpointer, WAL writer, ...)."""
        parent = self._postmaster_pid()
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
                fields = stat.read_text().rpartition(")")[2].split()
                if int(fields[1]) == parent:
                    children.append(int(stat.parent.name))
        return children

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        timeout = str(START_TIMEOUT)
        return self._run("pg_ctl", "-D", str(self.data), "-t", timeout, *args, check=check)

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        done = subprocess.run(  # noqa: S603 - fixed programs of the local PostgreSQL install
            command, capture_output=True, text=True, timeout=START_TIMEOUT + 30, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n{self.log_tail()}"
            )
        return done

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(path, user.pw_uid, user.pw_gid)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A new cluster, started, in a temporary directory; stopped and removed afterwards."""
    # Not pytest's tmp_path: it is root's and closed to the user the server runs as.
    root = Path(tempfile.mkdtemp(prefix="connector-pg-"))
    cluster = PostgresCluster(root, free_port())
    cluster._chown(root)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        if cluster.running:
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
