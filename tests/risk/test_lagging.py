"""Maturity inputs: hours worked per month, LTIFR from the accidents domain's lost-time injuries,
near-miss rate; bad input; another enterprise's user cannot read or write them."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from factories import make_bin, make_iin
from qorgau.core.roles import Role
from qorgau.core.security import SYSTEM_ACTOR, Actor
from qorgau.risk import lagging, service
from qorgau.risk.schemas import HoursIn, NearMissIn

# A past window no other test records hours for: the twelve months to June 2025.
PAST = date(2025, 6, 20)


def _enterprise(db, oked: str, staff: int) -> tuple[int, list[str], Actor]:
    """A fresh enterprise with `staff` drivers under contract since 2020 and its OSH officer."""
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EmploymentIn, EnterpriseIn, WorkerIn

    ent = registry.create_enterprise(
        db=db,
        actor=SYSTEM_ACTOR,
        data=EnterpriseIn(
            bin=make_bin(),
            name=f"Lagging test {secrets.token_hex(3)}",
            activity_code=oked,
            region_code="KZ-35",
            lon=73.0,
            lat=49.9,
            size_band="small",
        ),
    )
    iins = []
    for i in range(staff):
        iin = make_iin(date(1980 + i, 3, 3))
        iins.append(iin)
        registry.register_employment(
            db=db,
            actor=SYSTEM_ACTOR,
            data=EmploymentIn(
                contract_no=f"LAG-{ent.id}-{i}-{secrets.token_hex(2)}",
                worker=WorkerIn(iin=iin, last_name=f"Жүргізуші{i}", first_name="Асқар"),
                enterprise_bin=ent.bin,
                occupation="driver",
                start_date=date(2020, 1, 1),
            ),
        )
    osh = Actor(
        kind="user",
        id=None,
        name="osh.lagging",
        role=Role.EMPLOYER_OSH,
        region="KZ-35",
        enterprise_id=ent.id,
    )
    return ent.id, iins, osh


def _accident(db, osh: Actor, iin: str, on: date) -> None:
    from qorgau.incidents import service as incidents
    from qorgau.incidents.schemas import AccidentIn

    incidents.report_accident(
        db=db,
        actor=osh,
        data=AccidentIn(
            occurred_at=datetime(on.year, on.month, on.day, 10, tzinfo=UTC),
            severity="severe",
            circumstances="Hand caught between trailer and loading dock.",
            victims=[{"iin": iin, "severity": "severe"}],
        ),
    )


def _hours(db, osh, ent, year, month, hours) -> None:
    service.record_hours(
        db=db,
        actor=osh,
        enterprise_id=ent,
        data=HoursIn(year=year, month=month, hours=hours),
        today=PAST,
    )


def test_ltifr_counts_injuries_of_recorded_months_against_the_latest_hours(db):
    ent, iins, osh = _enterprise(db, "49", staff=4)  # transport (H)
    peer, _, peer_osh = _enterprise(db, "49", staff=2)
    for month in (1, 2, 3):
        _hours(db, osh, ent, 2025, month, 500)
    _hours(db, osh, ent, 2025, 3, 400)  # correction: revision 2 counts, revision 1 is kept
    _hours(db, peer_osh, peer, 2025, 2, 1000)
    _accident(db, osh, iins[0], date(2025, 2, 10))  # a month with hours: counted
    _accident(db, osh, iins[1], date(2025, 5, 5))  # no hours recorded for May: left out

    lti = lagging.ltifr(db, ent, PAST)
    assert lti["lost_time_injuries"] == 1 and lti["hours"] == 1400 and lti["months_recorded"] == 3
    assert lti["ltifr"] == round(1 * 1_000_000 / 1400, 2)  # 714.29
    # the section's rate pools every enterprise of section H with hours in the window
    assert lti["sector_enterprises"] == 2
    assert lti["sector_ltifr"] == round(1 * 1_000_000 / 2400, 2)  # 416.67
    assert lagging.ltifr(db, peer, PAST)["ltifr"] == 0.0

    months = service.hours_worked(db=db, actor=osh, enterprise_id=ent)
    assert [(m.month, m.hours, m.revision) for m in months] == [
        (3, 400, 2),
        (2, 500, 1),
        (1, 500, 1),
    ]

    m = service.maturity(db=db, actor=osh, enterprise_id=ent, today=PAST)
    assert "ltifr" not in m["unavailable"] and m["ltifr"] == lti["ltifr"]
    expected = 100 * max(0.0, 1 - lti["ltifr"] / (2 * lti["sector_ltifr"]))
    assert m["components"]["ltifr_vs_sector"] == pytest.approx(expected, abs=0.1)


def test_no_hours_means_ltifr_unavailable(db):
    ent, _, osh = _enterprise(db, "49", staff=1)
    m = service.maturity(db=db, actor=osh, enterprise_id=ent, today=PAST)
    assert m["ltifr"] is None and "ltifr" in m["unavailable"]
    assert m["components"]["ltifr_vs_sector"] == pytest.approx(50.0)  # neutral, flagged


def test_near_miss_rate_counts_own_records_and_anonymous_reports(db):
    from qorgau.incidents import hazards
    from qorgau.registry.models import Enterprise

    ent, _, osh = _enterprise(db, "41", staff=4)
    today = date.today()
    for days in (3, 40):
        service.report_near_miss(
            db=db,
            actor=osh,
            data=NearMissIn(
                enterprise_id=ent,
                occurred_on=today - timedelta(days=days),
                hazard_type="falls_from_height",
                potential_severity="fatal",
                description="Unsecured plank slid off the scaffold edge",
            ),
        )
    rate = lagging.near_miss_rate(db, ent, today)
    assert (rate["near_misses"], rate["workers"]) == (2, 4)
    assert rate["near_miss_rate_per_100"] == 50.0
    hazards.submit_hazard(  # the public, anonymous near-miss form of the accidents domain
        db=db,
        client=f"test-{secrets.token_hex(4)}",
        bin_=db.get(Enterprise, ent).bin,
        kind="near_miss",
        description="A load swung over workers on the ground floor",
    )
    assert lagging.near_miss_rate(db, ent, today)["near_miss_rate_per_100"] == 75.0
    m = service.maturity(db=db, actor=osh, enterprise_id=ent)
    assert "near_miss_rate" not in m["unavailable"] and m["near_miss_rate_per_100"] == 75.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"year": 2099, "month": 1, "hours": 10}, "month"),  # future month
        ({"year": 2025, "month": 2, "hours": 1_000_000}, "hours"),  # more than the staff can work
        ({"year": 2025, "month": 13, "hours": 10}, "month"),
        ({"year": 2025, "month": 2, "hours": -1}, "hours"),
    ],
)
def test_bad_hours_are_refused_naming_the_field(client_as, world, body, field):
    c = client_as("osh_ala")
    r = c.put(f"/api/v1/risk/hours-worked/{world.enterprises['build_ala']}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field


def test_bad_near_miss_is_refused_and_nothing_written(client_as, world, db):
    from qorgau.risk.models import NearMiss

    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    before = db.query(NearMiss).count()
    good = {
        "enterprise_id": ent,
        "occurred_on": date.today().isoformat(),
        "hazard_type": "mechanical",
        "potential_severity": "severe",
        "description": "Angle grinder guard missing on bench 3",
    }
    cases = [
        ({"occurred_on": (date.today() + timedelta(days=2)).isoformat()}, "occurred_on"),
        ({"site_id": world.sites["mine_krg"]}, "site_id"),
        ({"potential_severity": "catastrophic"}, "potential_severity"),
        ({"description": "short"}, "description"),
    ]
    for over, field in cases:
        r = c.post("/api/v1/risk/near-misses", json={**good, **over})
        assert r.status_code == 422, (over, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field
    db.expire_all()
    assert db.query(NearMiss).count() == before


def test_inputs_are_tenant_scoped(client_as, world):
    mine, build = world.enterprises["mine_krg"], world.enterprises["build_ala"]
    month = {"year": 2025, "month": 1, "hours": 100}
    # the builder's OSH officer cannot write or read the mine's figures
    osh_ala = client_as("osh_ala")
    assert osh_ala.put(f"/api/v1/risk/hours-worked/{mine}", json=month).status_code == 422
    assert osh_ala.get(f"/api/v1/risk/hours-worked/{mine}").status_code == 404
    assert osh_ala.get(f"/api/v1/risk/near-misses/{mine}").status_code == 404
    # the mine's officer records; the Karaganda inspector reads; the Almaty inspector does not
    r = client_as("osh_krg").put(f"/api/v1/risk/hours-worked/{mine}", json=month)
    assert r.status_code == 200, r.text
    assert client_as("inspector_krg").get(f"/api/v1/risk/hours-worked/{mine}").status_code == 200
    assert client_as("inspector_ala").get(f"/api/v1/risk/hours-worked/{mine}").status_code == 404
    # inspectors read but do not write
    assert (
        client_as("inspector_krg").put(f"/api/v1/risk/hours-worked/{mine}", json=month).status_code
        == 403
    )
    # a worker reports a near miss for their own enterprise only
    nm = {
        "occurred_on": date.today().isoformat(),
        "hazard_type": "gas",
        "potential_severity": "fatal",
        "description": "Methane reading 1.2 % at the face, ventilation restored",
    }
    worker = client_as("worker_krg")
    assert (
        worker.post("/api/v1/risk/near-misses", json={**nm, "enterprise_id": mine}).status_code
        == 201
    )
    r = worker.post("/api/v1/risk/near-misses", json={**nm, "enterprise_id": build})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "enterprise_id"
    listed = client_as("osh_krg").get(f"/api/v1/risk/near-misses/{mine}").json()
    assert any(n["hazard_type"] == "gas" for n in listed)
