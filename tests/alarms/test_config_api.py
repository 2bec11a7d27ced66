"""The alarm configuration API (/api/v1/alarms): escalation times, a site's contacts per tier,
each person's own channels and quiet hours, a device's limits. The same routing/service
functions as the configuration pages, so the same validation (a 422 naming the field), the same
scope (another enterprise gets a 404, a reader a 403) and the same audit trail; what one writes
the other shows."""

from __future__ import annotations

from sqlalchemy import func, select

from qorgau.alarms import routing
from qorgau.alarms.models import Contact, Device
from qorgau.alarms.schemas import ContactIn
from qorgau.core.audit import AuditEntry

from .test_pages import _login

API = "/api/v1/alarms"
TIMES = {"tier2_after_s": 45, "tier3_after_s": 120, "tier4_after_s": 400, "reminder_s": 90,
         "reason": "fewer people on the night shift"}


def _field(r) -> str:
    """The field the first error names (last element of its loc)."""
    assert r.status_code == 422, r.text
    return str(r.json()["detail"][0]["loc"][-1])


def _audits(db, object_type: str, object_id: int, action: str | None = None) -> list:
    db.expire_all()
    stmt = select(AuditEntry).where(AuditEntry.object_type == object_type,
                                    AuditEntry.object_id == str(object_id))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.scalars(stmt.order_by(AuditEntry.seq)))


def _n_audits(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditEntry))


# --- escalation times -------------------------------------------------------------------------

