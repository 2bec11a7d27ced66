"""Indicators: figures equal plain SQL counts over the same data; scoping; Garwood; YoY; exports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from qorgau.incidents import deadlines
from qorgau.indicators import stats


def _report(client, when: datetime, severity: str = "minor", n: int = 1) -> dict:
    victims = [
        {"full_name": f"Victim {i}", "birth_date": "1980-01-01", "severity": severity}
        for i in range(n)
    ]
    body = {
        "occurred_at": when.isoformat(),
        "severity": severity,
        "victims": victims,
        "circumstances": "Caught between moving parts of a conveyor belt.",
    }
    r = client.post("/api/v1/accidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def data(client_as):
    now = datetime.now(UTC) - timedelta(hours=1)
    krg, ala = client_as("osh_krg"), client_as("osh_ala")
    _report(krg, now, "fatal", 2)
    _report(krg, now - timedelta(days=1))
    _report(ala, now, "severe")
    return deadlines.local_day(now)  # accidents are dated in Kazakhstan time, not UTC


def _sql(db, where: str, **params) -> int:
    return db.execute(text(f"SELECT count(*) FROM accident_victim WHERE {where}"), params).scalar()


def test_dashboard_figures_equal_plain_sql(client_as, db, data):
    start = date(data.year, 1, 1)
    q = f"start={start}&end={data}"
    analyst = client_as("analyst")
    s = analyst.get(f"/api/v1/indicators/summary?{q}").json()
    assert s["injured"] == _sql(db, "occurred_on BETWEEN :a AND :b", a=start, b=data)
    assert s["fatal"] == _sql(
        db, "occurred_on BETWEEN :a AND :b AND severity='fatal'", a=start, b=data
    )
    workers = db.execute(
        text(
            "SELECT count(*) FROM employment WHERE start_date <= :m AND "
            "(end_date IS NULL OR end_date >= :m)"
        ),
        {"m": start + (data - start) / 2},
    ).scalar()
    assert s["headcount"] == workers
    assert s["rate_per_1000"] == pytest.approx(s["injured"] / workers * 1000)
    rows = analyst.get(f"/api/v1/indicators/table?by=region&{q}").json()["rows"]
    for r in rows:
        assert r["injured"] == _sql(
            db, "region_code=:r AND occurred_on BETWEEN :a AND :b", r=r["key"], a=start, b=data
        )
    sev = {
        r["key"]: r["injured"]
        for r in analyst.get(f"/api/v1/indicators/table?by=severity&{q}").json()["rows"]
    }
    assert sev["fatal"] == _sql(
        db, "severity='fatal' AND occurred_on BETWEEN :a AND :b", a=start, b=data
    )


def test_each_role_sees_its_slice(client_as, db, data):
    start = date(data.year, 1, 1)
    q = f"start={start}&end={data}"
    insp = client_as("inspector_krg").get(f"/api/v1/indicators/summary?{q}").json()
    assert insp["injured"] == _sql(
        db, "region_code='KZ-35' AND occurred_on BETWEEN :a AND :b", a=start, b=data
    )
    regions = {
        r["key"]
        for r in client_as("inspector_ala")
        .get(f"/api/v1/indicators/table?by=region&{q}")
        .json()["rows"]
    }
    assert regions <= {"KZ-75"}
    geo = client_as("inspector_ala").get(f"/api/v1/indicators/regions?{q}").json()
    assert {g["iso"] for g in geo} <= {"KZ-75"}
    national = client_as("analyst").get(f"/api/v1/indicators/regions?{q}").json()
    assert len(national) >= 17 and all("rate_per_1000" in g for g in national)
    assert client_as("insurer").get(f"/api/v1/indicators/summary?{q}").status_code == 403


def test_year_on_year_same_dates(client_as, db, data):
    from qorgau.indicators.service import same_period_dates

    assert same_period_dates(date(2024, 2, 29))[3] == date(2023, 2, 28)
    assert same_period_dates(date(2025, 5, 1)) == (
        date(2025, 1, 1),
        date(2025, 5, 1),
        date(2024, 1, 1),
        date(2024, 5, 1),
    )
    y = client_as("analyst").get(f"/api/v1/indicators/yoy?on={data}").json()
    assert y["current"]["injured"] == _sql(
        db, "occurred_on BETWEEN :a AND :b", a=date(data.year, 1, 1), b=data
    )


def test_garwood_matches_published_values():
    lo, hi = stats.garwood(0)
    assert lo == 0 and hi == pytest.approx(3.6889, abs=1e-3)
    lo, hi = stats.garwood(10)
    assert lo == pytest.approx(4.7954, abs=1e-3) and hi == pytest.approx(18.3904, abs=1e-3)
    r = stats.rate(3, 1500, 1000)
    assert r.value == pytest.approx(2.0) and r.low < 2.0 < r.high
    assert stats.rate(3, 0, 1000).value is None
    assert stats.change_pct(83, 100) == pytest.approx(-17.0)


def test_exports(client_as, data):
    analyst = client_as("analyst")
    q = f"start={date(data.year, 1, 1)}&end={data}"
    csv_body = analyst.get(f"/api/v1/indicators/export.csv?by=region&{q}")
    assert csv_body.status_code == 200 and "rate_per_1000" in csv_body.text
    x = analyst.get(f"/api/v1/indicators/export.xlsx?by=section&{q}")
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws.cell(1, 1).value == "key" and ws.cell(ws.max_row, 1).value == "TOTAL"
    ilo = analyst.get(f"/api/v1/indicators/ilostat.csv?from_year={data.year}&to_year={data.year}")
    assert "INJ_FATL_ECO_RT_A" in ilo.text and "ECO_ISIC4_" in ilo.text
    esaw = analyst.get(f"/api/v1/indicators/esaw.csv?{q}")
    assert esaw.text.splitlines()[0].lstrip("\ufeff").startswith("case_id,accident_id")


def test_bad_filters_name_the_field(client_as):
    analyst = client_as("analyst")
    r = analyst.get("/api/v1/indicators/summary?start=2025-05-01&end=2025-01-01")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "end"
    assert analyst.get("/api/v1/indicators/table?by=colour").status_code == 422


def test_dashboard_page(app, db, world, data):
    from incidents.test_pages import login

    page = login(app, db, world, "analyst").get("/indicators")
    assert page.status_code == 200 and "plotly.min.js" in page.text
    region = login(app, db, world, "analyst").get("/indicators?region=KZ-35")
    assert region.status_code == 200
    ent = login(app, db, world, "analyst").get(
        f"/indicators?region=KZ-35&enterprise_id={world.enterprises['mine_krg']}"
    )
    assert ent.status_code == 200 and "/incidents/" in ent.text


def test_months_and_denominators_equal_plain_sql(client_as, db, data):
    """Months are folded from per-day groups; region denominators come from the registry's
    pre-aggregated headcount: both against plain SQL over the same rows."""
    start = date(data.year - 1, 1, 1)
    q = f"start={start}&end={data}"
    analyst = client_as("analyst")
    rows = analyst.get(f"/api/v1/indicators/table?by=month&{q}").json()["rows"]
    assert rows and [r["key"] for r in rows] == sorted(r["key"] for r in rows)
    for r in rows:
        y, m = divmod(r["key"], 100)
        a = date(y, m, 1)
        # The last month is cut at the period's end: seeded accidents may lie after it.
        b = min((a + timedelta(days=32)).replace(day=1) - timedelta(days=1), data)
        where = "occurred_on BETWEEN :a AND :b"
        assert r["injured"] == _sql(db, where, a=a, b=b), r
        accidents = db.execute(
            text(f"SELECT count(DISTINCT accident_id) FROM accident_victim WHERE {where}"),
            {"a": a, "b": b},
        ).scalar()
        assert r["accidents"] == accidents, r
        assert r["label"] == f"{y}-{m:02d}"
    mid = start + (data - start) / 2
    for r in analyst.get(f"/api/v1/indicators/table?by=region&{q}").json()["rows"]:
        workers = db.execute(
            text(
                "SELECT count(*) FROM employment WHERE region_code = :r AND start_date <= :m "
                "AND (end_date IS NULL OR end_date >= :m)"
            ),
            {"r": r["key"], "m": mid},
        ).scalar()
        assert r["headcount"] == workers and workers > 0, r


def test_ltifr_where_hours_are_known_equals_plain_sql(client_as, db, world):
    """LTIFR = lost-time injuries in the months with recorded hours × 10^6 / those hours, over
    the caller's slice; None where nobody recorded hours."""
    from factories import make_bin, make_iin
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EmploymentIn, WorkerIn

    ent = world.enterprises["mine_krg"]
    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)  # last month
    last = date.today().replace(day=1) - timedelta(days=1)
    iin = make_iin()
    registry.register_employment(db=db, actor=SYSTEM_ACTOR, data=EmploymentIn(
        contract_no=f"LT-{make_bin()}", worker=WorkerIn(iin=iin, last_name="Серік",
                                                         first_name="Айдос"),
        enterprise_bin=db.get(Enterprise, ent).bin, occupation="miner",
        start_date=first - timedelta(days=400)))
    osh = client_as("osh_krg")
    when = datetime.combine(first + timedelta(days=9), datetime.min.time(), tzinfo=UTC)
    r = osh.post("/api/v1/accidents", json={
        "occurred_at": when.isoformat(), "severity": "minor",
        "victims": [{"iin": iin, "severity": "minor"}],
        "circumstances": "Struck by a falling rock at the face."})
    assert r.status_code == 201, r.text
    put = osh.put(f"/api/v1/risk/hours-worked/{ent}",
                  json={"year": first.year, "month": first.month, "hours": 1000})
    assert put.status_code == 200, put.text
    q = f"start={first}&end={last}"
    got = client_as("analyst").get(f"/api/v1/indicators/summary?{q}&enterprise_id={ent}")
    body = got.json()["ltifr"]
    lti = _sql(db, "enterprise_id = :e AND employed_here AND occurred_on BETWEEN :a AND :b",
               e=ent, a=first, b=last)
    hours = db.execute(text(
        "SELECT hours FROM risk_hours_worked WHERE enterprise_id = :e AND year = :y AND "
        "month = :m ORDER BY revision DESC LIMIT 1"), {"e": ent, "y": first.year,
                                                      "m": first.month}).scalar()
    assert lti >= 1 and body["lost_time_injuries"] == lti and body["hours"] == hours
    assert body["ltifr"] == round(lti * 1_000_000 / hours, 2)
    other = client_as("inspector_ala").get(f"/api/v1/indicators/summary?{q}").json()["ltifr"]
    ala_hours = db.execute(text(
        "SELECT count(DISTINCT enterprise_id) FROM risk_hours_worked WHERE region_code = 'KZ-75' "
        "AND year = :y AND month = :m"), {"y": first.year, "m": first.month}).scalar()
    assert other["enterprises_with_hours"] == ala_hours  # the Karaganda mine is not in it
    none = client_as("analyst").get("/api/v1/indicators/summary?start=2001-01-01&end=2001-12-31")
    assert none.json()["ltifr"]["ltifr"] is None
