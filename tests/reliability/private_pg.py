"""A private PostgreSQL server for fault tests that crash and restart the server itself: the
shared one on 127.0.0.1:5432 serves every other test and must never be restarted.

initdb refuses to run as root, so when the tests run as root the cluster is created and run as
the `postgres` system user (`runuser`), in a directory directly under /tmp that this user can
enter (pytest's own tmp_path, like a root TMPDIR, is private to root)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from reliability.server import free_port

CLUSTER_USER = "postgres"


def server_bin() -> Path:
    """The newest installed server binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                           "(Debian package postgresql-15)")
    return Path(found[-1]).parent


def _as_cluster_user() -> list[str]:
    return ["runuser", "-u", CLUSTER_USER, "--"] if os.geteuid() == 0 else []


@dataclass
class PrivatePostgres:
    """One cluster on 127.0.0.1:<free port>, trust auth, fsync on; `crash_restart()` is
    `pg_ctl restart -m immediate` (no checkpoint: recovery replays the WAL, as after a crash)."""

    port: int = field(default_factory=free_port)
    bin: Path = field(default_factory=server_bin)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(
        prefix="qorgau-pg-", dir="/tmp" if os.geteuid() == 0 else None)))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*_as_cluster_user(), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}\n{tail}")

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", "30", *args)

    def init(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(CLUSTER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        # --no-sync only skips initdb's final flush of the template files; the server runs
        # with fsync on, which is what the restart test relies on.
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        # Options on every start (pg_ctl start does not reuse them; only restart does): without
        # -p the server would try the shared server's port.
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on "
                "-c synchronous_commit=on -c full_page_writes=on")
        self._pg_ctl("-o", opts, "start")
        self.wait_ready()

    def crash_restart(self) -> None:
        self._pg_ctl("-m", "immediate", "restart")  # reuses the options of the last start
        self.wait_ready()

    def crash_stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    def ready(self) -> bool:
        done = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
                              capture_output=True, timeout=10, check=False)
        return done.returncode == 0

    def wait_ready(self, timeout: float = 30) -> float:
        """Seconds until pg_isready says the server accepts connections."""
        started = time.monotonic()
        while not self.ready():
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"PostgreSQL not ready after {timeout} s: "
                                   f"{self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return time.monotonic() - started

    def destroy(self) -> None:
        """Stop the server (whatever state a failed test left it in) and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
