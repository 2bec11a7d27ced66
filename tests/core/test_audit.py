"""The audit chain detects edits, insertions and deletions made directly in the database."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.audit import AuditEntry
from qorgau.core.security import SYSTEM_ACTOR


def _append(db: Session, n: int) -> None:
    for i in range(n):
        audit.record(
            db,
            actor=SYSTEM_ACTOR,
            action="test.write",
            object_type="probe",
            object_id=i,
            after={"i": i},
        )
    db.commit()


def test_chain_verifies_then_detects_edit(db: Session, world: object) -> None:
    _append(db, 3)
    assert audit.verify(db).ok
    last = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()))
    assert last is not None
    original = last.actor
    db.execute(
        update(AuditEntry).where(AuditEntry.id == last.id).values(actor="system:None:intruder")
    )
    db.commit()
    result = audit.verify(db)
    assert not result.ok
    assert any("edited" in p for p in result.problems)
    db.execute(update(AuditEntry).where(AuditEntry.id == last.id).values(actor=original))
    db.commit()
    assert audit.verify(db).ok


def test_chain_detects_deleted_entry(db: Session, world: object) -> None:
    _append(db, 3)
    victim = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).offset(1))
    assert victim is not None
    snapshot = {c.name: getattr(victim, c.name) for c in AuditEntry.__table__.columns}
    db.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": victim.id})
    db.commit()
    result = audit.verify(db)
    assert not result.ok
    db.execute(AuditEntry.__table__.insert().values(**snapshot))
    db.commit()
    assert audit.verify(db).ok


def test_failed_write_leaves_no_entry(db: Session, world: object) -> None:
    before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    audit.record(db, actor=SYSTEM_ACTOR, action="test.rollback", object_type="probe", object_id=0)
    db.rollback()
    after = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert before == after
    assert audit.verify(db).ok


def _probe(db: Session, i: int) -> None:
    audit.record(db, actor=SYSTEM_ACTOR, action="test.pending", object_type="probe",
                 object_id=i, after={"i": i})


def test_entries_are_written_at_commit_in_order_and_a_savepoint_takes_its_own(
        db: Session, world: object) -> None:
    """Recorded entries go in at the commit, chained in the order recorded (one head update
    for all); those of a savepoint that rolled back are not written, those of one that
    committed are."""
    before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    _probe(db, 1)
    with db.begin_nested() as sp:
        _probe(db, 2)
        sp.rollback()
    with db.begin_nested():
        _probe(db, 3)
    _probe(db, 4)
    db.commit()
    rows = db.execute(select(AuditEntry.seq, AuditEntry.object_id).where(
        AuditEntry.seq > before).order_by(AuditEntry.seq)).all()
    assert [(s - before, o) for s, o in rows] == [(1, "1"), (2, "3"), (3, "4")]
    assert audit.verify(db).ok
    _probe(db, 5)
    db.rollback()
    assert db.scalar(select(AuditEntry).where(AuditEntry.object_id == "5",
                                              AuditEntry.action == "test.pending")) is None


def test_an_open_transaction_that_recorded_an_entry_does_not_hold_the_head(
        db: Session, world: object, db_url: str) -> None:
    """The head every audited write updates is taken at the commit, after the transaction's
    own rows: one that held it from its entry on and then waited for a row held by a writer
    waiting for the head deadlocked with it (an ack and an ingest batch). Here a second
    audited transaction commits while the first is still open, on both databases."""
    from qorgau.core.db import get_sessionmaker

    _probe(db, 10)  # recorded, this transaction still open (PostgreSQL: no lock on the head)
    pg = db_url.startswith("postgresql")
    with get_sessionmaker()() as other:  # waiting for the head fails in 2 s, not hangs
        other.execute(text("SET LOCAL lock_timeout = '2s'" if pg else
                           "PRAGMA busy_timeout = 2000"))
        try:
            _probe(other, 11)
            other.commit()
        finally:  # the pooled connection keeps a PRAGMA
            if not pg:
                other.rollback()
                other.execute(text("PRAGMA busy_timeout = 30000"))
    db.commit()
    assert audit.verify(db).ok
    seqs = dict(db.execute(select(AuditEntry.object_id, AuditEntry.seq).where(
        AuditEntry.action == "test.pending", AuditEntry.object_id.in_(["10", "11"]))).all())
    assert seqs["11"] < seqs["10"]  # chained in commit order