def test_escalation_read_replace_audited_and_shown_on_the_page(client, client_as, db, world,
                                                               mine):
    osh = client_as("osh_krg")
    url = f"{API}/sites/{mine.site_id}/escalation"
    r = osh.get(url)
    assert r.status_code == 200
    assert r.json() == {"tier2_after_s": 60, "tier3_after_s": 180, "tier4_after_s": 600,
                        "reminder_s": 120, "revision": 0}  # product defaults, never set
    r = osh.put(url, json=TIMES)
    assert r.status_code == 200, r.text
    assert r.json() == {**{k: v for k, v in TIMES.items() if k != "reason"}, "revision": 1}
    assert routing.delays(db, mine.site_id).escalation == (45.0, 120.0, 400.0)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.escalation.set")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.diff["before"] is None
    assert entry.diff["after"]["site_id"] == mine.site_id
    assert entry.diff["after"]["tier2_after_s"] == 45
    assert entry.diff["after"]["reason"] == TIMES["reason"]
    # the page shows what the API wrote, and the API what the page wrote
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}/routing").text
    assert 'name="tier4_after_s" inputmode="numeric" value="400"' in page
    assert TIMES["reason"] in page  # change history
    r = client.post(f"/alarms/sites/{mine.site_id}/escalation", data={
        "tier2_after_s": "50", "tier3_after_s": "120", "tier4_after_s": "400",
        "reminder_s": "90", "reason": "back to a full crew", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 303
    got = osh.get(url).json()
    assert (got["tier2_after_s"], got["revision"]) == (50, 2)
    # a reader (the region's inspector) reads the same, cannot change it
    inspector = client_as("inspector_krg")
    assert inspector.get(url).json() == got
    assert inspector.put(url, json=TIMES).status_code == 403


def test_escalation_bad_input_names_the_field_and_writes_nothing(client_as, db, mine):
    osh = client_as("osh_krg")
    url = f"{API}/sites/{mine.site_id}/escalation"
    before = _n_audits(db)
    for change, field in (({"tier2_after_s": 5}, "tier2_after_s"),
                          ({"tier3_after_s": "soon"}, "tier3_after_s"),
                          ({"tier4_after_s": 10**9}, "tier4_after_s"),
                          ({"reminder_s": -1}, "reminder_s"),
                          ({"reason": ""}, "reason"),
                          ({"tier5_after_s": 60}, "tier5_after_s")):  # extra fields refused
        assert _field(osh.put(url, json={**TIMES, **change})) == field, change
    missing = {k: v for k, v in TIMES.items() if k != "reminder_s"}
    assert _field(osh.put(url, json=missing)) == "reminder_s"
    assert osh.get(url).json()["revision"] == 0
    assert _n_audits(db) == before


def test_escalation_of_another_enterprise_is_not_found(client_as, db, mine):
    url = f"{API}/sites/{mine.site_id}/escalation"
    before = _n_audits(db)
    for who in ("osh_ala", "inspector_ala"):
        assert client_as(who).get(url).status_code == 404, who
    assert client_as("osh_ala").put(url, json=TIMES).status_code == 404
    assert client_as("insurer").get(url).status_code == 403  # no alarm reading at all
    assert client_as("osh_krg").get(url).json()["revision"] == 0
    assert _n_audits(db) == before


# --- a site's contacts (escalation tiers) -----------------------------------------------------

def test_contacts_list_add_remove_audited_and_same_as_the_page(client, client_as, db, world,
                                                               mine):
    osh = client_as("osh_krg")
    r = osh.post(f"{API}/contacts", json={
        "site_id": mine.site_id, "tier": 2, "role": "management", "channel": "webhook",
        "target": "https://hooks.krg.kz/alarms", "secret": "s3cret-key",
        "quiet_start": "22:00", "quiet_end": "06:00"})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["has_secret"] is True and "secret" not in hook
    assert (hook["quiet_start"], hook["quiet_end"]) == ("22:00", "06:00")
    # one added on the page
    csrf = _login(client, world, "osh_krg")
    r = client.post(f"/alarms/sites/{mine.site_id}/contacts", data={
        "tier": "1", "role": "dispatcher", "channel": "sms", "target": "+77010000101",
        "name": "Dispatcher on duty", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    rows = osh.get(f"{API}/sites/{mine.site_id}/contacts").json()
    assert [(c["tier"], c["target"]) for c in rows] == [
        (1, "+77010000101"), (2, "https://hooks.krg.kz/alarms")]  # ordered by tier
    assert rows[0]["name"] == "Dispatcher on duty" and rows[0]["has_secret"] is False
    assert client_as("inspector_krg").get(f"{API}/sites/{mine.site_id}/contacts").json() == rows
    assert _audits(db, "alarm_contact", hook["id"], "alarms.contact.create")
    # removed through the API: gone from the page, audited with what it was
    assert osh.delete(f"{API}/contacts/{hook['id']}").status_code == 204
    assert db.scalar(select(Contact.id).where(Contact.id == hook["id"])) is None
    (gone,) = _audits(db, "alarm_contact", hook["id"], "alarms.contact.remove")
    assert gone.diff["before"]["target"] == "https://hooks.krg.kz/alarms"
    assert gone.diff["after"] is None
    page = client.get(f"/alarms/sites/{mine.site_id}/routing").text
    assert f'action="/alarms/contacts/{hook["id"]}/remove"' not in page  # not in a tier
    assert f'action="/alarms/contacts/{rows[0]["id"]}/remove"' in page
    assert "<strong class=\"small\">удалено</strong>" in page  # but in the change history
    assert osh.delete(f"{API}/contacts/{hook['id']}").status_code == 404


def test_contacts_bad_input_names_the_field(client_as, mine):
    osh = client_as("osh_krg")
    good = {"site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
            "target": "+77010000102"}
    for change, field in (({"target": "call me"}, "target"),  # service rule
                          ({"channel": "email", "target": "no-at-sign"}, "target"),
                          ({"channel": "webhook", "target": "ftp://x.kz"}, "target"),
                          ({"channel": "webhook", "target": "http://"}, "target"),
                          ({"channel": "webhook", "target": "http://[x"}, "target"),
                          # failed only when sent (IDNA): every delivery to it would fail
                          ({"channel": "webhook", "target": "https://scada.shakhta..kz/a"},
                           "target"),
                          ({"channel": "webhook", "target": "https://xn--a.kz/"}, "target"),
                          ({"channel": "webhook", "target": "https://a b.kz/"}, "target"),
                          ({"channel": "email", "target": "a@"}, "target"),
                          ({"target": "٣٣٣٣٣٣"}, "target"),  # Arabic-Indic digits
                          ({"tier": 5}, "tier"),
                          ({"channel": "pigeon"}, "channel"),
                          ({"quiet_start": "25:00", "quiet_end": "06:00"}, "quiet_start"),
                          ({"quiet_start": "22:00"}, "quiet_end"),
                          ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end"),
                          # kept to the minute: these two were one minute, quiet all day
                          ({"quiet_start": "12:30:10", "quiet_end": "12:30:50"},
                           "quiet_start"),
                          ({"quiet_start": "22:00+03:00", "quiet_end": "06:00"},
                           "quiet_start"),  # an offset would be dropped unsaid
                          ({"user_id": 10**6}, "user_id"),
                          ({"colour": "red"}, "colour")):
        assert _field(osh.post(f"{API}/contacts", json={**good, **change})) == field, change
    assert osh.get(f"{API}/sites/{mine.site_id}/contacts").json() == []


def test_contacts_of_another_enterprise_cannot_be_read_or_changed(client_as, db, as_, mine):
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000103"))
    before = _n_audits(db)
    for who in ("osh_ala", "inspector_ala"):
        r = client_as(who).get(f"{API}/sites/{mine.site_id}/contacts")
        assert r.status_code == 404 and "+7701" not in r.text, who
    assert client_as("osh_ala").delete(f"{API}/contacts/{c.id}").status_code == 404
    assert client_as("inspector_krg").delete(f"{API}/contacts/{c.id}").status_code == 403
    r = client_as("osh_ala").post(f"{API}/contacts", json={
        "site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
        "target": "+77010000104"})
    assert _field(r) == "site_id"  # a site named in the body: unknown, no data
    assert db.get(Contact, c.id) is not None
    assert _n_audits(db) == before


# --- each person's own channels ---------------------------------------------------------------

def test_my_channels_read_update_audited_and_same_as_the_page(client, client_as, db, world,
                                                              as_, mine):
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000105",
        user_id=world.users["osh_krg"], quiet_start="22:00", quiet_end="06:00"))
    me = client_as("osh_krg")
    mine_rows = {r["id"]: r for r in me.get(f"{API}/my-channels").json()}
    assert mine_rows[c.id]["target"] == "+77010000105"
    assert (mine_rows[c.id]["quiet_start"], mine_rows[c.id]["quiet_end"]) == ("22:00",
                                                                             "06:00")
    assert c.id not in {r["id"] for r in client_as("inspector_krg").get(
        f"{API}/my-channels").json()}
    r = me.put(f"{API}/my-channels/{c.id}", json={"target": "+77010000106",
                                                    "quiet_start": "23:30", "quiet_end": "07:00"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["target"], out["quiet_start"], out["quiet_end"], out["tier"]) == (
        "+77010000106", "23:30", "07:00", 1)
    db.expire_all()
    row = db.get(Contact, c.id)
    assert (row.target, row.quiet_start, row.quiet_end) == ("+77010000106", 1410, 420)
    (rev,) = _audits(db, "alarm_contact", c.id, "alarms.contact.revise")
    assert rev.diff["before"]["target"] == "+77010000105"
    assert rev.diff["after"]["quiet_start"] == 1410
    # the page shows it; a change on the page is what the API then reads
    csrf = _login(client, world, "osh_krg")
    page = client.get("/alarms/my-channels").text
    assert "+77010000106" in page and 'value="23:30"' in page
    r = client.post(f"/alarms/my-channels/{c.id}", data={
        "target": "+77010000107", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    got = {r["id"]: r for r in me.get(f"{API}/my-channels").json()}[c.id]
    assert (got["target"], got["quiet_start"], got["quiet_end"]) == ("+77010000107", None, None)


def test_my_channels_bad_input_names_the_field(client_as, db, world, as_, mine):
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="email",
        target="duty@krg.kz", user_id=world.users["osh_krg"]))
    me = client_as("osh_krg")
    url = f"{API}/my-channels/{c.id}"
    before = _n_audits(db)
    for body, field in (({"target": "duty@krg.kz", "quiet_start": "22:00"}, "quiet_end"),
                        ({"target": "duty@krg.kz", "quiet_end": "06:00"}, "quiet_end"),
                        ({"target": "duty@krg.kz", "quiet_start": "7 pm",
                          "quiet_end": "06:00"}, "quiet_start"),
                        ({"target": "duty@krg.kz", "quiet_start": "06:00",
                          "quiet_end": "06:00"}, "quiet_end"),
                        ({"target": "not an address"}, "target"),  # e-mail channel
                        ({}, "target"),
                        ({"target": "duty@krg.kz", "tier": 4}, "tier")):  # not one's own to set
        assert _field(me.put(url, json=body)) == field, body
    db.expire_all()
    assert db.get(Contact, c.id).target == "duty@krg.kz"
    assert _n_audits(db) == before


def test_someone_elses_channel_is_not_found(client_as, db, world, as_, mine):
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000108",
        user_id=world.users["osh_krg"]))
    before = _n_audits(db)
    for who in ("osh_ala", "inspector_krg", "worker_krg", "admin"):
        r = client_as(who).put(f"{API}/my-channels/{c.id}", json={"target": "+77019999999"})
        assert r.status_code == 404, who
    db.expire_all()
    assert db.get(Contact, c.id).target == "+77010000108"
    assert _n_audits(db) == before


# --- a device's limits (GET/PATCH /devices/{id}) ----------------------------------------------

def test_device_limits_api_names_the_field_and_matches_the_page(client, client_as, db, world,
                                                                mine):
    did = mine.devices["CO-1"]
    osh = client_as("osh_krg")
    url = f"{API}/devices/{did}"
    limits = osh.get(url).json()["limits"]
    assert limits["high"] == 20.0  # the default for CO at a mine
    before = _n_audits(db)
    for body, loc in (
        ({"limits": {"high": 30, "highhigh": 25}}, ["body", "limits", "highhigh"]),
        ({"limits": {"low": 5, "lowlow": 6}}, ["body", "limits", "lowlow"]),
        ({"limits": {"twa_limit": 20, "stel_limit": 10}}, ["body", "limits", "stel_limit"]),
        ({"limits": {"deadband": -1}}, ["body", "limits", "deadband"]),
        ({"limits": {"high": "inf"}}, ["body", "limits", "high"]),
        ({"limits": {"hi": 3}}, ["body", "limits", "hi"]),
        ({"limits": None}, ["body", "limits"]),
        ({"enabled": None}, ["body", "enabled"]),
        ({"zone_code": "NO-SUCH"}, ["body", "zone_code"]),
        ({"calibrated_on": "2026-06-01", "calibration_due": "2026-01-01"},
         ["body", "calibration_due"]),
    ):
        r = osh.patch(url, json={**body, "reason": "new detector"})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"] == loc, body
    assert _field(osh.patch(url, json={"limits": {"high": 25}})) == "reason"
    assert _n_audits(db) == before
    r = osh.patch(url, json={"limits": {"high": 25, "highhigh": 45.5, "twa_limit": 20},
                             "zone_code": "L2", "reason": "after the audit"})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2 and r.json()["zone_code"] == "L2"
    (rev,) = _audits(db, "alarm_device", did, "alarms.device.revise")
    assert rev.diff["after"]["limits"]["highhigh"] == 45.5
    assert rev.diff["after"]["reason"] == "after the audit"
    _login(client, world, "osh_krg")
    page = client.get(f"/alarms/devices/{did}").text
    assert "45.5" in page and "after the audit" in page
    # another enterprise: not found, nothing changed
    for verb in ("get", "patch"):
        r = getattr(client_as("osh_ala"), verb)(url, **(
            {"json": {"limits": {"high": 1}, "reason": "abc"}} if verb == "patch" else {}))
        assert r.status_code == 404, verb
    assert client_as("inspector_krg").patch(url, json={"enabled": False,
                                                       "reason": "abc"}).status_code == 403
    db.expire_all()
    assert db.get(Device, did).revision == 2


# --- schema fuzz of these routes with real ids --------------------------------------------------

CONFIG_PATHS = ("/api/v1/alarms/sites/{site_id}/escalation",
                "/api/v1/alarms/sites/{site_id}/contacts", "/api/v1/alarms/contacts",
                "/api/v1/alarms/my-channels", "/api/v1/alarms/my-channels/{contact_id}",
                "/api/v1/alarms/devices/{device_id}")


def test_fuzzed_configuration_never_errors_and_matches_its_schema(app, client_as, db, world,
                                                                  as_, mine):
    """The security fuzz uses ids that mostly do not exist; this one addresses the mine's site,
    device and the OSH officer's own channel, so generated bodies reach the service rules."""
    import schemathesis

    # in-app: any generated target is one (an SMS channel's must be a phone number, which
    # generated strings are too seldom to reach the service's rules)
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="inapp", target="console-109",
        user_id=world.users["osh_krg"]))
    ids = {"site_id": mine.site_id, "contact_id": c.id, "device_id": mine.devices["CH4-1"]}
    auth = {"Authorization": str(client_as("osh_krg").headers["Authorization"])}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations() if r.ok().path in CONFIG_PATHS
           and r.ok().method.upper() != "DELETE"]  # removal is covered above
    assert len(ops) == 8, [o.label for o in ops]
    ok = {op.label: sum(_fuzz(op, ids, auth)) for op in ops}
    # generated bodies get past the validation into the service for every operation
    assert all(ok.values()), " ".join(f"{k}={v}" for k, v in ok.items())


