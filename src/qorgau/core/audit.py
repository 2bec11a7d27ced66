"""Hash-chained audit log: every successful write appends one entry in the same transaction.

A single-row head (audit_head) holds the sequence and the last hash. It is updated at the commit,
once for all of the transaction's entries and after its other rows: the row lock on PostgreSQL
and the write lock on SQLite serialise concurrent writers, so the chain can never fork, and being
every writer's last lock it cannot close a cycle of waits (deadlock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from qorgau.core.db import Base, utcnow, within
from qorgau.core.security import Actor

GENESIS = "0" * 64


class AuditHead(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(80), index=True)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(Text)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS)


def _entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "organisation_id": entry.organisation_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "diff": entry.diff,
    }


def jsonable(value: Any) -> Any:
    """Round-trip through canonical JSON so stored diffs hash the same after reading back."""
    return orjson.loads(canonical(value))


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an entry; written when the caller's transaction commits (`_write_pending`), or
    gone with its rollback. The head every audited write updates is so taken last, after the
    transaction's other row locks: a writer that took it first and then waited for a row
    held by one that was waiting for the head deadlocked with it (an operator's ack and the
    ingest batch that ticked someone out of a withdrawal; PostgreSQL aborted the batch)."""
    db.connection()  # in a transaction from here (a savepoint's entries go with it)
    entry = AuditEntry(
        at=utcnow().replace(microsecond=0),
        actor=actor.label,
        organisation_id=actor.organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        diff=jsonable({"before": before, "after": after}),
    )
    txn = db.get_nested_transaction() or db.get_transaction()
    db.info.setdefault(_PENDING, []).append((txn, entry))


_PENDING = "qorgau.audit_pending"  # (transaction, entry) recorded, not yet written


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """The transaction's entries, chained and inserted once its own rows are flushed: three
    statements however many entries (the head's two updates and one INSERT). Core statements
    on the session's connection: nothing reads an entry back in its transaction, and the
    ORM's unit of work took about five times the statement's cost."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the rows first, then the head (see `record`)
    conn = session.connection()
    seq, prev = conn.execute(_TAKE_SEQ, {"n": len(pending)}).one()
    rows = []
    for k, (_txn, entry) in enumerate(pending):
        entry.seq, entry.prev_hash = seq - len(pending) + 1 + k, prev
        entry.hash = prev = _entry_digest(entry.prev_hash, _fields(entry))
        rows.append({c: getattr(entry, c) for c in _COLUMNS})
    conn.execute(_INSERT, rows)
    conn.execute(_SET_HASH, {"h": prev})


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: Any) -> None:
    """Entries recorded in a transaction (or savepoint) that rolled back are not written."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(t, e) for t, e in pending if not within(t, previous)]


_HEAD = AuditHead.__table__
_TAKE_SEQ = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("n"))
             .returning(_HEAD.c.seq, _HEAD.c.last_hash))
_SET_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("h"))
_INSERT = insert(AuditEntry.__table__)
_COLUMNS = ("seq", "at", "actor", "organisation_id", "action", "object_type", "object_id",
            "diff", "prev_hash", "hash")


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify(db: Session) -> VerifyResult:
    """Walk the chain in order; report any edited, inserted, reordered or deleted entry."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    rows = db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"seq {expected_seq}: missing (next present is {entry.seq})")
        if entry.prev_hash != prev:
            problems.append(f"seq {entry.seq}: prev_hash does not match the entry before it")
        if _entry_digest(entry.prev_hash, _fields(entry)) != entry.hash:
            problems.append(f"seq {entry.seq}: content does not match its hash (edited)")
        prev, expected_seq = entry.hash, entry.seq + 1
    head = db.get(AuditHead, 1, populate_existing=True)
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != prev):
        problems.append(f"head: expects seq {head.seq}, chain ends at {expected_seq - 1}")
    return VerifyResult(ok=not problems, checked=count, problems=problems)


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """A plain dict of an object's audited fields (for before/after)."""
    return {name: getattr(obj, name) for name in fields}
