"""Alarm consoles shared by sites (consoles.py): created and edited in the caller's scope,
validated by field, audited, kept as a history; and the alarm KPIs count a shared console's
sites' alarms as one load for its operators, period by period."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qorgau.alarms import consoles, kpis
from qorgau.alarms.models import ConsoleMember, ConsoleStaffing
from qorgau.alarms.schemas import ConsoleIn
from qorgau.core.audit import AuditEntry
from qorgau.core.errors import Conflict, NotFound, RuleViolation

from .test_kpis import REGION, _enterprise, _now, _osh, _pulse, _site
from .test_pages import _login

WHY = "one dispatch room for the group"


def _new(db, ent: int, sites: list[int], name: str = "Central dispatch", n: int = 1) -> dict:
    return consoles.create(db=db, actor=_osh(ent), data=ConsoleIn(
        name=name, site_ids=sites, operators=n, reason=WHY))


def _since(db, when, console_id: int) -> None:
    """The console's rows as if made at `when` (the service stamps them now)."""
    for model, col in ((ConsoleMember, ConsoleMember.console_id),
                       (ConsoleStaffing, ConsoleStaffing.console_id)):
        for row in db.scalars(select(model).where(col == console_id)):
            row.valid_from = when
    db.commit()


def test_a_shared_consoles_sites_are_one_load_for_its_operators(db):
    """Two mines, six alarms each in the first 10 minutes: apart, six per operator (no
    flood); on one console with one dispatcher, twelve (a flood), and the region counts one
    operator, not two."""
    ent = _enterprise(db)
    a, da = _site(db, ent, "Console A")
    b, dbb = _site(db, ent, "Console B")
    c, _dc = _site(db, ent, "Console C")  # its own console, quiet
    now = _now()
    t0 = (now - timedelta(hours=2)).timestamp()
    for k in range(6):
        _pulse(db, da["CH4-1"], "HI", t0 + 10 + 60 * k)
        _pulse(db, dbb["CO-1"], "HI", t0 + 20 + 60 * k)
    db.commit()
    apart = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    assert (apart["operators"], apart["peak_per_10min"], apart["pct_time_in_flood"]) == (
        3, 6, 0.0)
    assert apart["consoles"] == []

    made = _new(db, ent, [a, b], name="KPI dispatch")
    _since(db, now - timedelta(hours=3), made["id"])
    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    assert (k["operators"], k["alarms"], k["operator_hours"]) == (2, 12, 4)
    assert k["per_operator_hour"] == 12 / 4 == 3.0
    assert k["peak_per_10min"] == 12
    assert k["pct_time_in_flood"] == round(100 * 1 / 24, 2)  # 1 of 12 + 12 operator-periods
    rows = {s["site_id"]: s for s in k["sites"]}
    assert [(rows[s]["alarms"], rows[s]["operators"], rows[s]["per_operator_hour"],
             rows[s]["peak_per_10min"], rows[s]["console"]) for s in (a, b, c)] == [
        (6, 1, 6.0, 12, "KPI dispatch"), (6, 1, 6.0, 12, "KPI dispatch"), (0, 1, 0.0, 0, None)]
    assert k["consoles"] == [{
        "console_id": made["id"], "console": "KPI dispatch", "site_ids": [a, b],
        "sites": [rows[a]["site"], rows[b]["site"]], "operators": 1,
        "operator_hours": 2, "alarms": 12, "per_operator_hour": 6.0, "peak_per_10min": 12,
        "pct_time_in_flood": round(100 / 12, 2)}]

    # one site's view still carries the other site's alarms on the shared console
    one = kpis.compute(db=db, actor=_osh(ent), site_id=a, hours=2, now=now)
    assert (one["alarms"], one["operators"], one["per_operator_hour"],
            one["peak_per_10min"]) == (6, 1, 6.0, 12)
    assert [s["site_id"] for s in one["sites"]] == [a]
    assert one["consoles"][0]["sites"] == [rows[a]["site"], rows[b]["site"]]

    # two dispatchers from the window's start: six each, no flood
    consoles.save(db=db, actor=_osh(ent), console_id=made["id"], data=ConsoleIn(
        name="KPI dispatch", site_ids=[a, b], operators=2, revision=1, reason="second desk"))
    _since(db, now - timedelta(hours=3), made["id"])
    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    assert (k["operators"], k["peak_per_10min"], k["pct_time_in_flood"]) == (3, 6, 0.0)


