"""Insurance test helpers: employers with wages on the register, page clients with a cookie."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient

from factories import make_bin, make_iin


@pytest.fixture
def make_employer(db_url: str) -> Callable[..., tuple[int, str]]:
    """make_employer(wages=[...], oked="05", region="KZ-35") → (enterprise id, BIN)."""
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service
    from qorgau.registry.schemas import EmploymentIn, EnterpriseIn, WorkerIn

    def make(
        wages: list[int], oked: str = "05", region: str = "KZ-35", start: date = date(2024, 1, 1)
    ) -> tuple[int, str]:
        with get_sessionmaker()() as db:
            ent = service.create_enterprise(
                db=db,
                actor=SYSTEM_ACTOR,
                data=EnterpriseIn(
                    bin=make_bin(),
                    name=f"Employer {secrets.token_hex(3)}",
                    activity_code=oked,
                    region_code=region,
                    lon=73.1,
                    lat=49.8,
                    size_band="small",
                ),
            )
            for wage in wages:
                service.register_employment(
                    db=db,
                    actor=SYSTEM_ACTOR,
                    data=EmploymentIn(
                        contract_no=f"E-{secrets.token_hex(6)}",
                        worker=WorkerIn(iin=make_iin(), last_name="Ахметов", first_name="Нұрлан"),
                        enterprise_bin=ent.bin,
                        occupation="operator",
                        start_date=start,
                        monthly_wage=wage,
                    ),
                )
            return ent.id, ent.bin

    return make


@pytest.fixture
def page_as(app, world) -> Callable[[str], tuple[TestClient, str]]:
    """page_as("insurer") → (client with a session cookie, its CSRF token)."""
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    def make(key: str) -> tuple[TestClient, str]:
        with get_sessionmaker()() as db:
            user = db.get(User, world.users[key])
            token, row = service.open_session(db, user=user, kind="cookie")
        c = TestClient(app, base_url="https://testserver")
        c.cookies.set(SESSION_COOKIE, token)
        return c, row.csrf

    return make


def contract_row(
    bin_: str,
    *,
    policy: str | None = None,
    start: str = "2025-01-01",
    end: str = "2025-12-31",
    headcount: int = 3,
    payroll: str = "3600000",
    risk_class: int = 22,
    premium: str | None = None,
) -> dict[str, object]:
    """A row; the premium defaults to the correct tariff × insurable payroll."""
    from decimal import Decimal

    from qorgau.insurance.premium import expected_premium
    from qorgau.registry.refdata import load_risk_classes

    tariff = load_risk_classes()[risk_class - 1].tariff_pct
    due = expected_premium(Decimal(payroll), headcount, int(start[:4]), tariff)
    return {
        "policy_no": policy or f"P-{secrets.token_hex(5)}",
        "employer_bin": bin_,
        "start_date": start,
        "end_date": end,
        "insured_headcount": headcount,
        "payroll": payroll,
        "risk_class": risk_class,
        "premium": premium if premium is not None else str(due),
    }


@pytest.fixture
def crow() -> Callable[..., dict[str, object]]:
    return contract_row