def _fuzz(op, ids: dict[str, int], auth: dict[str, str]) -> list[bool]:
    """Call the operation with generated input; which calls succeeded (2xx)."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    done: list[bool] = []

    @given(case=op.as_strategy())
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        if case.path_parameters:
            case.path_parameters = {k: ids[k] for k in case.path_parameters}
        if isinstance(case.body, dict) and "site_id" in case.body:
            case.body["site_id"] = ids["site_id"]  # a new contact: at the mine, not anywhere
        r = case.call_and_validate(headers=dict(auth),
                                   checks=[not_a_server_error, response_schema_conformance])
        done.append(r.status_code < 300)

    run()
    return done


def test_a_removed_contacts_id_is_never_given_again(client_as, db, mine) -> None:
    """Its audit trail stays its own: SQLite would reuse the highest id without AUTOINCREMENT."""
    osh = client_as("osh_krg")
    body = {"site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms"}
    first = osh.post(f"{API}/contacts", json={**body, "target": "+77010000201"}).json()
    assert osh.delete(f"{API}/contacts/{first['id']}").status_code == 204
    second = osh.post(f"{API}/contacts", json={**body, "target": "+77010000202"}).json()
    assert second["id"] > first["id"]
    (gone,) = _audits(db, "alarm_contact", first["id"], "alarms.contact.remove")
    assert gone.diff["before"]["target"] == "+77010000201"
    assert not _audits(db, "alarm_contact", second["id"], "alarms.contact.remove")