def test_a_site_that_joins_midway_counts_apart_before_and_together_after(db):
    ent = _enterprise(db)
    a, da = _site(db, ent, "Joins A")
    b, dbb = _site(db, ent, "Joins B")
    now = _now()
    since = now - timedelta(hours=2)
    t0 = since.timestamp()
    for base in (t0, t0 + 3600):  # 6 + 6 in period 0 and in period 6
        for k in range(6):
            _pulse(db, da["CH4-1"], "HI", base + 10 + 60 * k)
            _pulse(db, dbb["CO-1"], "HI", base + 20 + 60 * k)
    db.commit()
    made = _new(db, ent, [a], name="Joins dispatch")
    _since(db, since - timedelta(days=1), made["id"])
    consoles.save(db=db, actor=_osh(ent), console_id=made["id"], data=ConsoleIn(
        name="Joins dispatch", site_ids=[a, b], operators=1, revision=1, reason="B joins"))
    joined = db.scalar(select(ConsoleMember).where(ConsoleMember.site_id == b))
    joined.valid_from = since + timedelta(minutes=55)  # counts from period 6 on
    db.commit()
    assert consoles.owners_by_period(db, [a, b], since, 12, 600) == {
        a: [made["id"]] * 12, b: [None] * 6 + [made["id"]] * 6}

    k = kpis.compute(db=db, actor=_osh(ent), region=REGION, hours=2, now=now)
    # period 0: A's console and B's own, six each; period 6: twelve for the one dispatcher
    assert k["operator_hours"] == 3  # 12 periods of the console + 6 of B's own console
    assert (k["peak_per_10min"], k["pct_time_in_flood"]) == (12, round(100 / 18, 2))
    assert k["per_operator_hour"] == 24 / 3
    rows = {s["site_id"]: s for s in k["sites"]}
    assert rows[b]["per_operator_hour"] == round(18 / 2, 2)  # 6 alone + 12 shared, in 2 h


def test_consoles_are_validated_audited_and_kept_as_a_history(db):
    ent = _enterprise(db)
    a, _ = _site(db, ent, "Hist A")
    b, _ = _site(db, ent, "Hist B")
    osh = _osh(ent)
    made = _new(db, ent, [a, b], name="  Hist   dispatch ", n=2)
    assert (made["name"], made["operators"], made["revision"]) == ("Hist dispatch", 2, 1)
    assert [s["id"] for s in made["sites"]] == [a, b]
    assert consoles.current(db, [a, b]) == {a: made["id"], b: made["id"]}

    out = consoles.save(db=db, actor=osh, console_id=made["id"], data=ConsoleIn(
        name="Hist dispatch", site_ids=[a], operators=3, revision=1, reason="B has its own"))
    assert (out["operators"], out["revision"], [s["id"] for s in out["sites"]]) == (3, 2, [a])
    assert consoles.current(db, [a, b]) == {a: made["id"]}  # B back on its own console
    assert [(m.site_id, m.console_id) for m in db.scalars(
        select(ConsoleMember).where(ConsoleMember.site_id.in_([a, b]))
        .order_by(ConsoleMember.id))] == [(a, made["id"]), (b, made["id"]), (b, None)]
    assert [s.operators for s in db.scalars(select(ConsoleStaffing).where(
        ConsoleStaffing.console_id == made["id"]).order_by(ConsoleStaffing.id))] == [2, 3]
    trail = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "alarm_console",
                                                AuditEntry.object_id == str(made["id"]))
                       .order_by(AuditEntry.seq)).all()
    assert [e.action for e in trail] == ["alarms.console.create", "alarms.console.save"]
    assert trail[1].diff["before"]["operators"] == 2
    assert trail[1].diff["after"]["reason"] == "B has its own"

    with pytest.raises(Conflict) as stale:  # someone saved meanwhile
        consoles.save(db=db, actor=osh, console_id=made["id"], data=ConsoleIn(
            name="Hist dispatch", site_ids=[a, b], operators=1, revision=1, reason="old view"))
    assert stale.value.field == "revision"
    with pytest.raises(RuleViolation) as blind:  # a save must say what it was based on
        consoles.save(db=db, actor=osh, console_id=made["id"], data=ConsoleIn(
            name="Hist dispatch", site_ids=[a], operators=1, reason="no revision"))
    assert blind.value.field == "revision"
    with pytest.raises(Conflict) as taken:
        _new(db, ent, [b], name="Hist dispatch")
    assert taken.value.field == "name"
    assert consoles.current(db, [b]) == {}

    # a site taken by another console leaves this one: a new revision of it, audited, so a
    # form read before cannot quietly take the site back
    moved = _new(db, ent, [a, b], name="Hist second room")
    assert consoles.current(db, [a, b]) == {a: moved["id"], b: moved["id"]}
    left = consoles.get(db=db, actor=osh, console_id=made["id"])
    assert (left["sites"], left["revision"]) == ([], 3)
    release = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.console.release")
                        .order_by(AuditEntry.seq.desc()))
    assert (release.object_id, [x["id"] for x in release.diff["before"]["sites"]],
            release.diff["after"]["sites"], release.diff["after"]["to_console"],
            release.diff["after"]["revision"]) == (str(made["id"]), [a], [], moved["id"], 3)
    with pytest.raises(Conflict):
        consoles.save(db=db, actor=osh, console_id=made["id"], data=ConsoleIn(
            name="Hist dispatch", site_ids=[a], operators=3, revision=2, reason="stale form"))


