"""Alarm flood suppression (EEMUA 191 / ISA-18.2: > 10 alarms in 10 min): past the tenth
alarm at a site, non-life-safety raises are recorded and shown on the console but held on
SMS, e-mail and webhooks; the site's contacts get a flood summary per 5-min slot and a closing
one; life-safety alarms go out at once; redundant workers send each summary once."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from alarms.receivers import WebhookReceiver
from qorgau.alarms import delivery, dispatch, flood, notify, service, worker
from qorgau.alarms.dispatch import Context, Notice, flooding, group
from qorgau.alarms.ingest import core
from qorgau.alarms.models import AlarmRecord, Notification
from qorgau.alarms.schemas import ContactIn, DeviceIn
from qorgau.alarms.store import SegmentStore
from qorgau.core.db import get_sessionmaker, utcnow

SIZES = [3, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 2]  # 30 alarms over 12 batches
_phones = itertools.count(1)


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    h = WebhookReceiver().start()
    yield h
    h.stop()


def _site(db, as_, mine, hook: WebhookReceiver) -> str:
    """30 thermometers (HI is not life-safety), an SMS and a webhook contact on tier 1, an SMS
    contact on tier 2; returns the tier-1 phone number."""
    osh = as_("osh_krg")
    for i in range(30):
        dev = service.create_device(db=db, actor=osh, data=DeviceIn(
            site_id=mine.site_id, code=f"T-{i:02d}", kind="temperature", quantity="temp",
            zone_code="L2"))
        mine.devices[dev.code] = dev.id
    phone = f"+7705{next(_phones):07d}"
    for tier, channel, target in [(1, "sms", phone), (1, "webhook", hook.url),
                                  (2, "sms", phone.replace("+7705", "+7706"))]:
        service.add_contact(db=db, actor=osh, data=ContactIn(
            site_id=mine.site_id, tier=tier, role="dispatcher", channel=channel,
            target=target, secret="s3cret", lang="en"))  # subjects matched in English
    return phone


def _flood(db, mine, proc, phone: str, *, life_safety_after: int | None = None) -> list[int]:
    """Thermometers T-00..T-29 go HI over 12 batches, each batch's pending notices sent (as
    the worker's tick does); returns the HI alarm ids in the order raised."""
    ids: list[int] = []
    codes = iter(f"T-{i:02d}" for i in range(30))
    for k, size in enumerate(SIZES):
        batch = [next(codes) for _ in range(size)]
        proc.handle_raw(db, mine.batch([(c, 27.5, 0) for c in batch]), source="test")
        devs = [mine.devices[c] for c in batch]
        ids += db.scalars(select(AlarmRecord.id).where(
            AlarmRecord.device_id.in_(devs), AlarmRecord.kind == "HI")
            .order_by(AlarmRecord.id)).all()
        if k == life_safety_after:
            proc.handle_raw(db, mine.batch([("CH4-1", 2.5, 0)]), source="test")
            # at once: delivered right after the batch's commit, no tick in between
            assert any("LIFE-SAFETY" in s for s in _sms(phone))
        _deliver_all(db)
    assert len(ids) == 30
    return ids


def _deliver_all(db) -> None:
    """Send every pending row (other tests' too: `deliver` takes the oldest 200)."""
    for _ in range(100):
        if not sum(delivery.deliver(db).values()):
            return


def _rows(db, alarm_ids: list[int], channel: str) -> dict[int, Notification]:
    db.expire_all()
    return {n.alarm_id: n for n in db.scalars(select(Notification).where(
        Notification.alarm_id.in_(alarm_ids), Notification.channel == channel))}


def _sms(phone: str) -> list[str]:
    return [s for t, s in notify.SMS_LOG if t == phone]


def _held_count(subject: str) -> int:
    return int(re.search(r": (\d+) alarms \(", subject).group(1))


