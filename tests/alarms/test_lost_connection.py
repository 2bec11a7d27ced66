"""A database connection lost under an ingest batch's reads and writes on the DBAPI cursor
(`db.raw_cursor`): the message stays unacknowledged for redelivery and the worker goes on.
Before, the driver's own error passed SQLAlchemy by, the connection was not invalidated, and
the caller's rollback raised "connection is lost" out of the worker loop."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from conftest import PG_ADMIN

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _kill(db) -> None:
    pid = db.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_raw_read_on_a_lost_connection_invalidates_it(db, mine) -> None:
    from qorgau.alarms.ingest import runtime

    db.commit()
    _kill(db)
    with pytest.raises(sa_exc.OperationalError) as got:
        runtime.signature(db, mine.site_id)
    assert got.value.connection_invalidated
    db.rollback()  # what every ingest caller's handler does: no second error
    assert runtime.signature(db, mine.site_id) >= 0  # a new connection


def test_the_worker_survives_a_lost_connection_and_acks_nothing_of_it(db, mine, proc,
                                                                      monkeypatch):
    from qorgau.alarms import worker
    from qorgau.alarms.ingest import sqlbulk

    real, calls = sqlbulk.site_row, []

    def lost(dbs, *a, **kw):
        calls.append(1)
        if len(calls) == 1:
            _kill(dbs)  # the database restarts under the batch
        return real(dbs, *a, **kw)

    monkeypatch.setattr(sqlbulk, "site_row", lost)  # a batch's first read
    db.commit()
    acked: list[str] = []

    class Source:
        name, closed = "test", False

        def __init__(self) -> None:
            self.items = [[(mine.site_id, mine.batch([("CO-1", 1.0, -2)]),
                            lambda: acked.append("first"))],
                          [(mine.site_id, mine.batch([("CO-1", 1.0, -1)]),
                            lambda: acked.append("second"))]]

        def fetch(self, timeout: float) -> list:
            if not self.items:
                self.closed = True
                return []
            return self.items.pop(0)

    assert worker.drain(Source(), proc, seconds=10, group=False) == 1
    assert acked == ["second"]  # the first stays for redelivery; the next one goes through
