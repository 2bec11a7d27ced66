"""Open violations and planned inspections on the map: the inspections service functions
(scoped per actor), the two flag layers (content equals a plain SQL count, tenant scope), the
planned-inspections date range, card parts, and 422s naming the parameter."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import distinct, func, select

from qorgau.core.errors import RuleViolation

KZ = "46,40,88,56"
TODAY = date.today()


def _actor(db, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users[key]))


def _plan(db, region: str, start: date, end: date, eids: list[int]) -> list[int]:
    from qorgau.inspections.models import InspectionPlan, PlanItem

    plan = InspectionPlan(region_code=region, authority="labour", period_start=start,
                          period_end=end, capacity=len(eids), candidates=len(eids),
                          created_by="test")
    db.add(plan)
    db.flush()
    items = []
    for rank, eid in enumerate(eids, start=1):
        item = PlanItem(plan_id=plan.id, enterprise_id=eid, region_code=region, rank=rank,
                        score=50.0, reasons=[])
        db.add(item)
        db.flush()
        items.append(item.id)
    return items


@pytest.fixture(scope="module")
def insp(world, geo_world) -> dict[str, object]:
    """Violations and plans over the GEO-TEST enterprises and the world's two enterprises."""
    from qorgau.core.db import get_sessionmaker
    from qorgau.geo import index
    from qorgau.inspections.models import Inspection, Violation
    from qorgau.registry.models import Enterprise

    with get_sessionmaker()() as db:
        def geo(region: str, k: int) -> list[int]:
            return list(db.scalars(
                select(Enterprise.id).where(Enterprise.name.startswith("GEO-TEST"),
                                            Enterprise.region_code == region)
                .order_by(Enterprise.id.desc()).limit(k)))

        krg, ala = geo("KZ-35", 6), geo("KZ-75", 4)
        mine, build = world.enterprises["mine_krg"], world.enterprises["build_ala"]
        viol = [(e, "KZ-35", "open") for e in [*krg[:3], mine]]
        viol += [(krg[3], "KZ-35", "eliminated"), (build, "KZ-75", "open"),
                 (ala[0], "KZ-75", "open"), (krg[0], "KZ-35", "open")]  # krg[0] twice
        for eid, region, state in viol:
            db.add(Violation(enterprise_id=eid, region_code=region, item_code="L03",
                             found_on=TODAY - timedelta(days=20), state=state,
                             description="map layer test"))
        now_items = _plan(db, "KZ-35", TODAY - timedelta(days=10), TODAY + timedelta(days=20),
                          [krg[4], krg[5], mine])
        _plan(db, "KZ-75", TODAY + timedelta(days=200), TODAY + timedelta(days=260), ala[1:3])
        _plan(db, "KZ-35", TODAY + timedelta(days=200), TODAY + timedelta(days=230), [krg[1]])
        # krg[5]'s planned inspection has been carried out: no longer pending
        at = datetime.now(UTC)
        db.add(Inspection(client_uuid=secrets.token_hex(16)[:36], enterprise_id=krg[5],
                          region_code="KZ-35", authority="labour", kind="planned",
                          plan_item_id=now_items[1], started_at=at, finished_at=at))
        db.commit()
    index.invalidate()
    return {"krg": krg, "ala": ala, "mine": mine, "build": build}


def _sql_open(region: str | None = None) -> int:
    from qorgau.core.db import get_sessionmaker
    from qorgau.inspections.models import Violation

    stmt = select(func.count(distinct(Violation.enterprise_id))).where(Violation.state == "open")
    if region:
        stmt = stmt.where(Violation.region_code == region)
    with get_sessionmaker()() as db:
        return int(db.scalar(stmt) or 0)


def _total(client, layer: str, extra: str = "") -> int:
    r = client.get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5&layers={layer}{extra}")
    assert r.status_code == 200, r.text
    return r.json()["layers"][layer]["total"]


# --- service functions -----------------------------------------------------------------------
def test_open_violations_by_enterprise_scoped(db, world, insp) -> None:
    from qorgau.inspections import service

    everyone = service.open_violations_by_enterprise(db=db, actor=_actor(db, world, "analyst"))
    krg = insp["krg"]
    assert everyone[krg[0]] >= 2 and everyone[insp["build"]] >= 1
    assert krg[3] not in everyone  # eliminated
    region = service.open_violations_by_enterprise(db=db, actor=_actor(db, world, "inspector_krg"))
    assert krg[0] in region and insp["build"] not in region and insp["ala"][0] not in region
    own = service.open_violations_by_enterprise(db=db, actor=_actor(db, world, "osh_krg"))
    assert set(own) == {insp["mine"]}
    only = service.open_violations_by_enterprise(
        db=db, actor=_actor(db, world, "analyst"), enterprise_ids=[krg[1]], region="KZ-35")
    assert only == {krg[1]: everyone[krg[1]]}


