"""HTTP batch ingest → engine → store → alarm records → dispatch; bad input; idempotency."""

from __future__ import annotations

import gzip
import time

import orjson
from sqlalchemy import func, select

from qorgau.alarms.models import AlarmRecord, DeadLetter, Device, Notification, Rollup


def _post(client, mine, body, *, key=None, gz=False):
    raw = orjson.dumps(body) if not isinstance(body, bytes) else body
    headers = {"x-gateway": mine.gateway, "x-gateway-key": key or mine.key,
               "content-type": "application/json"}
    if gz:
        raw, headers["content-encoding"] = gzip.compress(raw), "gzip"
    return client.post("/api/v1/alarms/ingest", content=raw, headers=headers)


def test_readings_raise_life_safety_alarm_and_plan_notice(client, db, mine, proc):
    rows = [("CH4-1", 0.4 + 0.1 * i, -20 + i) for i in range(14)]  # 0.4 → 1.7 %
    r = _post(client, mine, mine.batch(rows), gz=True)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 14 and r.json()["alarms"] >= 2
    kinds = set(db.scalars(select(AlarmRecord.kind).where(AlarmRecord.site_id == mine.site_id)))
    assert {"HI", "HIHI"} <= kinds
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    assert hihi.life_safety and hihi.state == "unacknowledged" and hihi.peak >= 1.69
    sent = db.scalar(select(Notification).where(Notification.alarm_id == hihi.id,
                                                Notification.channel == "inapp"))
    assert sent is not None and sent.status == "sent"  # fast path delivered after commit
    assert db.scalar(select(func.sum(Rollup.n)).where(
        Rollup.device_id == mine.devices["CH4-1"])) == 14
    raw = proc.store.read(mine.site_id, time.time() - 60, time.time() + 60)
    assert len(raw) == 14


def test_duplicates_and_out_of_order_are_dropped_and_counted(client, db, mine, proc):
    body = mine.batch([("CO-1", 5.0, -3), ("CO-1", 6.0, -2)])
    assert _post(client, mine, body).json()["accepted"] == 2
    again = _post(client, mine, body).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": 0, "alarms": 0}
    late = {"site_id": mine.site_id, "readings": [{"d": "CO-1", "s": 0, "t": time.time(),
                                                   "v": 1.0}]}
    assert _post(client, mine, late).json()["duplicates"] == 1
    db.expire_all()
    dev = db.get(Device, mine.devices["CO-1"])
    assert dev.n_accepted == 2 and dev.n_duplicate == 3 and dev.last_seq == 1


def test_bad_readings_rejected_with_reason(client, db, mine, proc):
    now = time.time()
    body = {"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": 1, "t": now, "v": 3.0},
        {"d": "NOPE", "s": 1, "t": now, "v": 3.0},
        {"d": "CO-1", "s": 2, "t": now + 86400, "v": 3.0},
        {"d": "CO-1", "s": 3, "t": now - 30 * 86400, "v": 3.0},
        {"d": "CO-1", "s": 4, "t": now, "v": "INF"},
        {"d": "CO-1", "s": "x", "t": now, "v": 1.0},
        "garbage"]}
    raw = orjson.dumps(body).replace(b'"INF"', b"1e999")  # JSON has no inf: overflow it
    r = _post(client, mine, raw)
    assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["rejected"] == 6
    reasons = set(db.scalars(select(DeadLetter.reason).where(
        DeadLetter.site_id == mine.site_id)))
    assert {"unknown_device", "future", "too_old", "not_finite", "malformed"} <= reasons


def test_payload_level_rejections(client, db, mine, proc):
    before = db.scalar(select(func.count()).select_from(DeadLetter))
    assert _post(client, mine, b"{not json").status_code == 422
    assert _post(client, mine, {"site_id": mine.site_id}, key="wrong-key").status_code == 401
    bomb = gzip.compress(b"[" + b"0," * 3_000_000 + b"0]")
    assert _post(client, mine, bomb, gz=False).status_code == 413
    assert _post(client, mine, {"site_id": mine.site_id + 999, "readings": []}).status_code == 403
    r = client.post("/api/v1/alarms/ingest", content=b"{}")
    assert r.status_code == 401
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DeadLetter)) == before + 4


