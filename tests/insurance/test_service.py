"""Premium and gap arithmetic on hand-made cases; gap lifecycle against the register."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import select

from qorgau.core.events import OutboxEvent
from qorgau.core.security import SYSTEM_ACTOR
from qorgau.insurance import premium, service
from qorgau.insurance.exceptions import BatchRejected
from qorgau.insurance.gaps import desired_gaps
from qorgau.insurance.models import CoverageGap


def test_premium_caps_salary_at_ten_minimum_wages() -> None:
    # 2025: minimum wage 85 000 → cap 850 000 a month. 5 people × 1 000 000 a month declared.
    declared = Decimal(5 * 1_000_000 * 12)
    assert premium.insurable_payroll(declared, 5, 2025) == Decimal(5 * 850_000 * 12)
    # 51 000 000 × 3.00 % = 1 530 000.00
    assert premium.expected_premium(declared, 5, 2025, Decimal("3.00")) == Decimal("1530000.00")


def test_premium_below_cap_and_minimum_premium() -> None:
    assert premium.expected_premium(Decimal(2_400_000), 2, 2025, Decimal("3.00")) == Decimal(
        "85000.00"
    )  # 72 000 is below the minimum premium of one minimum wage
    assert premium.expected_premium(Decimal(12_000_000), 2, 2025, Decimal("1.25")) == Decimal(
        "150000.00"
    )


def test_register_payroll_caps_each_person() -> None:
    # 2024 min wage 85 000 → cap 850 000; 100 000 + 850 000 (capped from 2 000 000) → × 12
    assert premium.register_payroll([100_000, 2_000_000], 2024) == Decimal(950_000 * 12)


def _frames(reg: list[tuple], cover: list[tuple], lapsed: list[tuple]) -> pl.DataFrame:
    from qorgau.insurance.gaps import SCHEMAS

    def df(rows: list[tuple], name: str) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")

    return desired_gaps(df(reg, "register"), df(cover, "cover"), df(lapsed, "lapsed"), 12)


def test_desired_gaps_hand_made() -> None:
    reg = [
        (1, "KZ-35", 3, 300_000.0),
        (2, "KZ-35", 2, 200_000.0),
        (3, "KZ-75", 4, 400_000.0),
        (4, "KZ-75", 1, 100_000.0),
        (5, "KZ-75", 10, 1_000_000.0),
    ]
    cover = [
        (3, 3, 4_800_000.0, 30, 9),
        (4, 1, 1_200_000.0, 40, 9),
        (5, 10, 10_000_000.0, 50, 9),
    ]  # 5: payroll 10M < 12M × 0.95
    lapsed = [(2, 20, 8)]
    got = {(r["eid"], r["kind"]) for r in _frames(reg, cover, lapsed).iter_rows(named=True)}
    assert got == {(1, "no_contract"), (2, "lapsed"), (3, "headcount"), (5, "payroll")}


def test_lapsed_contract_becomes_gap_next_day(db, world, make_employer, crow) -> None:
    eid, bin_ = make_employer([300_000, 300_000, 300_000])
    service.import_contracts(
        db=db,
        actor=_insurer(db, world),
        rows=[
            crow(
                bin_,
                start="2025-01-01",
                end="2025-12-31",
                headcount=3,
                payroll=str(3 * 300_000 * 12),
            )
        ],
    )
    service.recompute_gaps(db=db, on=date(2025, 12, 31))
    assert _open(db, eid) == set()
    service.recompute_gaps(db=db, on=date(2026, 1, 1))
    assert _open(db, eid) == {"lapsed"}
    gap = db.scalar(select(CoverageGap).where(CoverageGap.enterprise_id == eid))
    event = db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.type == "insurance.gap.opened", OutboxEvent.object_id == str(gap.id)
        )
    )
    assert event is not None and event.enterprise_id == eid and event.payload["kind"] == "lapsed"
    # Recomputing again opens nothing new (one event per gap).
    service.recompute_gaps(db=db, on=date(2026, 1, 1))
    assert (
        db.scalar(
            select(CoverageGap.id).where(CoverageGap.enterprise_id == eid, CoverageGap.id != gap.id)
        )
        is None
    )


def test_under_covered_then_resolved(db, world, make_employer, crow) -> None:
    eid, bin_ = make_employer([400_000] * 4)
    insurer = _insurer(db, world)
    service.recompute_gaps(db=db, on=date(2025, 3, 1))
    assert _open(db, eid) == {"no_contract"}
    service.import_contracts(
        db=db,
        actor=insurer,
        rows=[
            crow(
                bin_,
                start="2025-03-01",
                end="2025-06-30",
                headcount=2,
                payroll=str(2 * 400_000 * 12),
            )
        ],
    )
    service.recompute_gaps(db=db, on=date(2025, 3, 2))
    assert _open(db, eid) == {"headcount", "payroll"}
    service.import_contracts(
        db=db,
        actor=insurer,
        rows=[
            crow(
                bin_,
                start="2025-07-01",
                end="2026-06-30",
                headcount=4,
                payroll=str(4 * 400_000 * 12),
            )
        ],
    )
    service.recompute_gaps(db=db, on=date(2025, 7, 1))
    assert _open(db, eid) == set()
    closed = db.scalars(select(CoverageGap.closed_on).where(CoverageGap.enterprise_id == eid))
    assert set(closed) == {date(2025, 3, 2), date(2025, 7, 1)}


def test_active_contract_for(db, world, make_employer, crow) -> None:
    eid, bin_ = make_employer([100_000])
    service.import_contracts(
        db=db,
        actor=_insurer(db, world),
        rows=[crow(bin_, start="2025-02-01", end="2026-01-31", headcount=1, payroll="1200000")],
    )
    found = service.active_contract_for(db=db, enterprise_id=eid, on=date(2025, 5, 1))
    assert found is not None and found.insurer_org_id == world.orgs["insurer"]
    assert service.active_contract_for(db=db, enterprise_id=eid, on=date(2026, 2, 1)) is None


def test_bad_rows_all_reported_nothing_applied(db, world, make_employer, crow) -> None:
    _, bin_ = make_employer([100_000])
    _, other = make_employer([100_000])
    ok = crow(other, start="2025-01-01", end="2025-12-31", headcount=1, payroll="1200000")
    rows = [
        ok,
        crow("100140099995", headcount=1),  # valid checksum? replaced below if not
        crow(bin_, start="2025-01-01", end="2025-06-30", headcount=1, payroll="1200000"),
        crow(bin_, start="2025-06-01", end="2025-12-31", headcount=1, payroll="1200000"),
        {**crow(bin_, start="2026-01-01", end="2026-12-31"), "payroll": "-5"},
        {**crow(bin_, start="2026-05-01", end="2026-09-01"), "end_date": "2026-01-01"},
        crow(bin_, start="2026-01-01", end="2026-12-31", premium="1.00"),
    ]
    from factories import make_bin

    rows[1]["employer_bin"] = make_bin()  # valid checksum, not in the register
    with pytest.raises(BatchRejected) as err:
        service.import_contracts(db=db, actor=_insurer(db, world), rows=rows)
    got = {(e.row, e.field) for e in err.value.errors}
    assert {
        (1, "employer_bin"),
        (3, "start_date"),
        (4, "payroll"),
        (5, "end_date"),
        (6, "premium"),
    } <= got
    assert all(e.row != 0 and e.row != 2 for e in err.value.errors)
    db.rollback()
    assert (
        service.active_contract_for(db=db, enterprise_id=_eid(db, other), on=date(2025, 5, 1))
        is None
    )


def _eid(db, bin_: str) -> int:
    from qorgau.registry.models import Enterprise

    return db.scalar(select(Enterprise.id).where(Enterprise.bin == bin_))


def _open(db, eid: int) -> set[str]:
    return set(
        db.scalars(
            select(CoverageGap.kind).where(
                CoverageGap.enterprise_id == eid, CoverageGap.closed_on.is_(None)
            )
        )
    )


def _insurer(db, world):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users["insurer"]))


def test_recompute_needs_admin(db, world) -> None:
    from qorgau.core.errors import Forbidden

    with pytest.raises(Forbidden):
        service.recompute_gaps(db=db, actor=_insurer(db, world), on=date(2025, 1, 1))
    assert SYSTEM_ACTOR.can("insurance.gaps.recompute")


def test_large_insured_headcount_no_overflow(db, world, make_employer, crow) -> None:
    # 300 × 10 × 85 000 × 12 exceeds a 32-bit integer (PostgreSQL must compute it as numeric).
    eid, bin_ = make_employer([500_000])
    service.import_contracts(
        db=db,
        actor=_insurer(db, world),
        rows=[
            crow(
                bin_,
                start="2025-01-01",
                end="2025-12-31",
                headcount=300,
                payroll=str(300 * 500_000 * 12),
            )
        ],
    )
    service.recompute_gaps(db=db, on=date(2025, 6, 1))
    assert _open(db, eid) == set()
