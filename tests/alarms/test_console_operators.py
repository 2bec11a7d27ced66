"""Console operators per site: set with the site's work shifts (routing page and PUT
/sites/{id}/shifts; a whole number 1-20, validated by field, audited with before and after, in
the caller's scope), and the alarm KPIs divide each site's alarms by its own operators."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qorgau.alarms import kpis, shifts
from qorgau.alarms.models import ConsoleStaffing, Device
from qorgau.alarms.schemas import ShiftsIn
from qorgau.core.audit import AuditEntry
from qorgau.core.db import utcnow
from qorgau.registry.models import Site

from .test_kpis import REGION, _enterprise, _now, _osh, _pulse, _site
from .test_pages import _login

DEFAULTS = ["00:00", "08:00", "16:00"]


def test_kpis_divide_each_sites_alarms_by_its_own_operators(db):
    ent = _enterprise(db)
    big, dbig = _site(db, ent, "KPI three operators")
    small, dsmall = _site(db, ent, "KPI one operator")
    out = shifts.set_settings(db=db, actor=_osh(ent), site_id=big, data=ShiftsIn(
        shift_starts=DEFAULTS, console_operators=3, reason="three dispatchers on the console"))
    assert out == {"shift_starts": DEFAULTS, "console_operators": 3, "revision": 1}
    now = _now()
    _staffed_since(db, big, now - timedelta(hours=3))  # three on duty for the whole window
    t0 = (now - timedelta(hours=2)).timestamp()
    for k in range(33):  # period 0 at the big site: 11 per operator, a flood for all three
        _pulse(db, dbig["CH4-1" if k % 2 else "CO-1"], "HI", t0 + 5 + 17 * k)
    for k in range(6):  # period 3: 2 per operator
        _pulse(db, dbig["CO-1"], "HI", t0 + 1810 + 60 * k)
    for k in range(9):  # period 1 at the small site: 9 for its one operator (no flood)
        _pulse(db, dsmall["CH4-1"], "HI", t0 + 610 + 60 * k)
    db.commit()

    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    assert (k["operators"], k["alarms"]) == (4, 48)
    assert k["per_operator_hour"] == 48 / 4 / 2 == 6.0  # not 48 / 2 sites / 2 h = 12
    assert k["peak_per_10min"] == 11  # 33 shared by 3, against the small site's 9 for one
    # flooded operator-periods: the big site's 3 operators in period 0, of 4 x 12
    assert k["pct_time_in_flood"] == round(100 * 3 / 48, 2) == 6.25
    assert [(s["site_id"], s["operators"], s["alarms"], s["per_operator_hour"],
             s["peak_per_10min"], s["pct_time_in_flood"]) for s in k["sites"]] == [
        (big, 3, 39, round(39 / 3 / 2, 2), 11, round(100 / 12, 2)),
        (small, 1, 9, 9 / 1 / 2, 9, 0.0)]

    one = kpis.compute(db=db, actor=_osh(ent), site_id=big, hours=2, now=now)
    assert (one["operators"], one["per_operator_hour"], one["peak_per_10min"]) == (3, 6.5, 11)


def _staffed_since(db, site_id: int, when) -> None:
    """The site's latest staffing row as if set at `when` (the API sets numbers from now)."""
    row = db.scalars(select(ConsoleStaffing).where(ConsoleStaffing.site_id == site_id)
                     .order_by(ConsoleStaffing.id.desc())).first()
    row.valid_from = when
    db.commit()


