"""`core.db.serialize`: a read that decides a write is made by one transaction at a time, in
every process (PostgreSQL's advisory lock, SQLite's write lock)."""

from __future__ import annotations

import threading
import time

from qorgau.core.db import get_sessionmaker, is_postgresql, lock_name, serialize


def _second_waits(db_url: str, key_b: tuple[int, int]) -> tuple[float, float]:
    """(when the first transaction committed, when the second got its lock)."""
    first = get_sessionmaker()()
    serialize(first, lock_name("test.serialize"), 7)
    got: list[float] = []

    def second() -> None:
        with get_sessionmaker()() as s:
            serialize(s, *key_b)
            got.append(time.monotonic())
            s.rollback()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.5)
    committed = time.monotonic()
    first.commit()
    first.close()
    t.join(30)
    return committed, got[0]


def test_the_same_lock_waits_for_the_holders_commit(db_url) -> None:
    committed, got = _second_waits(db_url, (lock_name("test.serialize"), 7))
    assert got >= committed


def test_another_lock_does_not_wait_on_postgresql(db_url, db) -> None:
    committed, got = _second_waits(db_url, (lock_name("test.serialize"), 8))
    if is_postgresql(db):
        assert got < committed  # another site's: its own lock
    else:
        assert got >= committed  # SQLite has one write lock
    assert lock_name("a") == lock_name("a") != lock_name("b")
    assert -2**31 <= lock_name("alarms.system.NOTIFY_FAILED") < 2**31
