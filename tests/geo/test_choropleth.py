"""Choropleth metrics from the inspections and equipment domains: exact numbers against plain
SQL (or the owning domain's own figures), scoped per role, hidden from roles without the
domain's permission."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

URL = "/api/v1/map/choropleth?metric="


@pytest.fixture
def fresh_violations(world, geo_world):
    """Three open and one eliminated violation in KZ-10 on GEO-TEST enterprises."""
    from qorgau.core.db import get_sessionmaker
    from qorgau.inspections.models import Violation
    from qorgau.registry.models import Enterprise

    with get_sessionmaker()() as db:
        eids = list(db.scalars(
            select(Enterprise.id).where(Enterprise.name.startswith("GEO-TEST"),
                                        Enterprise.region_code == "KZ-10").limit(3)))
        for eid, state in [(eids[0], "open"), (eids[0], "open"), (eids[1], "open"),
                           (eids[2], "eliminated")]:
            db.add(Violation(enterprise_id=eid, region_code="KZ-10", item_code="L03",
                             found_on=date.today() - timedelta(days=3), state=state,
                             description="choropleth test"))
        db.commit()
    return eids


def _sql_open_by_region() -> dict[str, int]:
    from qorgau.core.db import get_sessionmaker
    from qorgau.inspections.models import Violation

    with get_sessionmaker()() as db:
        rows = db.execute(
            select(Violation.region_code, func.count())
            .where(Violation.state == "open")
            .group_by(Violation.region_code)
        ).all()
    return {r: int(n) for r, n in rows}


def _sql_enterprises_by_region() -> dict[str, int]:
    from qorgau.core.db import get_sessionmaker
    from qorgau.registry.models import Enterprise

    with get_sessionmaker()() as db:
        rows = db.execute(
            select(Enterprise.region_code, func.count()).group_by(Enterprise.region_code)
        ).all()
    return {r: int(n) for r, n in rows}


def test_open_violations_by_region_exact(client_as, fresh_violations) -> None:
    from qorgau.geo import index

    index.invalidate()  # enterprises of other tests: the denominator is the table's count
    body = client_as("analyst").get(URL + "open_violations").json()
    assert body["available"] is True and body["unit"] == ""
    assert len(body["rows"]) == 20
    opened, ents = _sql_open_by_region(), _sql_enterprises_by_region()
    assert opened.get("KZ-10", 0) >= 3
    for row in body["rows"]:
        num, den = opened.get(row["region"], 0), ents.get(row["region"], 0)
        assert (row["numerator"], row["denominator"]) == (num, den), row["region"]
        assert row["value"] == (round(100 * num / den, 2) if den else None)


def test_open_violations_scoped_and_permission(client_as, fresh_violations) -> None:
    rows = client_as("inspector_krg").get(URL + "open_violations").json()["rows"]
    assert [r["region"] for r in rows] == ["KZ-35"]
    assert rows[0]["numerator"] == _sql_open_by_region().get("KZ-35", 0)
    # an akimat sees its own region; every choropleth role also reads inspections, so the
    # metric's own permission (inspections.read) hides it from nobody today
    rows = client_as("akimat_krg").get(URL + "open_violations").json()["rows"]
    assert [r["region"] for r in rows] == ["KZ-35"]
    assert client_as("osh_krg").get(URL + "open_violations").status_code == 403


def test_equipment_compliance_is_the_equipment_domains_figure(
    db, world, client_as, geo_world
) -> None:
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user
    from qorgau.equipment import service as equipment
    from qorgau.geo.service import regions_in_scope

    for key in ("analyst", "inspector_krg", "industry"):
        body = client_as(key).get(URL + "equipment_compliance").json()
        assert body["available"] is True and body["unit"] == "%"
        actor = actor_for_user(db.get(User, world.users[key]))
        theirs = {r["key"]: r for r in equipment.compliance(db=db, actor=actor, group_by="region")}
        assert [r["region"] for r in body["rows"]] == regions_in_scope(actor)
        for row in body["rows"]:
            got = theirs.get(row["region"])
            if got is None or not got["required"]:
                assert row["value"] is None and row["denominator"] == 0
            else:
                assert row["value"] == got["pct"]
                assert (row["numerator"], row["denominator"]) == (got["working"], got["required"])
    # employers and workers do not read regional statistics
    assert client_as("osh_krg").get(URL + "equipment_compliance").status_code == 403

