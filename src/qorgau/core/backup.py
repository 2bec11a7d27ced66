"""Backups: SQLite through its online backup API, PostgreSQL through pg_dump / pg_restore.

A restore is followed by an audit-chain verification, so a tampered or truncated backup is
reported instead of silently becoming the system of record.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from qorgau.core.db import reset_engine


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError("SQLite URL has no file path")
    return Path(database)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # consistent even while the server keeps writing
        finally:
            dst.close()
            src.close()
        return target
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(url)])
    return target


def restore(url: str, source: Path) -> None:
    if not source.exists():
        raise FileNotFoundError(source)
    reset_engine()  # drop pooled connections that would hold locks on the old tables
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, path)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={_libpq(url)}", str(source)])


def _run(cmd: list[str]) -> None:
    # pg_dump / pg_restore as an argument list, no shell: the configured database, the
    # operator's own path
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {result.stderr.strip()[:2000]}")