def test_kpis_count_the_operators_on_duty_in_each_period_not_todays(db):
    """One operator for the window's first hour, three from then on: the first hour's
    floods stay floods, and the rate divides by the operator-hours of each part."""
    ent = _enterprise(db)
    site, devs = _site(db, ent, "KPI staffed later")
    now = _now()
    since = now - timedelta(hours=2)
    t0 = since.timestamp()
    for k in range(12):  # period 0: 12 alarms for the one operator, a flood
        _pulse(db, devs["CH4-1" if k % 2 else "CO-1"], "HI", t0 + 5 + 40 * k)
    for k in range(12):  # period 6 (the second hour): 12 alarms shared by three
        _pulse(db, devs["CO-1"], "HI", t0 + 3600 + 5 + 40 * k)
    db.commit()
    osh = _osh(ent)
    body = ShiftsIn(shift_starts=DEFAULTS, console_operators=3, reason="two more on the console")
    shifts.set_settings(db=db, actor=osh, site_id=site, data=body)
    shifts.set_settings(db=db, actor=osh, site_id=site, data=body)  # unchanged: no new row
    rows = db.scalars(select(ConsoleStaffing).where(ConsoleStaffing.site_id == site)).all()
    assert [(r.operators, r.created_by) for r in rows] == [(3, osh.label)]
    assert shifts.operators_by_period(db, [site], since, 12, 600)[site] == [1] * 12  # from now
    _staffed_since(db, site, since + timedelta(hours=1))

    assert shifts.operators_by_period(db, [site], since, 12, 600)[site] == [1] * 6 + [3] * 6
    k = kpis.compute(db=db, actor=osh, site_id=site, hours=2, now=now)
    assert (k["operators"], k["operator_hours"], k["alarms"]) == (3, 4, 24)
    assert k["per_operator_hour"] == 24 / 4 == 6.0  # not 24 / 3 / 2 = 4
    assert k["peak_per_10min"] == 12  # the first hour's one operator
    assert k["pct_time_in_flood"] == round(100 * 1 / 24, 2)  # 1 of 6 + 18 operator-periods
    # a change mid-period counts from the next period on
    _staffed_since(db, site, since + timedelta(minutes=55))
    assert shifts.operators_by_period(db, [site], since, 12, 600)[site] == [1] * 6 + [3] * 6
    _staffed_since(db, site, since - timedelta(days=1))
    k = kpis.compute(db=db, actor=osh, site_id=site, hours=2, now=now)
    assert (k["operator_hours"], k["per_operator_hour"], k["peak_per_10min"],
            k["pct_time_in_flood"]) == (6, 4.0, 4, 0.0)


def _audits(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "alarms.shifts.set"))


@pytest.mark.parametrize("bad", [0, 21, 2.5, 3.0, "3", True, "three", None])
def test_api_refuses_anything_but_a_whole_number_1_to_20_by_field(client_as, db, mine, bad):
    url = f"/api/v1/alarms/sites/{mine.site_id}/shifts"
    before = _audits(db)
    body = {"shift_starts": DEFAULTS, "console_operators": bad, "reason": "new roster"}
    r = client_as("osh_krg").put(url, json=body)
    if bad is None:  # null: the number stays as it is
        assert r.status_code == 200 and r.json()["console_operators"] == 1
        return
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "console_operators"]]
    assert _audits(db) == before
    assert client_as("osh_krg").get(url).json()["console_operators"] == 1


def test_api_sets_reads_and_audits_the_operators_in_scope(client_as, as_, db, mine):
    url = f"/api/v1/alarms/sites/{mine.site_id}/shifts"
    osh = client_as("osh_krg")
    assert osh.get(url).json() == {"shift_starts": DEFAULTS, "console_operators": 1,
                                   "revision": 0}
    r = osh.put(url, json={"shift_starts": ["08:00", "20:00"], "console_operators": 3,
                           "reason": "two 12-h shifts, three dispatchers"})
    assert r.status_code == 200
    assert r.json() == {"shift_starts": ["08:00", "20:00"], "console_operators": 3,
                        "revision": 1}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.shifts.set")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.actor == as_("osh_krg").label
    assert entry.object_type == "alarm_escalation"
    assert entry.diff["before"] == {"shift_starts": DEFAULTS, "console_operators": 1,
                                    "revision": 0, "site_id": mine.site_id}
    assert entry.diff["after"] == {"shift_starts": ["08:00", "20:00"], "console_operators": 3,
                                   "revision": 1, "site_id": mine.site_id,
                                   "reason": "two 12-h shifts, three dispatchers"}
    # left out: kept; the shift starts alone change
    r = osh.put(url, json={"shift_starts": ["06:00", "18:00"], "reason": "summer roster"})
    assert r.json() == {"shift_starts": ["06:00", "18:00"], "console_operators": 3,
                        "revision": 2}
    assert shifts.console_operators(db, [mine.site_id]) == {mine.site_id: 3}
    # scope: another enterprise's OSH officer does not see the site; readers may not write
    body = {"shift_starts": DEFAULTS, "console_operators": 1, "reason": "not mine"}
    assert client_as("osh_ala").get(url).status_code == 404
    assert client_as("osh_ala").put(url, json=body).status_code == 404
    for reader in ("inspector_krg", "dispatcher_krg", "rescue_krg", "analyst"):
        assert client_as(reader).get(url).json()["console_operators"] == 3
        assert client_as(reader).put(url, json=body).status_code == 403, reader
    assert osh.get(url).json()["console_operators"] == 3