def test_readings_that_would_break_a_decoder_are_rejected_one_by_one(client, db, mine, proc):
    """Each of these once ended the whole batch (a 500 over HTTP, a message the workers never
    acknowledged, or a batch lost with its good reading): an event as a list or object, ints
    beyond 64 bits or a double, a NUL in a device code (PostgreSQL text refuses it). Now each
    is its own dead letter with a reason, and the good reading is kept."""
    now = time.time()
    rows = [b'{"d":"CO-1","s":0,"t":%f,"v":1.0}' % now,
            b'{"d":"W-1","s":0,"t":%f,"e":["SOS"]}' % now,
            b'{"d":"W-1","s":1,"t":%f,"e":{"SOS":1}}' % now,
            b'{"d":"CO-1","s":%s,"t":"x","v":1}' % (b"9" * 400),
            b'{"d":"CO-1","s":1,"t":%s,"v":1}' % (b"9" * 400),
            b'{"d":"CO-1","s":2,"t":%f,"v":%s}' % (now, b"9" * 400),
            b'{"d":"W-2","s":%d,"t":%f,"z":"L1"}' % (2**64 - 1, now),
            b'{"d":"X\\u0000Y","s":0,"t":%f,"v":1.0}' % now]
    raw = b'{"site_id":%d,"readings":[%s]}' % (mine.site_id, b",".join(rows))
    before = db.scalar(select(func.count()).select_from(DeadLetter))
    r = _post(client, mine, raw)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and r.json()["rejected"] == 7, r.json()
    db.expire_all()
    letters = db.scalars(select(DeadLetter).where(DeadLetter.id > 0).order_by(DeadLetter.id)
                         ).all()[before:]
    assert sorted(d.reason for d in letters) == [
        "bad_time", "malformed", "malformed", "malformed", "malformed", "not_finite",
        "unknown_device"], [(d.reason, d.detail) for d in letters]
    assert any(d.device_code == "X\\x00Y" for d in letters)  # shown, not refused


def test_a_deeply_nested_payload_is_a_422_and_a_dead_letter(client, db, mine, proc):
    """orjson refuses the depth; the fallback parser's RecursionError was a 500 (and ended
    the MQTT receiving process: test_receiver_process.py)."""
    from qorgau.alarms.ingest import nats

    before = db.scalar(select(func.count()).select_from(DeadLetter))
    r = _post(client, mine, b"[" * 100_000)
    assert r.status_code == 422 and "malformed" in r.text, r.text
    # a JetStream message of it is acknowledged as dead-lettered, not redelivered for ever
    assert nats._handle(proc, f"qorgau.telemetry.{mine.site_id}", b"[" * 100_000) is True
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DeadLetter)) == before + 2


def test_worker_role_cannot_ingest_without_gateway(client_as, mine, proc):
    r = client_as("worker_krg").post("/api/v1/alarms/ingest", json={"site_id": mine.site_id,
                                                                   "readings": []})
    assert r.status_code == 403


