"""Idempotency keys for any write endpoint (reusable by every domain's router).

Usage in a router::

    from qorgau.integration.idempotency import IdempotencyDep

    @router.post("/things", status_code=201)
    def create(data: ThingIn, db: DbDep, actor: ActorDep, idem: IdempotencyDep) -> Response:
        return idem.run(lambda: ThingOut.model_validate(service.create(...)), status_code=201)

The client sends `Idempotency-Key: <unique string>`. The first request reserves the key (with a
SHA-256 of method, path and raw body) in its own committed row, runs the operation and stores the
response. A repeat with the same body gets the stored response (no second record); a repeat with a
different body gets 409; a repeat while the first is still running gets 409 (retry later). If the
operation fails, the reservation is removed, so the client can retry with the same key; if its
process died (kill -9, node loss), the reservation is taken over by a retry once it is older than
`QORGAU_INTEGRATION_IDEMPOTENCY_STALE_SECONDS` (2 minutes). Without
the header the operation simply runs (use `RequiredIdempotencyDep` to insist on it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qorgau.core.db import get_sessionmaker, utcnow
from qorgau.core.deps import ActorDep
from qorgau.core.errors import RuleViolation
from qorgau.core.security import Actor
from qorgau.integration.constants import integration_settings
from qorgau.integration.exceptions import IdempotencyInProgress, IdempotencyMismatch
from qorgau.integration.models import IdempotencyRecord

KEEP_FOR = timedelta(days=7)


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


@dataclass(frozen=True)
class WithStatus:
    """Return this from an operation whose status code depends on the outcome."""

    body: Any
    status_code: int


@dataclass
class Idempotency:
    actor: Actor
    key: str | None
    digest: str
    record_id: int | None = None
    replay: IdempotencyRecord | None = None

    def run(self, operation: Callable[[], Any], *, status_code: int = 200) -> JSONResponse:
        """Run `operation` once per key; return its (stored) result as JSON."""
        if self.replay is not None:
            return _stored(self.replay)
        try:
            result = operation()
        except BaseException:
            self._release()
            raise
        if isinstance(result, WithStatus):
            result, status_code = result.body, result.status_code
        body = jsonable_encoder(result)
        self._finish(status_code, body)
        return JSONResponse(body, status_code=status_code)

    def _release(self) -> None:
        if self.record_id is None:
            return
        with get_sessionmaker()() as s:
            s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == self.record_id))
            s.commit()

    def _finish(self, status_code: int, body: Any) -> None:
        if self.record_id is None:
            return
        with get_sessionmaker()() as s:
            row = s.get(IdempotencyRecord, self.record_id)
            if row is not None:
                row.state, row.status_code, row.response = "done", status_code, body
                s.commit()


def _stored(row: IdempotencyRecord) -> JSONResponse:
    resp = JSONResponse(row.response, status_code=row.status_code or 200)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def begin(actor: Actor, key: str | None, digest: str) -> Idempotency:
    """Reserve `key` for `actor` (own short transaction) or find its earlier outcome."""
    idem = Idempotency(actor=actor, key=key, digest=digest)
    if key is None:
        return idem
    if not 1 <= len(key) <= 200:
        raise RuleViolation("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    with get_sessionmaker()() as s:
        row = _lookup(s, actor, key)
        if row is not None:
            return _existing(s, idem, row)
        s.add(
            IdempotencyRecord(
                owner=actor.label,
                organisation_id=actor.organisation_id,
                key=key,
                request_hash=digest,
                state="in_progress",
                created_at=utcnow(),
            )
        )
        try:
            s.commit()
        except IntegrityError:  # a concurrent request took the key first
            s.rollback()
            row = _lookup(s, actor, key)
            assert row is not None
            return _existing(s, idem, row)
        idem.record_id = _lookup(s, actor, key).id  # type: ignore[union-attr]
    return idem


def _lookup(s: Session, actor: Actor, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.owner == actor.label, IdempotencyRecord.key == key
    )
    return s.scalar(stmt)


def _existing(s: Session, idem: Idempotency, row: IdempotencyRecord) -> Idempotency:
    if row.request_hash != idem.digest:
        raise IdempotencyMismatch()
    if row.state == "done":
        idem.replay = row
        return idem
    stale_after = timedelta(seconds=integration_settings().idempotency_stale_seconds)
    if utcnow() - row.created_at < stale_after:
        raise IdempotencyInProgress()
    row.created_at = utcnow()  # the first attempt died mid-way: take the reservation over
    s.commit()
    idem.record_id = row.id
    return idem


async def idempotency(
    request: Request,
    actor: ActorDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Unique per logical write; a retry with the same body replays the "
            "stored response, a different body gets 409.",
        ),
    ] = None,
) -> Idempotency:
    body = await request.body()
    digest = request_hash(request.method, request.url.path, body)
    return begin(actor, idempotency_key, digest)


async def required_idempotency(
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> Idempotency:
    if idem.key is None:
        raise RuleViolation("the Idempotency-Key header is required", field="Idempotency-Key")
    return idem


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
RequiredIdempotencyDep = Annotated[Idempotency, Depends(required_idempotency)]


def purge_expired(db: Session) -> int:
    """Forget keys older than KEEP_FOR (run by the delivery worker's housekeeping)."""
    res = db.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEEP_FOR)
    )
    db.commit()
    return res.rowcount or 0
