"""Helpers for incident tests: a known employed worker, and a valid report body."""

from __future__ import annotations

import secrets
from datetime import date

import pytest

from factories import make_iin


@pytest.fixture
def employed_iin(db, world) -> str:
    """A fresh worker employed by mine_krg (KZ-35); returns the clear IIN."""
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EmploymentIn, WorkerIn

    ent = db.get(Enterprise, world.enterprises["mine_krg"])
    iin = make_iin(date(1990, 5, 17))
    service.register_employment(
        db=db,
        actor=SYSTEM_ACTOR,
        data=EmploymentIn(
            contract_no=f"INC-{secrets.token_hex(4)}",
            worker=WorkerIn(iin=iin, last_name="Серікбаев", first_name="Нұрлан"),
            enterprise_bin=ent.bin,
            occupation="drifter",
            start_date=date(2022, 1, 1),
        ),
    )
    return iin


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> None:
    from qorgau.core.ratelimit import reset

    reset()
