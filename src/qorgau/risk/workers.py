"""The link between a user account (role worker) and its registry worker, and what that worker
must confirm: the instructed controls of the hazards of their occupation.

The enterprise's OSH officer makes the link (a worker account and a worker with a contract at
the same enterprise); a worker can then confirm "read and understood" only for themselves.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.accounts import service as accounts
from qorgau.core import audit
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from qorgau.core.roles import Role
from qorgau.core.security import Actor, in_scope
from qorgau.registry.models import Employment, Worker
from qorgau.registry.service import active_on
from qorgau.risk import permissions as perm
from qorgau.risk.models import Hazard, Instruction, WorkerAccount
from qorgau.risk.schemas import WorkerLinkIn

EXPIRING_DAYS = 30  # a confirmation this close to expiry is shown as "renew soon"


def _active_link(db: Session, **where: int) -> WorkerAccount | None:
    stmt = select(WorkerAccount).where(WorkerAccount.unlinked_at.is_(None))
    for col, value in where.items():
        stmt = stmt.where(getattr(WorkerAccount, col) == value)
    return db.scalars(stmt).first()


def link_worker_account(*, db: Session, actor: Actor, data: WorkerLinkIn) -> WorkerAccount:
    worker = db.get(Worker, data.worker_id)
    if worker is None or worker.enterprise_id is None or not in_scope(worker, actor):
        raise RuleViolation("unknown worker", field="worker_id")
    ent = svc.enterprise_for_write(db, actor, worker.enterprise_id)
    user = accounts.get_user_actor(db, user_id=data.user_id)
    if user is None or user.role != Role.WORKER or user.enterprise_id != ent.id:
        raise RuleViolation("not an active worker account of this enterprise", field="user_id")
    if _active_link(db, user_id=data.user_id):
        raise Conflict("this account is already linked to a worker", field="user_id")
    if _active_link(db, worker_id=worker.id):
        raise Conflict("this worker is already linked to an account", field="worker_id")
    row = WorkerAccount(
        enterprise_id=ent.id,
        region_code=ent.region_code,
        user_id=data.user_id,
        worker_id=worker.id,
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.worker_account.link",
        object_type="risk_worker_account",
        object_id=row.id,
        after={"user": data.user_id, "worker": worker.id},
    )
    db.commit()
    return row


def unlink_worker_account(*, db: Session, actor: Actor, link_id: int) -> WorkerAccount:
    row = db.get(WorkerAccount, link_id)
    if row is None or not in_scope(row, actor) or row.unlinked_at is not None:
        raise NotFound("link not found")
    svc.enterprise_for_write(db, actor, row.enterprise_id)
    row.unlinked_at, row.unlinked_by = utcnow(), actor.label
    audit.record(
        db,
        actor=actor,
        action="risk.worker_account.unlink",
        object_type="risk_worker_account",
        object_id=row.id,
        before={"user": row.user_id, "worker": row.worker_id},
        after={"unlinked": True},
    )
    db.commit()
    return row


def list_worker_accounts(*, db: Session, actor: Actor, enterprise_id: int) -> list[WorkerAccount]:
    svc.enterprise_for_read(db, actor, enterprise_id)
    if actor.role == Role.WORKER:  # who is behind which account is not for colleagues
        raise Forbidden("workers do not list account links")
    stmt = select(WorkerAccount).where(
        WorkerAccount.enterprise_id == enterprise_id, WorkerAccount.unlinked_at.is_(None)
    )
    return list(db.scalars(stmt.order_by(WorkerAccount.id)))


def worker_of(db: Session, actor: Actor) -> Worker | None:
    """The registry worker behind a worker account, while still employed at the account's
    enterprise; None for any other account."""
    if actor.role != Role.WORKER or actor.id is None or actor.enterprise_id is None:
        return None
    link = _active_link(db, user_id=actor.id, enterprise_id=actor.enterprise_id)
    if link is None:
        return None
    worker = db.get(Worker, link.worker_id)
    return worker if worker is not None and worker.enterprise_id == actor.enterprise_id else None


def _occupations(db: Session, worker: Worker, today: date) -> set[str]:
    stmt = select(Employment.occupation).where(
        Employment.worker_id == worker.id,
        Employment.enterprise_id == worker.enterprise_id,
        active_on(today),
    )
    return {o.lower() for o in db.scalars(stmt)}


def exposed_to(db: Session, worker: Worker, hazard: Hazard, today: date) -> bool:
    """The same rule as the instruction gap: a contract in force at the hazard's enterprise,
    of the hazard's occupation when one is set."""
    if worker.enterprise_id != hazard.enterprise_id:
        return False
    occupations = _occupations(db, worker, today)
    return bool(occupations) and (not hazard.occupation or hazard.occupation.lower() in occupations)


