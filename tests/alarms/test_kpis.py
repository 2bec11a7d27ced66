"""Alarm KPIs (EEMUA 191) from constructed alarm histories: raises and clears at chosen times
go through the real occurrence path (records.on_condition) and the ISA machine (service.apply),
and the dashboard's numbers are asserted exactly, per site and per region, within the caller's
scope."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import make_bin
from qorgau.alarms import kpis, records
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Device
from qorgau.alarms.service import apply
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound
from qorgau.core.roles import Role
from qorgau.core.security import SYSTEM_ACTOR, Actor

from .test_pages import _login

REGION = "KZ-55"  # Pavlodar: no other test's sites
DEVICES = [("CH4-1", "gas", "CH4"), ("CO-1", "gas", "CO"), ("FAN-1", "ventilation", "fan"),
           ("W-1", "wearable", "position"), ("W-2", "wearable", "position")]
_n = itertools.count(1)


def _enterprise(db, region: str = REGION) -> int:
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn

    return registry.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(
        bin=make_bin(), name=f"KPI enterprise {next(_n)}", activity_code="05",
        region_code=region, lon=76.95, lat=52.29, size_band="large", hazardous=True)).id


def _site(db, enterprise_id: int, name: str) -> tuple[int, dict[str, Device]]:
    """A mine with the usual devices (every mine has a CH4-1)."""
    from qorgau.alarms import service
    from qorgau.alarms.schemas import DeviceIn
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=enterprise_id, kind="mine", name=f"{name} {next(_n)}", lon=76.95,
        lat=52.29))
    devs = {code: service.create_device(db=db, actor=SYSTEM_ACTOR, data=DeviceIn(
        site_id=site.id, code=code, kind=kind, quantity=q)) for code, kind, q in DEVICES}
    db.commit()
    return site.id, devs


def _osh(enterprise_id: int, region: str = REGION) -> Actor:
    return Actor(kind="user", id=None, name="osh-kpi", role=Role.EMPLOYER_OSH, region=region,
                 enterprise_id=enterprise_id)


def _pulse(db, dev: Device, kind: str, t: float, dur: float = 5.0) -> None:
    """One excursion: raised at t, cleared dur seconds later (left unacknowledged)."""
    assert records.on_condition(db, dev, kind, True, t, 1.0) is not None
    assert records.on_condition(db, dev, kind, False, t + dur, 0.0) is not None


def _now():
    return utcnow().replace(microsecond=0)


def _rows(items: list[dict]) -> list[tuple]:
    return [(x["site_id"], x["device"], x["kind"], x["count"]) for x in items]


def test_rate_peak_flood_top10_and_sites_worst_first_count_every_site(db):
    ent = _enterprise(db)
    a, da = _site(db, ent, "KPI A")
    b, dbb = _site(db, ent, "KPI B")
    c, _dc = _site(db, ent, "KPI C")  # monitored, no alarm: its operator still counts
    now = _now()
    t0 = (now - timedelta(hours=2)).timestamp()
    _pulse(db, da["CH4-1"], "HI", t0 - 120)  # before the window
    for k in range(12):  # period 0: 12 raises at site A, 40 s apart (a flood, no chatter)
        _pulse(db, da["CH4-1"], "HI", t0 + 100 + 40 * k)
    for k in range(10):  # period 1: 10 raises, the flood limit itself (not a flood)
        _pulse(db, da["CO-1"], "HI", t0 + 610 + 50 * k)
    for dt in (0, 30, 60):  # period 5 at site B: three raises within 60 s: chattering
        _pulse(db, dbb["FAN-1"], "LOLO", t0 + 3010 + dt)
    for dt in (0, 31, 62):  # three raises within 62 s: not chattering
        _pulse(db, dbb["CH4-1"], "HI", t0 + 3010 + dt)
    db.commit()

    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    assert k["operators"] == 3 and k["alarms"] == 28
    assert k["per_operator_hour"] == round(28 / 3 / 2, 2) == 4.67
    assert k["peak_per_10min"] == 12
    assert k["pct_time_in_flood"] == round(100 * 1 / (3 * 12), 2) == 2.78  # 1 of 36 periods
    names = {s["site_id"]: s["site"] for s in k["sites"]}
    assert [(s["site_id"], s["alarms"], s["per_operator_hour"], s["peak_per_10min"],
             s["pct_time_in_flood"]) for s in k["sites"]] == [
        (a, 22, 11.0, 12, 8.33), (b, 6, 3.0, 6, 0.0), (c, 0, 0.0, 0, 0.0)]
    assert names[a].startswith("KPI A") and names[c].startswith("KPI C")
    assert _rows(k["top10"]) == [(a, "CH4-1", "HI", 12), (a, "CO-1", "HI", 10),
                                 (b, "CH4-1", "HI", 3), (b, "FAN-1", "LOLO", 3)]
    assert [t["site"] for t in k["top10"]] == [names[a], names[a], names[b], names[b]]
    assert [t["pct"] for t in k["top10"]] == [42.9, 35.7, 10.7, 10.7]
    assert [(x["site_id"], x["device"], x["kind"], x["count"], x["per_minute"])
            for x in k["chattering"]] == [(b, "FAN-1", "LOLO", 3, 3)]

    one = kpis.compute(db=db, actor=_osh(ent), site_id=a, hours=2, now=now)
    assert (one["operators"], one["per_operator_hour"], one["pct_time_in_flood"]) == (1, 11.0,
                                                                                      8.33)
    other = kpis.compute(db=db, actor=_osh(ent), region="KZ-75", hours=2, now=now)
    assert (other["operators"], other["alarms"], other["sites"]) == (0, 0, [])


def test_chattering_counts_raises_whether_excursions_share_a_record_or_not(db):
    ent = _enterprise(db)
    s1, d1 = _site(db, ent, "KPI chatter new")
    s2, d2 = _site(db, ent, "KPI chatter old")
    now = _now()
    t = (now - timedelta(minutes=30)).timestamp()
    for dt in (0, 20, 40):  # through records: each excursion its own occurrence
        _pulse(db, d1["CO-1"], "HI", t + dt)
    records.on_condition(db, d2["CO-1"], "HI", True, t, 1.0)  # one record re-raised twice
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == s2))
    for dt in (5, 20, 25, 40):
        apply(db, rec, None, trigger_fn="process", active=dt % 10 == 0, time=t + dt)
    # a shelved condition's raises are not annunciated: neither counted nor chattering
    records.on_condition(db, d2["FAN-1"], "LOLO", True, t, 1.0)
    fan = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == s2,
                                              AlarmRecord.kind == "LOLO"))
    apply(db, fan, None, trigger_fn="shelve", actor="op", time=t + 1, expiry=t + 3600,
          reason="fan trial")
    for dt in (10, 20, 30):
        records.on_condition(db, d2["FAN-1"], "LOLO", False, t + dt, 0.0)
        records.on_condition(db, d2["FAN-1"], "LOLO", True, t + dt + 2, 1.0)
    db.commit()
    assert len(db.scalars(select(AlarmEvent).join(AlarmRecord).where(
        AlarmRecord.site_id == s1, AlarmEvent.trigger == "raise")).all()) == 3
    assert db.scalar(select(AlarmRecord.id).where(AlarmRecord.site_id == s2,
                                                  AlarmRecord.kind == "HI")) == rec.id
    assert len(db.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == rec.id,
                                                   AlarmEvent.trigger == "raise")).all()) == 3

    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=1, now=now)
    assert k["alarms"] == 7  # 3 + 3 + the fan's first raise
    assert sorted((x["site_id"], x["device"], x["kind"], x["count"], x["per_minute"])
                  for x in k["chattering"]) == [(s1, "CO-1", "HI", 3, 3),
                                                (s2, "CO-1", "HI", 3, 3)]
    assert (s2, "FAN-1", "LOLO", 1) in _rows(k["top10"])


def test_standing_stale_and_silent_counts(db):
    ent = _enterprise(db)
    s, d = _site(db, ent, "KPI standing")
    now = _now()
    h = lambda n: (now - timedelta(hours=n)).timestamp()  # noqa: E731
    records.on_condition(db, d["CH4-1"], "HI", True, h(30), 1.1)  # active 30 h: stale
    records.on_condition(db, d["CO-1"], "HI", True, h(2), 25.0)  # acknowledged, active
    co = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == s, AlarmRecord.kind == "HI",
                                             AlarmRecord.device_id == d["CO-1"].id))
    apply(db, co, None, trigger_fn="ack", actor="op", time=h(1))
    # active 40 h, but shelved until an hour ago: annunciated for 1 h, so standing, not stale
    records.on_condition(db, d["FAN-1"], "LOLO", True, h(40), 0.0)
    fan = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == s,
                                              AlarmRecord.kind == "LOLO"))
    apply(db, fan, None, trigger_fn="shelve", actor="op", time=h(39), expiry=h(-1),
          reason="fan overhaul")
    apply(db, fan, None, trigger_fn="unshelve", actor="op", time=h(1))
    records.on_condition(db, d["W-1"], "STALE", True, h(3), None)  # a silent wearable
    records.on_condition(db, d["CH4-1"], "HIHI", True, h(50), 2.1)  # back to normal, unacked
    records.on_condition(db, d["CH4-1"], "HIHI", False, h(49), 0.5)
    records.on_condition(db, d["W-2"], "SOS", True, h(26), None)  # out of service: hidden
    sos = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == s,
                                              AlarmRecord.kind == "SOS"))
    apply(db, sos, None, trigger_fn="remove_from_service", actor="op", time=h(25),
          reason="device repair")
    db.commit()

    k = kpis.compute(db=db, actor=_osh(ent), site_id=s, hours=24, now=now)
    assert (k["standing"], k["stale"], k["silent"]) == (4, 1, 1)
    assert k["life_safety_open"] == 4  # CH4 HI, CO HI, the STALE wearable, the SOS
    assert [(r["site_id"], r["standing"], r["stale"], r["silent"]) for r in k["sites"]] == [
        (s, 4, 1, 1)]
    later = kpis.compute(db=db, actor=_osh(ent), site_id=s, hours=24,
                         now=now + timedelta(hours=24))
    assert (later["standing"], later["stale"]) == (4, 4)  # each now annunciated > 24 h


def test_worst_site_first_by_rate_then_stale(db):
    ent = _enterprise(db)
    quiet, _dq = _site(db, ent, "KPI quiet")
    stale, ds = _site(db, ent, "KPI stale")
    busy, db_ = _site(db, ent, "KPI busy")
    now = _now()
    records.on_condition(db, ds["CH4-1"], "HI", True, (now - timedelta(hours=30)).timestamp(),
                         1.1)
    for k in range(4):
        _pulse(db, db_["CO-1"], "HI", (now - timedelta(minutes=50 - 5 * k)).timestamp())
    db.commit()
    k = kpis.compute(db=db, actor=_osh(ent), hours=1, now=now)
    assert [r["site_id"] for r in k["sites"]] == [busy, stale, quiet]


def test_scope_region_inspector_enterprise_user_and_other_tenants(db, world, mine, as_,
                                                                    client_as):
    from qorgau.registry.models import Site

    ala, da = _site(db, world.enterprises["build_ala"], "KPI Almaty")
    t = (utcnow() - timedelta(minutes=10)).timestamp()
    _pulse(db, db.get(Device, mine.devices["CH4-1"]), "HI", t)
    _pulse(db, da["CH4-1"], "HI", t)
    db.commit()

    def sites(k: dict) -> set[int]:
        return ({r["site_id"] for r in k["sites"]} | {r["site_id"] for r in k["top10"]}
                | {r["site_id"] for r in k["chattering"]})

    krg = kpis.compute(db=db, actor=as_("inspector_krg"))
    assert mine.site_id in sites(krg) and ala not in sites(krg)
    assert set(db.scalars(select(Site.region_code).where(Site.id.in_(sites(krg))))) == {"KZ-35"}
    osh = kpis.compute(db=db, actor=as_("osh_krg"))
    assert mine.site_id in sites(osh)
    assert set(db.scalars(select(Site.enterprise_id).where(Site.id.in_(sites(osh))))) == {
        world.enterprises["mine_krg"]}
    ala_k = kpis.compute(db=db, actor=as_("inspector_ala"))
    assert ala in sites(ala_k) and mine.site_id not in sites(ala_k)
    assert (ala, "CH4-1", "HI", 1) in _rows(ala_k["top10"])
    with pytest.raises(NotFound):
        kpis.compute(db=db, actor=as_("inspector_ala"), site_id=mine.site_id)
    none = kpis.compute(db=db, actor=as_("osh_ala"), region="KZ-35")
    assert (none["operators"], none["alarms"], none["top10"], none["sites"]) == (0, 0, [], [])
    api = client_as("inspector_ala")
    assert api.get(f"/api/v1/alarms/kpis?site_id={mine.site_id}").status_code == 404
    assert api.get(f"/api/v1/alarms/kpis?site_id={ala}").json()["alarms"] >= 1


@pytest.mark.parametrize(("lang", "heading"), [("kk", "Объектілер, ең нашарынан бастап"),
                                                ("ru", "Объекты, сначала худшие"),
                                                ("en", "Sites, worst first")])
def test_page_shows_sites_worst_first_and_top10_with_site_names(client, db, world, new_mines,
                                                                lang, heading):
    m1, m2 = new_mines(), new_mines()
    t = (utcnow() - timedelta(minutes=10)).timestamp()
    for m, n in ((m1, 3), (m2, 1)):
        for k in range(n):
            _pulse(db, db.get(Device, m.devices["CH4-1"]), "HI", t + 20 * k)
    db.commit()
    _login(client, world, "inspector_krg")
    client.get(f"/lang/{lang}?next=/alarms")
    page = client.get("/alarms-kpis?region=KZ-35&hours=1")
    assert page.status_code == 200 and heading in page.text
    from qorgau.registry.models import Site

    names = {m.site_id: db.get(Site, m.site_id).name for m in (m1, m2)}
    for sid, name in names.items():  # every site of the region in the table
        assert f'href="/alarms-kpis?site_id={sid}&amp;hours=1">{name}</a>' in page.text
    # the busier site (3 alarms in the hour, against 1) comes first
    assert page.text.index(f"/alarms-kpis?site_id={m1.site_id}&") < page.text.index(
        f"/alarms-kpis?site_id={m2.site_id}&")
    one = client.get(f"/alarms-kpis?site_id={m1.site_id}&hours=1")
    assert one.status_code == 200 and heading not in one.text  # one site: no table
    row = (rf'<a href="/alarms/sites/{m1.site_id}">{re.escape(names[m1.site_id])}</a></td>'
           r'<td class="mono">CH4-1</td><td>HI</td><td>3</td>')
    assert len(re.findall(row, one.text)) == 2  # top 10 and chattering, with the site's name
    _login(client, world, "inspector_ala")
    assert client.get(f"/alarms-kpis?site_id={m1.site_id}").status_code == 404
    assert client.get("/alarms-kpis?hours=0").status_code == 422


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_page_in_chromium_on_a_phone_and_a_desktop(db_url, db, world, new_mines) -> None:
    from playwright.sync_api import sync_playwright

    from livesite import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, live_server, login

    mines = [new_mines() for _ in range(3)]
    t = (utcnow() - timedelta(minutes=50)).timestamp()
    for i, m in enumerate(mines):
        for k in range(4 * i + 1):  # the last mine floods one period and chatters
            _pulse(db, db.get(Device, m.devices["CH4-1" if k % 2 else "CO-1"]),
                   "HI", t + 8 * k, 3.0)
    records.on_condition(db, db.get(Device, mines[0].devices["FAN-1"]), "LOLO", True,
                         (utcnow() - timedelta(hours=30)).timestamp(), 0.0)  # stale
    db.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server() as live, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, tag in ((390, "phone"), (1280, "desktop")):
                ctx = browser.new_context(viewport={"width": width, "height": 900},
                                          is_mobile=width < 500)
                page = ctx.new_page()
                login(page, live, "inspector.krg")
                for lang in ("kk", "ru", "en"):
                    page.goto(f"{live}/lang/{lang}?next=/alarms-kpis%3Fregion%3DKZ-35%26hours%3D2")
                    assert page.locator("h1").is_visible()
                    # sites, top 10, chattering (and shared consoles when other tests of
                    # the session made some in the region)
                    assert page.locator("section:not(#shared-consoles) table").count() == 3
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    page.screenshot(path=str(ARTIFACTS / f"kpi-{tag}-{lang}.png"),
                                    full_page=True)
                ctx.close()
        finally:
            browser.close()
