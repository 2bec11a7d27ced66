"""Configuration edited by people who do not program: device limits, escalation tiers and
times, each person's channels and quiet hours — validated (the error names the field), scoped,
audited with before and after, and taking effect in the engine and the dispatcher."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from qorgau.alarms import dispatch, routing, service, worker
from qorgau.alarms.models import AlarmRecord, Contact, Device
from qorgau.alarms.schemas import ContactIn, ContactPatch, EscalationIn, Limits
from qorgau.core.audit import AuditEntry
from qorgau.core.errors import Forbidden, NotFound, RuleViolation

from .test_pages import _login


def _loc(exc: ValidationError) -> str:
    return str(exc.errors()[0]["loc"][-1])


@pytest.mark.parametrize(("kw", "field"), [
    ({"high": 2.0, "highhigh": 1.5}, "highhigh"),
    ({"high": 2.0, "low": 3.0}, "low"),
    ({"low": 19.5, "lowlow": 20.0}, "lowlow"),
    ({"deadband": -0.1}, "deadband"),
    ({"twa_limit": 5.0, "stel_limit": 1.0}, "stel_limit"),
    ({"high": float("inf")}, "high"),
    ({"on_delay_s": 4000}, "on_delay_s"),
])
def test_limits_validation_names_the_field(kw, field):
    with pytest.raises(ValidationError) as exc:
        Limits(**kw)
    assert _loc(exc.value) == field


def test_escalation_and_quiet_hours_validation_names_the_field():
    good = {"tier2_after_s": 60, "tier3_after_s": 120, "tier4_after_s": 300, "reminder_s": 120,
            "reason": "night shift"}
    with pytest.raises(ValidationError) as exc:
        EscalationIn(**{**good, "tier2_after_s": 5})
    assert _loc(exc.value) == "tier2_after_s"
    with pytest.raises(ValidationError) as exc:
        ContactPatch(target="+77010000000", quiet_start="22:00")
    assert _loc(exc.value) == "quiet_end"
    assert ContactPatch(target="+7701", quiet_start="22:00", quiet_end="06:00").minutes() == (
        1320, 360)


def test_limit_change_reaches_the_engine(db, as_, mine, proc):
    """A saved revision changes the site runtime's signature: the next reading is judged by
    the new limits (CO 30 ppm is below the default HI 20? no: above; raise HI to 40 first)."""
    from qorgau.alarms.schemas import DevicePatch

    did = mine.devices["CO-1"]
    proc.handle_raw(db, mine.batch([("CO-1", 5.0, -3)]), source="test")
    old_sig = proc.sites[mine.site_id].signature
    service.update_device(db=db, actor=as_("osh_krg"), device_id=did, data=DevicePatch(
        limits=Limits(high=40.0, highhigh=60.0), reason="new detector range"))
    proc.handle_raw(db, mine.batch([("CO-1", 30.0, -2)]), source="test")
    assert proc.sites[mine.site_id].signature != old_sig
    kinds = set(db.scalars(select(AlarmRecord.kind).where(AlarmRecord.device_id == did)))
    assert "HI" not in kinds  # 30 ppm is under the new HI of 40 (the default HI is 20)
    proc.handle_raw(db, mine.batch([("CO-1", 45.0, -1)]), source="test")
    kinds = set(db.scalars(select(AlarmRecord.kind).where(AlarmRecord.device_id == did)))
    assert "HI" in kinds and "HIHI" not in kinds


def test_escalation_policy_scoped_audited_and_used(db, as_, mine, proc):
    osh = as_("osh_krg")
    data = EscalationIn(tier2_after_s=20, tier3_after_s=40, tier4_after_s=90, reminder_s=60,
                        reason="short crew at night")
    for who, err in (("inspector_krg", Forbidden), ("osh_ala", NotFound)):
        with pytest.raises(err):
            routing.set_policy(db=db, actor=as_(who), site_id=mine.site_id, data=data)
    assert routing.get_policy(db=db, actor=as_("inspector_krg"),
                              site_id=mine.site_id)["tier2_after_s"] == 60  # default
    p = routing.set_policy(db=db, actor=osh, site_id=mine.site_id, data=data)
    p = routing.set_policy(db=db, actor=osh, site_id=mine.site_id,
                           data=data.model_copy(update={"tier2_after_s": 25}))
    assert p.revision == 2
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.escalation.set")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.diff["before"]["tier2_after_s"] == 20
    assert entry.diff["after"]["tier2_after_s"] == 25
    assert entry.diff["after"]["reason"] == "short crew at night"
    # a new alarm escalates to tier 2 after 25 s, not the default 60 s
    proc.handle_raw(db, mine.batch([("CO-1", 90.0, -1)]), source="test")
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                              AlarmRecord.kind == "HIHI"))
    worker.tick(db, proc, now=time.time() + 27)
    db.expire_all()
    assert db.get(AlarmRecord, rec.id).tier == 2


def test_contacts_people_quiet_hours_and_removal(db, as_, world, mine):
    osh = as_("osh_krg")
    with pytest.raises(RuleViolation) as exc:
        routing.add_contact(db=db, actor=osh, data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="call me"))
    assert exc.value.field == "target"
    with pytest.raises(RuleViolation) as exc:  # an account of another enterprise
        routing.add_contact(db=db, actor=osh, data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel="sms",
            target="+77010000001", user_id=world.users["osh_ala"]))
    assert exc.value.field == "user_id"
    with pytest.raises(Forbidden):
        routing.add_contact(db=db, actor=as_("inspector_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel="sms",
            target="+77010000001"))
    c = routing.add_contact(db=db, actor=osh, data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000001",
        name="Dispatcher on duty", user_id=world.users["osh_krg"], quiet_start="22:00",
        quiet_end="06:00"))
    assert (c.quiet_start, c.quiet_end) == (1320, 360)
    # 23:30 local (18:30 UTC) is quiet; 12:00 local is not
    assert routing.quiet_now(c, datetime(2026, 1, 5, 18, 30, tzinfo=UTC))
    assert not routing.quiet_now(c, datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
    # the dispatcher drops a quiet contact for non-life-safety, never for life-safety
    n = dispatch.Notice(1, mine.site_id, 1, "KZ-35", "HI", 2, False, 1, "raise", "m", 1)
    msg = dispatch.Message([n], 1, False)
    quiet = routing.quiet_now(c)
    assert (c in dispatch.routes(db, msg)) is (not quiet)
    assert c in dispatch.routes(db, dispatch.Message([n], 1, True))
    # the person edits their own channel; others cannot
    mine_rows = routing.my_contacts(db=db, actor=osh)  # other tests add theirs, too
    assert c.id in [r.id for r in mine_rows]
    assert {r.user_id for r in mine_rows} == {world.users["osh_krg"]}
    with pytest.raises(NotFound):
        routing.update_my_contact(db=db, actor=as_("inspector_krg"), contact_id=c.id,
                                  data=ContactPatch(target="+77019999999"))
    routing.update_my_contact(db=db, actor=osh, contact_id=c.id,
                              data=ContactPatch(target="+77019999999"))
    assert db.get(Contact, c.id).quiet_start is None
    with pytest.raises(NotFound):  # other enterprise cannot see it to remove it
        routing.remove_contact(db=db, actor=as_("osh_ala"), contact_id=c.id)
    routing.remove_contact(db=db, actor=osh, contact_id=c.id)
    assert db.get(Contact, c.id) is None
    trail = routing.site_changes(db=db, site_id=mine.site_id)
    assert [e.action for e in trail][:3] == ["alarms.contact.remove", "alarms.contact.revise",
                                             "alarms.contact.create"]
    assert trail[0].diff["before"]["target"] == "+77019999999"
    assert trail[1].diff["before"]["target"] == "+77010000001"


# --- pages ------------------------------------------------------------------------------------

def test_device_page_saves_and_shows_field_error(client, db, world, mine):
    did = mine.devices["CO-1"]
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/devices/{did}")
    assert page.status_code == 200 and 'name="twa_limit"' in page.text
    ch4 = client.get(f"/alarms/devices/{mine.devices['CH4-1']}").text
    assert 'name="twa_limit"' not in ch4  # TWA only where it applies
    bad = client.post(f"/alarms/devices/{did}", data={
        "high": "30", "highhigh": "25", "deadband": "-1", "reason": "tighter",
        "csrf_token": csrf})
    assert bad.status_code == 422
    assert 'id="e-highhigh"' in bad.text and 'id="e-deadband"' in bad.text
    assert 'value="25"' in bad.text  # what was typed is kept
    r = client.post(f"/alarms/devices/{did}", data={
        "high": "25", "highhigh": "45,5", "twa_limit": "40", "reason": "after the audit",
        "enabled": "on", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    dev = db.get(Device, did)
    assert dev.limits["highhigh"] == 45.5 and dev.revision == 2 and dev.enabled
    assert "stel_limit" not in dev.limits  # an empty field switches the check off
    page = client.get(f"/alarms/devices/{did}").text
    assert "after the audit" in page and "45.5" in page  # audit trail shown
    r = client.post(f"/alarms/devices/{did}", data={  # taken out of use: a flag, not a word
        "high": "25", "highhigh": "45,5", "twa_limit": "40", "reason": "dismounted",
        "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/alarms/devices/{did}?lang=en").text
    assert "Device in service: ✓ → ✗" in page and "True" not in page
    assert "site_id" not in page and "enabled:" not in page and "device.revise" not in page
    # in Russian: the names people read, not the code's (they were `highhigh`, `enabled`)
    ru = client.get(f"/alarms/devices/{did}?lang=ru").text
    history = ru[ru.index("История изменений"):]
    history = history[:history.index("</section>")]
    assert "Датчик в работе: ✓ → ✗" in history and "изменено" in history
    assert "highhigh" not in history and "HIHI: аварийный порог: 50.0 → 45.5" in history
    no_csrf = client.post(f"/alarms/devices/{did}", data={"high": "1", "reason": "abc"})
    assert no_csrf.status_code == 403


def test_an_error_on_a_limit_the_page_does_not_show_is_told_by_name(client, client_as,
                                                                      world, mine):
    """LO set through the API is kept by the page (CH4 shows HI and HIHI, not LO); a HI typed
    below it fails on LO, which no field on the page could mark: the note above the form
    names it, in the reader's language."""
    did = mine.devices["CH4-1"]
    r = client_as("osh_krg").patch(f"/api/v1/alarms/devices/{did}", json={
        "limits": {"high": 1.0, "highhigh": 2.0, "low": 0.5}, "reason": "through the API"})
    assert r.status_code == 200, r.text
    csrf = _login(client, world, "osh_krg")
    for lang, kept in (("en", "LO: low warning limit, kept from an earlier setting"),
                       ("ru", "сохранено из прежней настройки"),
                       ("kk", "бұрынғы баптаудан сақталған")):
        client.get(f"/lang/{lang}?next=/")
        page = client.post(f"/alarms/devices/{did}", data={
            "high": "0.4", "highhigh": "2", "reason": "lower HI", "enabled": "on",
            "csrf_token": csrf})
        assert page.status_code == 422 and kept in page.text, (lang, page.text[-2000:])
        assert 'name="low"' not in page.text