def test_a_system_account_writes_only_its_own_sites(client, db, world, mine, proc):
    """An API key with `alarms.ingest` (every key has it) could send readings to any
    enterprise's mine, raising its alarms and withdrawals. Now only a key issued for the
    telemetry feed writes, and only the sites of its organisation's enterprise, or a state
    system's region (a national state system's: any site); any other is refused with a dead
    letter and nothing stored — an insurer's contracts key, an inspectorate's, another
    enterprise's."""
    from qorgau.accounts import service as accounts
    from qorgau.accounts.models import Organisation, User
    from qorgau.accounts.schemas import ApiKeyIn
    from qorgau.core.security import SYSTEM_ACTOR

    for name, region in (("scada-krg", "KZ-35"), ("scada-kz", None), ("scada-ala", "KZ-75")):
        org = Organisation(kind="state_system", name=name, region_code=region)
        db.add(org)
        db.flush()
        world.orgs[name] = org.id

    def key(org: str, feed: str = "telemetry") -> dict:
        k, _ = accounts.create_api_key(db, actor=SYSTEM_ACTOR, data=ApiKeyIn(
            name=f"{feed} {org}", organisation_id=world.orgs[org], feed=feed))
        db.commit()
        return {"X-API-Key": k}

    def letters(reason: str) -> int:
        return db.scalar(select(func.count()).select_from(DeadLetter)
                         .where(DeadLetter.reason == reason))

    before = {r: letters(r) for r in ("wrong_site", "wrong_feed")}
    refused = [(key("osh_ala"), "wrong_site"),  # another enterprise
               (key("scada-ala"), "wrong_site"),  # a state system of another region
               (key("inspector_krg"), "wrong_site"),  # not the mine's nor a state system
               (key("insurer"), "wrong_site"),
               (key("insurer", "insurance-contracts"), "wrong_feed"),
               (key("osh_krg", "employment-contracts"), "wrong_feed")]  # its own, wrong feed
    for headers, reason in refused:
        r = client.post("/api/v1/alarms/ingest", headers=headers,
                        json=mine.batch([("CH4-1", 1.8, -5)]))
        assert r.status_code == 403 and r.json()["detail"][0]["type"] == reason, r.text
    assert db.scalar(select(func.count()).select_from(AlarmRecord)
                     .where(AlarmRecord.site_id == mine.site_id)) == 0
    assert letters("wrong_site") == before["wrong_site"] + 4
    assert letters("wrong_feed") == before["wrong_feed"] + 2
    for org, minute in (("osh_krg", -120), ("scada-krg", -180), ("scada-kz", -240)):
        r = client.post("/api/v1/alarms/ingest", headers=key(org),
                        json=mine.batch([("CO-1", 3.0, minute)]))
        assert r.status_code == 200 and r.json()["accepted"] == 1, (org, r.text)
    # a person with the system role (only a state system's people have it) writes the same
    # sites as its organisation's keys: another region's mine is refused
    for org, status, minute in (("scada-ala", 403, -300), ("scada-krg", 200, -360)):
        user = User(username=f"op-{org}", full_name="Operator", role="system",
                    password_hash="-", organisation_id=world.orgs[org])
        db.add(user)
        db.commit()
        token, _ = accounts.open_session(db, user=user, kind="bearer")
        r = client.post("/api/v1/alarms/ingest", headers={"Authorization": f"Bearer {token}"},
                        json=mine.batch([("CO-1", 3.0, minute)]))
        assert r.status_code == status, (org, r.text)


def test_columnar_payload_and_fan_combo(client, db, mine, proc):
    now = time.time()
    body = {"site_id": mine.site_id, "d": ["FAN-1", "CH4-1", "CH4-1"], "s": [0, 0, 1],
            "t": [now - 5, now - 4, now - 3], "v": [0.0, 0.5, 1.1]}
    r = _post(client, mine, body)
    assert r.status_code == 200 and r.json()["accepted"] == 3
    kinds = set(db.scalars(select(AlarmRecord.kind).where(AlarmRecord.site_id == mine.site_id)))
    assert "COMBO" in kinds and "LOLO" in kinds  # fan stopped, CH4 ≥ 1 % while it is


