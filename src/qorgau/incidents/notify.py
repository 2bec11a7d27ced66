"""Who must hear about an accident: the regional inspectorate, the insurer holding the
employer's contract (when the insurance domain is installed and a contract is in force) and, for
severe or fatal cases, relatives and the prosecutor (recorded as duties of the employer)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.core.db import utcnow
from qorgau.core.roles import Role
from qorgau.incidents.models import Accident, Notification

log = logging.getLogger(__name__)


def region_inspectors(db: Session, region_code: str) -> list[int]:
    """Active state labour inspectors of the region, oldest account first."""
    return accounts.region_user_ids(db=db, region_code=region_code, role=Role.LABOUR_INSPECTOR)


def insurer_contract(db: Session, enterprise_id: int, on: date) -> Any | None:
    """The insurance domain's active contract for the enterprise on that day, if any."""
    from qorgau.insurance import service as insurance

    try:
        return insurance.active_contract_for(db=db, enterprise_id=enterprise_id, on=on)
    except SQLAlchemyError:
        # The transaction is gone with it (a lost connection, an aborted statement): going on
        # would fail later with a confusing error; the report fails whole and is retried.
        raise
    except Exception:  # a bug in the lookup must never block an accident report
        log.exception("insurance lookup failed for enterprise %s", enterprise_id)
        return None


def _note(accident: Accident, recipient: str, status: str, reference: str = "") -> Notification:
    return Notification(
        accident_id=accident.id,
        enterprise_id=accident.enterprise_id,
        region_code=accident.region_code,
        recipient=recipient,
        reference=reference[:200],
        status=status,
        created_at=utcnow(),
    )


def notify_all(db: Session, accident: Accident) -> list[Notification]:
    notes = [_note(accident, "inspectorate", "sent", accident.region_code)]
    contract = insurer_contract(db, accident.enterprise_id, accident.occurred_at.date())
    if contract is not None:
        ref = str(getattr(contract, "number", None) or getattr(contract, "id", ""))
        notes.append(_note(accident, "insurer", "sent", ref))
    if accident.severity in ("severe", "fatal"):
        notes.append(_note(accident, "relatives", "must_inform"))
        notes.append(_note(accident, "prosecutor", "must_inform"))
    db.add_all(notes)
    return notes


def for_accident(db: Session, accident_id: int) -> list[Notification]:
    stmt = select(Notification).where(Notification.accident_id == accident_id)
    return list(db.scalars(stmt.order_by(Notification.id)))