def test_a_console_never_reaches_across_tenants(db):
    mine_ent, other_ent = _enterprise(db), _enterprise(db)
    a, _ = _site(db, mine_ent, "Tenant A")
    theirs, _ = _site(db, other_ent, "Tenant B")
    elsewhere = _enterprise(db, region="KZ-75")
    far, _ = _site(db, elsewhere, "Tenant far")
    with pytest.raises(RuleViolation) as foreign:  # another enterprise's site: not there
        _new(db, mine_ent, [a, theirs], name="Tenant dispatch")
    assert foreign.value.field == "site_ids" and str(theirs) in str(foreign.value)
    made = _new(db, mine_ent, [a], name="Tenant dispatch")
    other = _osh(other_ent)
    assert consoles.listing(db=db, actor=other) == []
    with pytest.raises(NotFound):
        consoles.get(db=db, actor=other, console_id=made["id"])
    with pytest.raises(NotFound):
        consoles.save(db=db, actor=other, console_id=made["id"], data=ConsoleIn(
            name="taken over", site_ids=[theirs], operators=1, revision=1, reason="mine now"))
    assert consoles.current(db, [a, theirs]) == {a: made["id"]}
    assert db.scalar(select(func.count()).select_from(ConsoleMember).where(
        ConsoleMember.site_id == theirs)) == 0
    # the enterprise's KPIs see their own sites only; the other's none of the console
    assert kpis.compute(db=db, actor=other, region=REGION, hours=2)["consoles"] == []
    assert far not in {s["site_id"] for s in kpis.compute(
        db=db, actor=_osh(mine_ent), hours=2)["sites"]}


@pytest.mark.parametrize(("body", "field"), [
    ({"operators": 0}, "operators"), ({"operators": 21}, "operators"),
    ({"operators": 2.5}, "operators"), ({"operators": "2"}, "operators"),
    ({"name": "   "}, "name"), ({"name": "x" * 81}, "name"), ({"reason": ""}, "reason"),
    ({"site_ids": [1, 1]}, "site_ids"), ({"site_ids": ["1"]}, "site_ids"),
    ({"colour": "red"}, "colour")])
def test_api_refuses_bad_consoles_by_field_and_keeps_nothing(client_as, db, mine, body, field):
    good = {"name": f"API dispatch {mine.site_id}", "site_ids": [mine.site_id], "operators": 1,
            "reason": WHY}
    before = db.scalar(select(func.count()).select_from(ConsoleMember))
    r = client_as("osh_krg").post("/api/v1/alarms/consoles", json={**good, **body})
    assert r.status_code == 422
    assert {e["loc"][1] for e in r.json()["detail"]} == {field}
    assert db.scalar(select(func.count()).select_from(ConsoleMember)) == before


def test_api_creates_reads_and_saves_in_scope(client_as, db, new_mines):
    one, two = new_mines(), new_mines()
    osh = client_as("osh_krg")
    name = f"API room {one.site_id}"
    r = osh.post("/api/v1/alarms/consoles", json={
        "name": name, "site_ids": [one.site_id, two.site_id], "operators": 2, "reason": WHY})
    assert r.status_code == 201, r.text
    made = r.json()
    assert [s["id"] for s in made["sites"]] == [one.site_id, two.site_id]
    assert osh.get(f"/api/v1/alarms/consoles/{made['id']}").json() == made
    assert made in osh.get("/api/v1/alarms/consoles").json()
    url = f"/api/v1/alarms/consoles/{made['id']}"
    body = {"name": name, "site_ids": [two.site_id], "operators": 4, "revision": 1,
            "reason": "mine one has its own room"}
    assert client_as("osh_ala").put(url, json=body).status_code == 404
    assert client_as("osh_ala").get(url).status_code == 404
    assert client_as("inspector_krg").put(url, json=body).status_code == 403
    r = osh.put(url, json=body)
    assert r.status_code == 200 and r.json()["operators"] == 4
    assert osh.put(url, json=body).status_code == 409  # revision 1 is gone
    bad = osh.post("/api/v1/alarms/consoles", json={
        "name": f"API far {one.site_id}", "site_ids": [one.site_id, 10**9], "operators": 1,
        "reason": WHY})
    assert bad.status_code == 422 and "site_ids" in bad.text