def test_api_ack_and_cross_tenant(client, client_as, db, mine, proc):
    _post(client, mine, mine.batch([("CO-1", 80.0, -1)]))
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                              AlarmRecord.kind == "HIHI"))
    assert client_as("osh_ala").get(f"/api/v1/alarms/{rec.id}").status_code == 404
    assert client_as("inspector_krg").post(f"/api/v1/alarms/{rec.id}/ack",
                                           json={}).status_code == 403
    r = client_as("osh_krg").post(f"/api/v1/alarms/{rec.id}/shelve",
                                  json={"reason": "nuisance", "minutes": 5})
    assert r.status_code == 422 and "life-safety" in r.text
    r = client_as("osh_krg").post(f"/api/v1/alarms/{rec.id}/ack", json={"note": "on it"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    ev = client_as("inspector_krg").get(f"/api/v1/alarms/{rec.id}/events").json()
    assert [e["trigger"] for e in ev] == ["raise", "ack"]
    assert client_as("osh_krg").post(f"/api/v1/alarms/{rec.id}/resolve",
                                     json={"resolution": "maybe"}).json()["detail"][0][
        "loc"][-1] == "resolution"


def test_readings_of_an_installed_device_are_its_heartbeat_in_the_equipment_register(
        client, db, world, mine, proc, as_) -> None:
    """The register counts an installation as working only while it reports: a reading of
    the alarm device linked to it is that report (its latest reading's time); readings of
    the other devices in the batch touch no installation."""
    from qorgau.alarms import service
    from qorgau.alarms.schemas import DeviceIn
    from qorgau.equipment.models import Installation
    from qorgau.equipment.schemas import InstallationIn
    from qorgau.equipment.service import register_installation

    osh = as_("osh_krg")
    inst = register_installation(db=db, actor=osh, data=InstallationIn(
        site_id=mine.site_id, requirement_code="mine.methane", serial_no=f"SN-{mine.site_id}-9",
        commissioned_on=time.strftime("%Y-%m-%d")))
    other = register_installation(db=db, actor=osh, data=InstallationIn(
        site_id=mine.site_id, requirement_code="mine.methane", serial_no=f"SN-{mine.site_id}-8",
        commissioned_on=time.strftime("%Y-%m-%d")))
    service.create_device(db=db, actor=osh, data=DeviceIn(
        site_id=mine.site_id, code="CH4-9", kind="gas", quantity="CH4", zone_code="L1",
        installation_id=inst.id))
    body = mine.batch([("CO-1", 2.0, -9), ("CH4-9", 0.2, -8), ("CH4-9", 0.3, -5),
                       ("CH4-1", 0.2, -4)])
    assert _post(client, mine, body).json()["accepted"] == 4
    db.expire_all()
    got = db.get(Installation, inst.id).last_heartbeat_at
    latest = body["readings"][2]["t"]
    assert got is not None and abs(got.timestamp() - latest) < 0.01, (got, latest)
    assert db.get(Installation, other.id).last_heartbeat_at is None


def test_every_member_of_a_gzip_stream_is_read_and_a_cut_one_refused(client, db, mine, proc):
    """`cat a.gz b.gz` is one gzip stream of two members: only the first was read and the
    second's readings dropped without a word. A stream cut before its checksum is refused."""
    now = time.time()
    first = orjson.dumps({"site_id": mine.site_id, "readings": [
        {"d": "CO-1", "s": 0, "t": now, "v": 1.0}, {"d": "CO-1", "s": 1, "t": now, "v": 1.0},
        {"d": "CO-1", "s": 2, "t": now, "v": 1.0}]})
    cut = len(first) // 2
    two = gzip.compress(first[:cut]) + gzip.compress(first[cut:])
    r = _post(client, mine, two)
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
    short = gzip.compress(orjson.dumps(mine.batch([("CO-1", 1.0, -1)])))[:-6]
    r = _post(client, mine, short)
    assert r.status_code == 422 and "checksum" in r.text, r.text


def test_a_message_failing_alone_by_its_own_fault_is_dead_lettered_not_held(db, mine, proc,
                                                                           monkeypatch):
    """Failure injected where the edge checks would have missed a payload (an input error,
    twice, the second time on a rebuilt runtime): the message is dead-lettered as
    "unprocessable" with the error and acknowledged. Unacknowledged it held a broker in-flight
    slot for good and failed again at every reconnect. A database error is not the message's
    fault: it is left unacknowledged, to come again."""
    from sqlalchemy.exc import OperationalError

    from qorgau.alarms import worker

    real, calls = proc.handle_raw, []

    def broken(db_, doc, **kw):
        calls.append(doc)
        if doc["readings"][0]["s"] == 7:
            raise TypeError("a path the edge checks missed")
        return real(db_, doc, **kw)

    monkeypatch.setattr(proc, "handle_raw", broken)
    acked: list[int] = []
    bad = {"site_id": mine.site_id, "readings": [{"d": "CO-1", "s": 7, "t": time.time(),
                                                  "v": 1.0}]}
    assert worker._single(proc, "mqtt", (mine.site_id, bad, lambda: acked.append(1)))
    assert acked == [1] and len(calls) == 2
    letter = db.scalar(select(DeadLetter).where(DeadLetter.site_id == mine.site_id,
                                                DeadLetter.reason == "unprocessable"))
    assert letter is not None and "TypeError" in letter.detail and letter.source == "mqtt"
    # the whole message is kept (its readings may never have reached the segments), to replay
    kept = proc.store.root.parent / letter.detail.split("kept in ", 1)[1].split(";", 1)[0]
    saved = orjson.loads(kept.read_bytes())
    assert saved["message"] == bad and saved["site_id"] == mine.site_id
    assert saved["error"] == "TypeError: a path the edge checks missed"
    good = {"site_id": mine.site_id, "readings": [{"d": "CO-1", "s": 8, "t": time.time(),
                                                   "v": 1.0}]}
    assert worker._single(proc, "mqtt", (mine.site_id, good, lambda: acked.append(2)))
    assert acked == [1, 2]

    def down(db_, doc, **kw):
        raise OperationalError("INSERT", {}, ConnectionRefusedError("the database is down"))

    monkeypatch.setattr(proc, "handle_raw", down)
    assert not worker._single(proc, "mqtt", (mine.site_id, good, lambda: acked.append(3)))
    assert acked == [1, 2]


def test_an_unprocessable_rows_batch_is_kept_as_its_message(proc):
    """Most batches decode to `Rows` (msgspec): it was written as its repr, a string that
    `POST /ingest` cannot take."""
    from qorgau.alarms.ingest.parse import decode
    from qorgau.alarms.ingest.unprocessable import keep_unprocessable

    raw = b'{"site_id":1,"readings":[{"d":"CO-1","s":7,"t":1700000000.0,"v":1.0}]}'
    path = keep_unprocessable(proc, decode(raw), source="mqtt", site_id=1, err=TypeError("x"))
    kept = orjson.loads((proc.store.root.parent / path).read_bytes())
    assert kept["message"] == orjson.loads(raw)


def test_a_numbered_batch_is_kept_with_its_device_codes(proc):
    """A batch from a receiving process's bulk pipe has its codes as numbers into the pipe's
    table: kept, it has their names (it had the object's repr, and no replay could use it)."""
    from qorgau.alarms.ingest import receiver
    from qorgau.alarms.ingest.parse import decode
    from qorgau.alarms.ingest.unprocessable import keep_unprocessable

    numbering, names = receiver.Numbering(), receiver.Names()
    for raw in (b'{"site_id":1,"readings":[{"d":"CO-0","s":1,"t":1700000000.0,"v":0.5}]}',
                b'{"site_id":1,"readings":[{"d":"CO-1","s":7,"t":1700000000.0,"v":1.0},'
                b'{"d":"CO-0","s":2,"t":1700000001.0,"v":2.0}]}'):
        _sid, doc = receiver.unpack(receiver.pack(1, decode(raw), numbering), names)
    path = keep_unprocessable(proc, doc, source="mqtt", site_id=1, err=TypeError("x"))
    kept = orjson.loads((proc.store.root.parent / path).read_bytes())["message"]
    assert kept["d"] == ["CO-1", "CO-0"] and kept["s"] == [7, 2] and kept["v"] == [1.0, 2.0]


def test_a_message_orjson_cannot_write_is_still_kept(proc):
    """json.loads (the NaN fallback of `decode`) keeps integers beyond 64 bits: orjson refused
    them, keeping it raised, and the message was left unacknowledged for good."""
    from qorgau.alarms.ingest.parse import decode
    from qorgau.alarms.ingest.unprocessable import keep_unprocessable

    doc = decode(b'{"site_id":1,"readings":[{"d":"CO-1","s":99999999999999999999999,'
                 b'"t":1,"v":NaN}]}')
    path = keep_unprocessable(proc, doc, source="mqtt", site_id=1, err=TypeError("x"))
    assert b"99999999999999999999999" in (proc.store.root.parent / path).read_bytes()


def test_bad_utf8_and_lone_surrogates_are_dead_letters_not_errors(client, db, mine, proc):
    """Invalid UTF-8 in a device code escaped the typed decoders (their UnicodeDecodeError is
    no decode error of theirs) as a 500 and, on NATS, a message redelivered for ever; a lone
    surrogate (valid JSON escape, no UTF-8) must reach the dead letters too, not the driver."""
    now = time.time()
    for raw in (b'{"site_id": %d, "d": ["\xff"], "s": [1], "t": [%f], "v": [1.0]}',
                b'{"site_id": %d, "readings": [{"d": "\xff", "s": 1, "t": %f, "v": 1.0}]}',
                b'{"site_id": %d, "d": ["\\ud800"], "s": [1], "t": [%f], "v": [1.0]}',
                b'{"site_id": %d, "readings": [{"d": "\\ud800", "s": 1, "t": %f, "v": 1.0}]}'):
        before = db.scalar(select(func.count()).select_from(DeadLetter))
        r = _post(client, mine, raw % (mine.site_id, now))
        assert r.status_code in (200, 400, 422), (raw, r.status_code, r.text)
        db.expire_all()
        assert db.scalar(select(func.count()).select_from(DeadLetter)) > before, raw