def test_device_page_read_only_for_inspector_and_hidden_elsewhere(client, world, mine):
    did = mine.devices["CO-1"]
    csrf = _login(client, world, "inspector_krg")
    page = client.get(f"/alarms/devices/{did}")
    assert page.status_code == 200 and "Save as new revision" not in page.text
    r = client.post(f"/alarms/devices/{did}", data={"high": "1", "reason": "abc",
                                                   "csrf_token": csrf})
    assert r.status_code == 403
    _login(client, world, "osh_ala")
    assert client.get(f"/alarms/devices/{did}").status_code == 404


def test_routing_page_forms(client, db, world, mine):
    csrf = _login(client, world, "osh_krg")
    base = f"/alarms/sites/{mine.site_id}"
    assert client.get(f"{base}/routing").status_code == 200
    bad = client.post(f"{base}/contacts", data={
        "tier": "2", "role": "mine_rescue", "channel": "email", "target": "not-an-address",
        "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="e-target"' in bad.text
    assert 'value="not-an-address"' in bad.text
    # a dispatcher's account added in another role: told in the page's language, by field
    bad = client.post(f"{base}/contacts?lang=ru", data={
        "tier": "2", "role": "management", "channel": "sms", "target": "+77010000777",
        "user_id": str(world.users["dispatcher_krg"]), "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="e-role"' in bad.text
    assert "Эта учётная запись получает оповещения в своей роли" in bad.text
    r = client.post(f"{base}/contacts", data={
        "tier": "2", "role": "mine_rescue", "channel": "email", "target": "vgsch@krg.kz",
        "name": "Mine rescue team", "quiet_start": "", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 303
    c = db.scalar(select(Contact).where(Contact.site_id == mine.site_id))
    assert c.tier == 2 and c.name == "Mine rescue team"
    bad = client.post(f"{base}/escalation", data={
        "tier2_after_s": "abc", "tier3_after_s": "120", "tier4_after_s": "300",
        "reminder_s": "10", "reason": "faster", "csrf_token": csrf})
    assert bad.status_code == 422
    assert 'id="e-tier2_after_s"' in bad.text and 'id="e-reminder_s"' in bad.text
    r = client.post(f"{base}/escalation", data={
        "tier2_after_s": "30", "tier3_after_s": "120", "tier4_after_s": "300",
        "reminder_s": "90", "reason": "faster", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert routing.delays(db, mine.site_id).escalation[0] == 30.0
    page = client.get(f"{base}/routing").text
    assert "Mine rescue team" in page and "faster" in page
    r = client.post(f"/alarms/contacts/{c.id}/remove",
                    data={"site_id": str(mine.site_id), "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert db.scalar(select(Contact.id).where(Contact.id == c.id)) is None


def test_routing_page_read_only_for_inspector_404_elsewhere(client, world, mine):
    base = f"/alarms/sites/{mine.site_id}"
    csrf = _login(client, world, "inspector_krg")
    page = client.get(f"{base}/routing")
    assert page.status_code == 200 and "Save escalation times" not in page.text
    r = client.post(f"{base}/escalation", data={
        "tier2_after_s": "30", "tier3_after_s": "120", "tier4_after_s": "300",
        "reminder_s": "90", "reason": "faster", "csrf_token": csrf})
    assert r.status_code == 403
    _login(client, world, "inspector_ala")
    assert client.get(f"{base}/routing").status_code == 404


def test_my_channels_page(client, db, world, as_, mine):
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000002",
        user_id=world.users["osh_krg"]))
    csrf = _login(client, world, "osh_krg")
    page = client.get("/alarms/my-channels")
    assert page.status_code == 200 and "+77010000002" in page.text
    bad = client.post(f"/alarms/my-channels/{c.id}", data={
        "target": "+77010000002", "quiet_start": "23:00", "csrf_token": csrf})
    assert bad.status_code == 422 and "field-error" in bad.text
    # the language of one's alarm texts is one's own to choose too (only the routing page had it)
    assert '<select name="lang">' in page.text and f'value="{c.lang}" lang="{c.lang}" selected' \
        in page.text
    bad = client.post(f"/alarms/my-channels/{c.id}", data={
        "target": "+77010000002", "lang": "de", "csrf_token": csrf})
    assert bad.status_code == 422 and "field-error" in bad.text
    r = client.post(f"/alarms/my-channels/{c.id}", data={
        "target": "+77010000003", "quiet_start": "23:00", "quiet_end": "07:00", "lang": "kk",
        "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    row = db.get(Contact, c.id)
    assert (row.target, row.quiet_start, row.quiet_end, row.lang) == (
        "+77010000003", 1380, 420, "kk")
    csrf = _login(client, world, "inspector_krg")
    assert "+77010000003" not in client.get("/alarms/my-channels").text
    r = client.post(f"/alarms/my-channels/{c.id}", data={"target": "+77011111111",
                                                         "csrf_token": csrf})
    assert r.status_code == 404


def test_a_contact_whose_account_moved_away_is_flagged_on_the_routing_page(
        client, db, world, as_, new_mines):
    """A person linked to a contact moved to another enterprise: their channel still gets the
    old site's alarms (a tier is not emptied behind the officer's back) but they can no longer
    see or change it; the officer saw nothing of this on the routing page."""
    from qorgau.accounts.models import User

    m = new_mines()
    staff = [User(username=f"{who}-{m.site_id}", full_name=who, role="dispatcher",
                  password_hash="-", organisation_id=world.orgs["osh_krg"])  # the mine's
             for who in ("stays", "moves", "off")]
    db.add_all(staff)
    db.commit()
    made = {u.full_name: routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=m.site_id, tier=1, role="dispatcher", channel="sms",
        target=f"+7701000{u.id % 10000:04d}", name=u.full_name, user_id=u.id)).id
        for u in staff}
    assert routing.accounts_left(db, [db.get(Contact, i) for i in made.values()]) == set()
    staff[1].organisation_id = world.orgs["osh_ala"]  # another enterprise's organisation
    staff[2].active = False
    db.commit()
    db.expire_all()
    left = routing.accounts_left(db, [db.get(Contact, i) for i in made.values()])
    assert left == {made["moves"], made["off"]}
    _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{m.site_id}/routing?lang=en").text
    for who, flagged in (("stays", False), ("moves", True), ("off", True)):
        item = page[page.index(f"<strong>{who}</strong>"):]
        item = item[:item.index("</li>")]
        assert ("The linked account has left" in item) is flagged, who
    ru = client.get(f"/alarms/sites/{m.site_id}/routing?lang=ru").text
    assert ru.count("Связанная учётная запись ушла") == 2


def test_pages_in_three_languages(client, world, mine):
    _login(client, world, "osh_krg")
    for lang, word in (("ru", "Кто получает"), ("kk", "Кімге"), ("en", "Who is told")):
        page = client.get(f"/alarms/sites/{mine.site_id}/routing?lang={lang}")
        assert word in page.text, lang