def test_planned_inspections_by_enterprise_range_and_scope(db, world, insp) -> None:
    from qorgau.inspections import service

    krg, ala = insp["krg"], insp["ala"]
    analyst = _actor(db, world, "analyst")
    soon = service.planned_inspections_by_enterprise(
        db=db, actor=analyst, start=TODAY, end=TODAY + timedelta(days=30))
    assert {krg[4], insp["mine"]} <= set(soon)
    assert krg[5] not in soon  # already inspected
    assert ala[1] not in soon and krg[1] not in soon  # their plans start in 200 days
    (p,) = soon[krg[4]]
    assert p.authority == "labour" and p.period_end == TODAY + timedelta(days=20)
    later = service.planned_inspections_by_enterprise(
        db=db, actor=analyst, start=TODAY + timedelta(days=190), end=TODAY + timedelta(days=240))
    assert {ala[1], ala[2], krg[1]} <= set(later) and krg[4] not in later
    region = service.planned_inspections_by_enterprise(
        db=db, actor=_actor(db, world, "inspector_krg"), start=TODAY,
        end=TODAY + timedelta(days=400))
    assert krg[1] in region and ala[1] not in region
    own = service.planned_inspections_by_enterprise(
        db=db, actor=_actor(db, world, "osh_krg"), start=TODAY, end=TODAY + timedelta(days=400))
    assert set(own) == {insp["mine"]}
    with pytest.raises(RuleViolation) as err:
        service.planned_inspections_by_enterprise(
            db=db, actor=analyst, start=TODAY, end=TODAY - timedelta(days=1))
    assert err.value.field == "end"


# --- layers over HTTP ------------------------------------------------------------------------
def test_layers_listed_and_available(client_as, insp) -> None:
    layers = {la["name"]: la for la in client_as("inspector_krg").get("/api/v1/map/layers").json()}
    for name in ("open_violations", "planned_inspections"):
        assert layers[name]["available"] is True, layers[name]
        assert layers[name]["kind"] == "flag"


def test_open_violations_layer_counts_equal_sql(client_as, insp) -> None:
    assert _total(client_as("analyst"), "open_violations") == _sql_open()
    assert _total(client_as("inspector_krg"), "open_violations") == _sql_open("KZ-35")
    assert _total(client_as("inspector_ala"), "open_violations") == _sql_open("KZ-75")
    # a region inspector asking for another region gets an empty map, not the other region
    assert _total(client_as("inspector_krg"), "open_violations", "&region=KZ-75") == 0
    # the filter form of the layer counts the same enterprises
    r = client_as("analyst").get("/api/v1/map/count?open_violations=1")
    assert r.json()["count"] == _sql_open()


def test_employer_sees_only_its_own(client_as, insp) -> None:
    osh = client_as("osh_krg")
    assert _total(osh, "open_violations") == 1  # mine_krg has an open violation
    assert _total(osh, "open_violations", f"&ids={insp['build']}") == 0
    assert _total(osh, "planned_inspections") == 1  # mine_krg is in the running plan
    far = f"&planned_from={TODAY + timedelta(days=150)}&planned_to={TODAY + timedelta(days=400)}"
    assert _total(osh, "planned_inspections", far) == 0
    card = osh.get(f"/api/v1/map/enterprises/{insp['mine']}/card").json()
    assert card["parts"]["open_violations"]["open_violations"] >= 1
    assert len(card["parts"]["planned_inspections"]["planned"]) == 1
    assert card["flags"]["open_violations"] is True
    assert card["links"]["open_violations"] == "/inspections"


def test_planned_layer_default_window_and_range(client_as, insp) -> None:
    krg, ala = insp["krg"], insp["ala"]
    ids = ",".join(str(i) for i in [krg[1], krg[4], krg[5], ala[1], ala[2], insp["mine"]])
    analyst = client_as("analyst")
    # default: plans running from today to 90 days ahead (krg[5] was inspected already)
    assert _total(analyst, "planned_inspections", f"&ids={ids}") == 2
    later = f"&planned_from={TODAY + timedelta(days=190)}&planned_to={TODAY + timedelta(days=240)}"
    assert _total(analyst, "planned_inspections", f"&ids={ids}{later}") == 3
    assert _total(client_as("inspector_krg"), "planned_inspections", f"&ids={ids}{later}") == 1
    assert _total(client_as("inspector_ala"), "planned_inspections", f"&ids={ids}{later}") == 2
    # only the start given: a 90-day window from it
    start = f"&planned_from={TODAY + timedelta(days=195)}"
    assert _total(analyst, "planned_inspections", f"&ids={ids}{start}") == 3
    # the base layer is not narrowed by the range
    r = analyst.get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5&layers=enterprises&ids={ids}{later}")
    assert r.json()["layers"]["enterprises"]["total"] == 6


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("&planned_from=2027-13-01", "planned_from"),
        ("&planned_to=tomorrow", "planned_to"),
        ("&planned_from=2027-05-01&planned_to=2027-04-01", "planned_to"),
        ("&planned_from=2027-01-01&planned_to=2031-01-01", "planned_to"),
        ("&open_violations=maybe", "open_violations"),
        ("&planned_inspection=1", "planned_inspection"),
    ],
)
def test_bad_params_are_422_naming_field(client_as, insp, extra, field) -> None:
    r = client_as("inspector_krg").get(
        f"/api/v1/map/clusters?bbox={KZ}&zoom=5&layers=planned_inspections{extra}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