def test_kpi_page_lists_the_shared_console_with_its_sites(client_as, client, world, db,
                                                         new_mines):
    one, two = new_mines(), new_mines()
    name = f"Page room {one.site_id}"
    assert client_as("osh_krg").post("/api/v1/alarms/consoles", json={
        "name": name, "site_ids": [one.site_id, two.site_id], "operators": 3,
        "reason": WHY}).status_code == 201
    _login(client, world, "osh_krg")
    client.get("/lang/ru?next=/alarms")
    page = client.get("/alarms-kpis?hours=2").text
    assert "<h2>Общие пульты</h2>" in page
    row = re.search(rf"<tr><td>{name}</td><td>([^<]+)</td><td>3</td>", page)
    assert row is not None and len(row[1].split(", ")) == 2
    assert f'<span class="small muted">{name}</span>' in page  # in each site's row
    site = client.get(f"/alarms-kpis?site_id={one.site_id}&hours=2").text
    assert re.search(rf"<tr><td>{name}</td><td>[^<]+, [^<]+</td><td>3</td>", site)
    _login(client, world, "osh_ala")
    assert "Общие пульты" not in client.get("/alarms-kpis?hours=2").text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_down_keeps_each_sites_own_staffing(backend, tmp_path):
    """alarms_0018 down and up on a database with both kinds of staffing row: a site's own
    rows stay, a shared console's go with its tables, and the upgrade applies again."""
    from alembic import command
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.orm import Session

    from conftest import create_pg_database
    from qorgau.alarms import shifts
    from qorgau.alarms.schemas import ShiftsIn
    from qorgau.core.migrate import alembic_config, upgrade

    url, drop = ((f"sqlite:///{tmp_path / 'm.sqlite3'}", lambda: None) if backend == "sqlite"
                 else create_pg_database())
    engine = create_engine(url)
    try:
        upgrade(url)
        with Session(engine) as db:
            ent = _enterprise(db)
            a, _ = _site(db, ent, "Migrated A")
            shifts.set_settings(db=db, actor=_osh(ent), site_id=a, data=ShiftsIn(
                shift_starts=["08:00", "20:00"], console_operators=3, reason="own desk"))
            _new(db, ent, [a], name="Migrated room", n=2)
        cfg = alembic_config(url)
        command.downgrade(cfg, "alarms_0017")
        tables = set(inspect(engine).get_table_names())
        assert not {"alarm_console", "alarm_console_member"} & tables
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT site_id, operators FROM alarm_console_staffing").all()
        assert [tuple(r) for r in rows] == [(a, 3)]
        command.upgrade(cfg, "heads")
        with Session(engine) as db:
            assert consoles.current(db, [a]) == {}
            assert _new(db, ent, [a], name="Migrated room", n=2)["sites"][0]["id"] == a
    finally:
        engine.dispose()
        drop()


def test_two_saves_from_one_revision_the_second_waits_and_is_told(db):
    """Editor B's save has taken revision 2 (its conditional UPDATE, not yet committed);
    editor A's save from revision 1 waits for it, then gets a 409 instead of overwriting."""
    import threading

    from qorgau.core.db import get_sessionmaker

    ent = _enterprise(db)
    a, _ = _site(db, ent, "Race A")
    b, _ = _site(db, ent, "Race B")
    made = _new(db, ent, [a, b], name="Race room", n=1)
    osh = _osh(ent)
    outcome: list[object] = []

    def editor_a() -> None:
        with get_sessionmaker()() as other:
            try:
                consoles.save(db=other, actor=osh, console_id=made["id"], data=ConsoleIn(
                    name="Race room", site_ids=[a, b], operators=3, revision=1,
                    reason="third desk"))
                outcome.append("saved")
            except Conflict as exc:
                outcome.append(exc.field)

    with get_sessionmaker()() as mine:
        console = consoles._console(mine, osh, made["id"])
        consoles._claim(mine, console, 1)  # B holds revision 2 while it works
        t = threading.Thread(target=editor_a)
        t.start()
        t.join(1.0)
        assert t.is_alive() and outcome == []  # A waits for B
        console.name = "Race room renamed"
        mine.commit()
    t.join(30)
    assert outcome == ["revision"]
    now = consoles.get(db=db, actor=osh, console_id=made["id"])
    assert (now["name"], now["operators"], now["revision"]) == ("Race room renamed", 1, 2)