def test_routing_page_edits_the_operators_and_the_kpi_table_shows_them(client, db, world,
                                                                      new_mines):
    m3, m1 = new_mines(), new_mines()
    base = f"/alarms/sites/{m3.site_id}"
    csrf = _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={base}/routing")
    page = client.get(f"{base}/routing").text
    assert re.search(r'name="console_operators" inputmode="numeric" value="1"', page)
    form = {"shift_starts": "00:00, 08:00, 16:00", "reason": "three on the console",
            "csrf_token": csrf}
    for typed, message in (("0", "Must be at least 1"), ("21", "Must be at most 20"),
                           ("2,5", "Enter a whole number"), ("", "Enter a whole number")):
        bad = client.post(f"{base}/shifts", data={**form, "console_operators": typed})
        assert bad.status_code == 422, typed
        assert re.search(r'<span class="field-error" id="e-console_operators">'
                         + re.escape(message), bad.text), typed
        assert f'name="console_operators" inputmode="numeric" value="{typed}"' in bad.text
    assert shifts.console_operators(db, [m3.site_id]) == {m3.site_id: 1}
    client.get(f"/lang/kk?next={base}/routing")
    bad = client.post(f"{base}/shifts", data={**form, "console_operators": "abc"})
    assert bad.status_code == 422 and "Бүтін сан енгізіңіз" in bad.text  # kk message
    r = client.post(f"{base}/shifts", data={**form, "console_operators": " 3 "},
                    follow_redirects=False)
    assert r.status_code == 303
    assert shifts.console_operators(db, [m3.site_id, m1.site_id]) == {m3.site_id: 3,
                                                                     m1.site_id: 1}
    page = client.get(f"{base}/routing").text
    assert "Операторлар: 1 → 3" in page and "three on the console" in page  # kk, not a key
    assert "site_id:" not in page  # unchanged, not listed
    assert "Пульттегі бір мезгілдегі кезекші операторлар" in page

    _staffed_since(db, m3.site_id, utcnow() - timedelta(hours=2))  # on duty the whole hour
    t = (utcnow() - timedelta(minutes=30)).timestamp()
    for m, n in ((m3, 6), (m1, 3)):
        for k in range(n):
            _pulse(db, db.get(Device, m.devices["CH4-1"]), "HI", t + 20 * k)
    db.commit()
    csrf = _login(client, world, "inspector_krg")
    client.get("/lang/ru?next=/alarms")
    kpi = client.get("/alarms-kpis?region=KZ-35&hours=1").text
    assert "<th>Операторы</th>" in kpi
    assert re.search(r"Операторов сейчас: \d+ — .+ Операторо-часов за окно: \d", kpi)
    for m, ops, rate in ((m3, 3, "2.0"), (m1, 1, "3.0")):  # 6 / 3 / 1 h and 3 / 1 / 1 h
        name = re.escape(db.get(Site, m.site_id).name)
        assert re.search(rf'site_id={m.site_id}&amp;hours=1">{name}</a><br><a class="small" '
                         rf'href="/alarms/sites/{m.site_id}">[^<]+</a></td><td>{ops}</td>'
                         rf'<td>{rate}</td>', kpi), m.site_id
    # readers see the number without a form; they cannot post it; other tenants get 404
    page = client.get(f"{base}/routing").text
    assert re.search(r'name="console_operators" inputmode="numeric" value="3" maxlength="3"'
                     r'\s+disabled', page)
    assert client.post(f"{base}/shifts", data={**form, "console_operators": "1",
                                               "csrf_token": csrf}).status_code == 403
    csrf = _login(client, world, "osh_ala")
    assert client.get(f"{base}/routing").status_code == 404
    assert client.post(f"{base}/shifts", data={**form, "console_operators": "1",
                                               "csrf_token": csrf}).status_code == 404
    assert shifts.console_operators(db, [m3.site_id]) == {m3.site_id: 3}


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_settings_page_in_kazakh_on_a_phone(db_url, db, world, mine) -> None:
    from livesite import ARTIFACTS, live_server, phone_page

    ARTIFACTS.mkdir(exist_ok=True)
    url = f"/alarms/sites/{mine.site_id}/routing"
    with live_server() as live, phone_page(live, "osh.mine") as page:
        page.goto(f"{live}/lang/kk?next={url}")
        field = page.locator("input[name=console_operators]")
        field.fill("0")
        field.locator("xpath=ancestor::form").locator("button[type=submit]").click()
        error = page.locator("#e-console_operators")
        assert error.is_visible() and error.inner_text() == "Кемінде 1"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "alarms-operators-error-phone-kk.png"),
                        full_page=True)
        page.locator("input[name=console_operators]").fill("2")
        form = page.locator("input[name=console_operators]").locator("xpath=ancestor::form")
        form.locator("input[name=reason]").fill("екі диспетчер")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{live}{url}?saved=1")
        assert page.locator("input[name=console_operators]").input_value() == "2"
        main = page.inner_text("main")
        assert "Жұмыс ауысымдары және пульт операторлары" in main
        assert "Операторлар: 1 → 2" in main and "site_id" not in main
        assert "console_operators" not in main
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "alarms-operators-phone-kk.png"), full_page=True)
    assert shifts.console_operators(db, [mine.site_id]) == {mine.site_id: 2}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_fills_the_staffing_history_from_the_settings_audit_trail(backend, tmp_path):
    """alarms_0017 on a database whose sites' numbers were set before it: one history row per
    change named in the audit trail, at its time, by its actor; an unchanged number (1, the
    default, set again) adds none."""
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from conftest import create_pg_database
    from qorgau.core.migrate import alembic_config, upgrade

    url, drop = ((f"sqlite:///{tmp_path / 'm.sqlite3'}", lambda: None) if backend == "sqlite"
                 else create_pg_database())
    engine = create_engine(url)
    try:
        upgrade(url)
        with Session(engine) as db:
            ent = _enterprise(db)
            site, _devs = _site(db, ent, "KPI before history")
            for n, why in ((1, "default"), (3, "three"), (2, "two")):
                shifts.set_settings(db=db, actor=_osh(ent), site_id=site, data=ShiftsIn(
                    shift_starts=DEFAULTS, console_operators=n, reason=why))
            trail = db.execute(select(AuditEntry.at, AuditEntry.actor).where(
                AuditEntry.action == "alarms.shifts.set").order_by(AuditEntry.seq)).all()
        cfg = alembic_config(url)
        command.downgrade(cfg, "alarms_0016")  # the history table goes, the trail stays
        command.upgrade(cfg, "alarms_0017")
        with Session(engine) as db:
            rows = db.execute(select(ConsoleStaffing.operators, ConsoleStaffing.valid_from,
                                     ConsoleStaffing.created_by, ConsoleStaffing.region_code)
                              .where(ConsoleStaffing.site_id == site)
                              .order_by(ConsoleStaffing.valid_from)).all()
        assert [tuple(r) for r in rows] == [(3, trail[1].at, trail[1].actor, REGION),
                                           (2, trail[2].at, trail[2].actor, REGION)]
    finally:
        engine.dispose()
        drop()