def test_flood_holds_external_notices_and_sends_summaries(db, as_, mine, proc, hook,
                                                         client_as):
    phone = _site(db, as_, mine, hook)
    ids = _flood(db, mine, proc, phone, life_safety_after=5)
    # the first ten go out as usual (grouped per batch), then nothing more one by one
    sms = _rows(db, ids, "sms")
    held = [i for i in ids if i in sms and sms[i].status == "held"]
    assert held == ids[10:]
    assert all(sms[i].status == "sent" for i in ids[:10] if i in sms)
    assert all(r.error.startswith("held: alarm flood") for r in sms.values()
               if r.status == "held")
    hooks = _rows(db, ids, "webhook")
    assert [i for i in ids if hooks.get(i) and hooks[i].status == "held"] == ids[10:]
    single = [s for s in _sms(phone) if not s.startswith("[FLOOD")]
    ls = [s for s in single if "LIFE-SAFETY" in s]
    assert any("HIHI" in s for s in ls) and len(single) - len(ls) == 4  # 3 batches + 2
    hooked = {b["alarm_id"] for b in hook.bodies if not b["subject"].startswith("[FLOOD")
              and not b["life_safety"]}
    assert hooked <= set(ids[:10]) and len(hooked) == 4
    # each held alarm is still on the console: its in-app notice went out
    inapp = _rows(db, ids[10:], "inapp")
    assert {inapp[i].status for i in ids[10:]} == {"sent"}
    api = client_as("osh_krg")
    r = api.get(f"/api/v1/alarms/{ids[-1]}/notifications")
    assert r.status_code == 200
    assert {n["channel"]: n["status"] for n in r.json()}["sms"] == "held"
    assert api.get("/api/v1/alarms/metrics").json()["counts"]["flood_held"] >= 40

    # a summary per 5-min slot, once the slot is over, counting every held alarm
    held_all = {n.alarm_id for n in db.scalars(select(Notification).where(
        Notification.target == phone, Notification.status == "held"))}
    assert set(ids[10:]) <= held_all
    end = utcnow()
    flood.flood_summaries(db, end)  # the current slot is not over: not summed up yet
    later = end + timedelta(seconds=flood.FLOOD_SUMMARY_S + 6)
    flood.flood_summaries(db, later)
    planned = _summary_keys(db, mine, "flood")
    assert len(planned) in (2, 4)  # SMS and webhook, for one slot (two if one ended)
    flood.flood_summaries(db, later)
    assert _summary_keys(db, mine, "flood") == planned  # planned once
    _deliver_all(db)
    slots = [s for s in _sms(phone) if s.startswith("[FLOOD]")]
    assert len(slots) == len(planned) // 2
    assert sum(map(_held_count, slots)) == len(held_all)
    assert "P2:" in slots[0] and "T-" in slots[0] and "Test mine" in slots[0]
    hooked = [s for s in hook.subjects() if s.startswith("[FLOOD]")]
    assert sorted(hooked) == sorted(slots)
    assert not [s for s in _sms(phone) if s.startswith("[FLOOD OVER]")]  # still in flood

    # the flood is over (no alarm for 10 min): one closing summary with the whole flood
    over = end + timedelta(minutes=11)
    flood.flood_summaries(db, over)
    assert len(_summary_keys(db, mine, "flood-end")) == 2
    flood.flood_summaries(db, over + timedelta(seconds=30))
    assert len(_summary_keys(db, mine, "flood-end")) == 2
    _deliver_all(db)
    closing = [s for s in _sms(phone) if s.startswith("[FLOOD OVER]")]
    assert len(closing) == 1 and _held_count(closing[0]) == len(held_all)
    assert [s for s in hook.subjects() if s.startswith("[FLOOD OVER]")] == closing
    assert len(ls) + 4 + len(slots) + 1 == len(_sms(phone))  # nothing else went out


def _summary_keys(db, mine, kind: str) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(Notification.dedup_key).where(
        Notification.dedup_key.like(f"{kind}:{mine.site_id}:%"))))