def my_instructions(*, db: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """For a linked worker: each hazard of their work whose controls require instruction, the
    controls to read and the state of their confirmation (current, expiring, expired, missing)."""
    actor.require(perm.READ)
    today = today or date.today()
    worker = worker_of(db, actor)
    if worker is None:
        return {"worker": None, "items": []}
    latest: dict[int, Instruction] = {}
    for row in db.scalars(
        select(Instruction)
        .where(Instruction.worker_id == worker.id, Instruction.enterprise_id == actor.enterprise_id)
        .order_by(Instruction.expires_on)
    ):
        latest[row.hazard_id] = row  # ordered by expiry: the last one lasts longest
    items = []
    for a in svc.current_assessments(db, actor, [worker.enterprise_id]):
        if not any(c.requires_instruction for c in a.controls):
            continue
        if not exposed_to(db, worker, a.hazard, today):
            continue
        last = latest.get(a.hazard_id)
        if last is None:
            state = "missing"
        elif last.expires_on < today:
            state = "expired"
        elif last.expires_on <= today + timedelta(days=EXPIRING_DAYS):
            state = "expiring"
        else:
            state = "current"
        items.append(
            {
                "hazard": a.hazard,
                "band": a.current_band,
                "controls": [c for c in a.controls if c.requires_instruction],
                "last": last,
                "state": state,
            }
        )
    order = {"missing": 0, "expired": 1, "expiring": 2, "current": 3}
    items.sort(key=lambda i: (order[i["state"]], -svc.BAND_ORDER.index(i["band"])))
    return {"worker": worker, "items": items}


def link_options(*, db: Session, enterprise_id: int) -> dict[str, list[tuple[int, str]]]:
    """Unlinked worker accounts and unlinked workers under contract at the enterprise (for the
    OSH officer's link form; the caller has already checked write access)."""
    linked = db.execute(
        select(WorkerAccount.user_id, WorkerAccount.worker_id).where(
            WorkerAccount.enterprise_id == enterprise_id, WorkerAccount.unlinked_at.is_(None)
        )
    ).all()
    users_linked, workers_linked = {u for u, _ in linked}, {w for _, w in linked}
    users = [
        (uid, f"{name} ({username})")
        for uid, username, name in accounts.enterprise_users(
            db, enterprise_id=enterprise_id, role=Role.WORKER
        )
        if uid not in users_linked
    ]
    stmt = (
        select(Worker.id, Worker.last_name, Worker.first_name, Worker.iin_masked)
        .where(Worker.enterprise_id == enterprise_id)
        .order_by(Worker.last_name, Worker.first_name, Worker.id)
        .limit(1000)
    )
    people = [
        (wid, f"{last} {first} · {masked}")
        for wid, last, first, masked in db.execute(stmt).all()
        if wid not in workers_linked
    ]
    return {"users": users, "workers": people}


def ensure_demo_link(db: Session, *, user_id: int) -> WorkerAccount | None:
    """Demo set-up (idempotent): the demo worker's enterprise keeps a register (from its sector
    template when it has none) and the account is linked to a worker under contract there,
    preferably one whose occupation has its own hazards, so there are instructions to confirm."""
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.risk.starter import from_template, sector_for

    if (row := _active_link(db, user_id=user_id)) is not None:
        return row
    user = accounts.get_user_actor(db, user_id=user_id)
    if user is None or user.enterprise_id is None:
        return None
    ent = user.enterprise_id
    if db.scalar(select(Hazard.id).where(Hazard.enterprise_id == ent).limit(1)) is None:
        enterprise = svc.enterprise_for_write(db, SYSTEM_ACTOR, ent)
        if sector_for(enterprise) is not None:
            from_template(db=db, actor=SYSTEM_ACTOR, enterprise_id=ent, site_id=None, sector=None)
    occupations = select(Hazard.occupation).where(Hazard.enterprise_id == ent,
                                                  Hazard.occupation != "")
    linked = select(WorkerAccount.worker_id).where(WorkerAccount.unlinked_at.is_(None))
    worker_id = db.scalar(
        select(Employment.worker_id)
        .where(Employment.enterprise_id == ent, active_on(date.today()),
               Employment.worker_id.not_in(linked))
        .order_by(Employment.occupation.in_(occupations).desc(), Employment.worker_id).limit(1))
    if worker_id is None:
        return None
    return link_worker_account(db=db, actor=SYSTEM_ACTOR,
                               data=WorkerLinkIn(user_id=user_id, worker_id=worker_id))
