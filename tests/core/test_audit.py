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