def test_two_workers_ticking_send_each_summary_once(db, as_, mine, proc, hook, tmp_path):
    """Two worker processes (their own processors and sessions) tick at once: each slot's
    summary goes to each contact once; a held alarm nobody acknowledges still escalates."""
    phone = _site(db, as_, mine, hook)
    ids = _flood(db, mine, proc, phone)
    now = time.time() + flood.FLOOD_SUMMARY_S + 6
    procs = [core.Processor(SegmentStore(tmp_path / f"w{k}", fsync=False)) for k in (1, 2)]
    gate = threading.Barrier(2)

    def run(p: core.Processor) -> None:
        with get_sessionmaker()() as s:
            gate.wait()
            worker.tick(s, p, now=now)

    threads = [threading.Thread(target=run, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.close()
    _deliver_all(db)  # what the ticks left (other tests' pending rows come first)
    db.expire_all()
    rows = db.scalars(select(Notification).where(
        Notification.dedup_key.like(f"flood:{mine.site_id}:%"))).all()
    assert {(r.channel, r.status) for r in rows} == {("sms", "sent"), ("webhook", "sent")}
    tags = {r.dedup_key.rsplit(":", 2)[0] for r in rows if r.channel == "sms"}
    slots = [s for s in _sms(phone) if s.startswith("[FLOOD]")]
    assert len(slots) == len(tags) >= 1  # one SMS per slot, whichever worker sent it
    assert len([s for s in hook.subjects() if s.startswith("[FLOOD]")]) == len(tags)
    # held alarms nobody acknowledged still escalate: tier 2, told (a tick's escalations of
    # a site go as one message)
    assert {db.get(AlarmRecord, i).tier for i in ids[10:]} == {2}
    up = db.scalars(select(Notification).where(Notification.alarm_id.in_(ids),
                                               Notification.tier == 2,
                                               Notification.channel == "sms")).all()
    assert up and {r.status for r in up} == {"sent"}
    assert _sms(phone.replace("+7705", "+7706"))


def _n(alarm_id: int, ls: bool = False, what: str = "raise", site: int = 1) -> Notice:
    return Notice(alarm_id, site, 1, "KZ-35", "HI", 1 if ls else 2, ls, 1, what, "m", alarm_id)


def test_the_eleventh_alarm_in_ten_minutes_is_held_life_safety_never():
    # 12 in the last 10 min, 5 of them this batch: 7 came before, so the 4th and 5th are held
    ctx = Context(recent_by_site={1: 12})
    assert flooding([_n(1), _n(2), _n(3), _n(4), _n(5)], ctx) == {4, 5}
    batch = [_n(1), _n(2), _n(3), _n(4, ls=True), _n(5, ls=True)]
    assert flooding(batch, ctx) == set()  # the 11th and 12th are life-safety
    assert flooding([_n(1, what="escalate"), _n(2, what="remind9")], ctx) == set()
    assert flooding([_n(1, site=2)], ctx) == set()  # another site is not in flood
    ctx = Context(recent_by_site={1: 13})  # 7 before these six
    msgs = group([_n(1), _n(2), _n(3), _n(4), _n(5), _n(6, ls=True)], ctx)
    held = [m for m in msgs if isinstance(m, dispatch.Held)]
    assert [n.alarm_id for m in held for n in m.notices] == [4, 5]
    assert [n.alarm_id for m in msgs if m.life_safety for n in m.notices] == [6]
    assert ctx.counters["flood_held"] == 2


def test_summaries_and_held_reasons_in_the_readers_language(db, as_, mine, proc, hook, client,
                                                            client_as, world):
    """A kk contact's summary is in Kazakh, an en one's in English; the webhook body carries
    the same machine part in any language; a held row says why, on its page and in the API."""
    phone = _site(db, as_, mine, hook)  # en: SMS and webhook
    kk_phone = phone.replace("+7705", "+7707")
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target=kk_phone,
        lang="kk"))
    ids = _flood(db, mine, proc, phone)
    later = utcnow() + timedelta(seconds=flood.FLOOD_SUMMARY_S + 6)
    flood.flood_summaries(db, later)
    _deliver_all(db)
    en = next(s for s in _sms(phone) if s.startswith("[FLOOD]"))
    kk = next(s for s in _sms(kk_phone) if s.startswith("[FLOOD]"))
    assert ": held " in en and "Life-safety alarms still go out" in en
    assert "ұсталды" in kk and "дабылдар саны:" in kk and "консольде" in kk
    assert "held" not in kk and "alarms" not in kk
    n = _held_count(en)
    assert f"дабылдар саны: {n} (" in kk and "T-" in kk and "P2: " in kk
    body = next(b for b in hook.bodies if b["subject"].startswith("[FLOOD]"))
    assert (body["type"], body["kind"], body["phase"], body["site_id"], body["lang"]) == (
        "flood_summary", "FLOOD", "slot", mine.site_id, "en")
    assert body["count"] == sum(body["by_priority"].values()) and body["count"] >= 1
    assert set(body["by_priority"]) == {"P2"} and body["text"] == body["subject"]
    assert body["top_devices"][0]["device"].startswith("T-") and body["from"] < body["to"]
    assert {b["type"] for b in hook.bodies} == {"flood_summary", "alarm"}
    # why a row was held: the flood at the site, since when, on the API and the alarm page
    api = client_as("osh_krg")
    rows = api.get(f"/api/v1/alarms/{ids[-1]}/notifications?lang=ru").json()
    sms = next(r for r in rows if r["channel"] == "sms" and r["target"] == phone)
    assert sms["status"] == "held" and sms["error"].startswith("held: alarm flood")
    assert sms["reason"].startswith("Задержано: лавина тревог на объекте с ")
    assert f"{sms['alarms_in_10_min']} тревог за 10 мин" in sms["reason"]
    since, at = (datetime.fromisoformat(sms[k]) for k in ("flood_since", "at"))
    assert at - timedelta(minutes=11) < since <= at
    inapp = next(r for r in rows if r["channel"] == "inapp")
    assert inapp["status"] == "sent" and inapp["reason"] is None
    from .test_pages import _login

    _login(client, world, "osh_krg")
    for lang, phrase in (("kk", "Ұсталды: объектіде"), ("ru", "Задержано: лавина тревог"),
                         ("en", "Held: alarm flood at the site since")):
        page = client.get(f"/alarms/{ids[-1]}?lang={lang}")
        assert page.status_code == 200 and phrase in page.text, lang
