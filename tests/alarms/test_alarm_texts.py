"""Alarm texts in the reader's language: the console (list, live fragment, detail page) and the
live feed in the viewer's kk / ru / en, SMS, e-mail and webhook texts in the contact's `lang`;
the stored record message stays the English audit record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from alarms.receivers import SmtpReceiver, WebhookReceiver
from qorgau.alarms import live, notify, service
from qorgau.alarms.models import AlarmRecord, Contact
from qorgau.alarms.schemas import ContactIn
from qorgau.core.audit import AuditEntry

from .test_pages import _login

RECORD = "CH4 HIHI at CH4-1 (L1) = 1.8 %"
PHRASES = {"kk": "Апат (өте жоғары): CH4 1,8 % — CH4-1, L1 аймағы",
           "ru": "Авария (очень высокий): CH4 1,8 % — CH4-1, зона L1",
           "en": "Alarm (high-high): CH4 1.8 % — CH4-1, zone L1"}


def _hihi(db, mine, proc) -> AlarmRecord:
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -1)]), source="test")
    db.expire_all()
    return db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))


def test_console_shows_the_alarm_in_the_viewers_language(client, db, world, mine, proc):
    rec = _hihi(db, mine, proc)
    assert rec.message == RECORD  # the record is not rewritten
    _login(client, world, "osh_krg")
    for lang, phrase in PHRASES.items():
        for url in (f"/alarms/sites/{mine.site_id}", f"/alarms/sites/{mine.site_id}/live",
                    f"/alarms/{rec.id}"):
            page = client.get(f"{url}?lang={lang}")
            assert page.status_code == 200 and phrase in page.text, (lang, url)
            assert "HIHI" in page.text  # the code stays beside the words
            others = [p for k, p in PHRASES.items() if k != lang]
            assert not any(p in page.text for p in others), (lang, url)
    console = client.get(f"/alarms/sites/{mine.site_id}?lang=ru").text
    assert "Предупреждение (высокий)" in console  # the danger signal's labels for the script
    db.expire_all()
    assert db.get(AlarmRecord, rec.id).message == RECORD


def test_live_feed_text_per_subscriber_language(db, as_, mine, proc):
    rec = _hihi(db, mine, proc)
    osh = as_("osh_krg")
    for lang, phrase in PHRASES.items():
        rows = [r for r in live._batch(osh, mine.site_id, 0, lang) if r["alarm_id"] == rec.id]
        assert rows and all(r["text"] == f"HIHI · {phrase}" for r in rows), lang
        assert rows[0]["message"] == RECORD and rows[0]["kind"] == "HIHI"


@pytest.fixture
def receivers(monkeypatch) -> Iterator[tuple[WebhookReceiver, SmtpReceiver]]:
    hook, smtp = WebhookReceiver().start(), SmtpReceiver()
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(smtp.port))
    yield hook, smtp
    hook.stop()
    smtp.stop()


def _wait(cond, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_notifications_in_each_contacts_language(db, as_, mine, proc, receivers):
    hook, smtp = receivers
    osh = as_("osh_krg")
    phone = f"+7701{mine.site_id:07d}"
    for channel, target, lang in (("sms", phone, "kk"), ("webhook", hook.url, "ru"),
                                  ("email", "dispatch@mine.kz", "ru")):
        service.add_contact(db=db, actor=osh, data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target,
            lang=lang))
    before = len(notify.SMS_LOG)
    rec = _hihi(db, mine, proc)  # life-safety: delivered right after the commit
    sms = [s for t, s in list(notify.SMS_LOG)[before:] if t == phone]
    assert f"[P1 ӨМІРГЕ ҚАУІП] HIHI · {PHRASES['kk']}" in sms  # the HI warning came too
    assert "[P2 ӨМІРГЕ ҚАУІП] HI · Ескерту (жоғары): CH4 1,8 % — CH4-1, L1 аймағы" in sms
    assert _wait(lambda: len(hook.bodies) == 2 and len(smtp.mails) == 2)
    body = next(b for b in hook.bodies if b["kind"] == "HIHI")
    assert body["subject"] == f"[P1 УГРОЗА ЖИЗНИ] HIHI · {PHRASES['ru']}"
    assert body["text"] == f"HIHI · {PHRASES['ru']}" and body["lang"] == "ru"
    # machine fields stay as they were, with the structured ones beside them
    assert (body["kind"], body["value"], body["device"], body["quantity"], body["unit"],
            body["zone"], body["message"]) == ("HIHI", 1.8, "CH4-1", "CH4", "%", "L1", RECORD)
    mails = {str(make_header(decode_header(m.msg["Subject"]))): m.msg for m in smtp.mails}
    mail = mails[body["subject"]]
    assert mail.get_payload(decode=True).decode().startswith(f"HIHI · {PHRASES['ru']}")
    db.expire_all()
    assert db.get(AlarmRecord, rec.id).message == RECORD


def test_contact_language_validated_defaulted_and_audited(client, client_as, db, world, mine):
    api = client_as("osh_krg")
    r = api.post("/api/v1/alarms/contacts", json={
        "site_id": mine.site_id, "tier": 1, "role": "dispatcher", "channel": "sms",
        "target": "+77010000001"})
    assert r.status_code == 201 and r.json()["lang"] == "ru"  # the product's default
    cid = r.json()["id"]
    r = api.put(f"/api/v1/alarms/contacts/{cid}/lang", json={"lang": "de"})
    assert r.status_code == 422 and "lang" in r.text
    r = api.put(f"/api/v1/alarms/contacts/{cid}/lang", json={"lang": "kk", "reason": "kk crew"})
    assert r.status_code == 200 and r.json()["lang"] == "kk"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.contact.revise",
                                               AuditEntry.object_id == str(cid)))
    assert (entry.diff["before"]["lang"], entry.diff["after"]["lang"],
            entry.diff["after"]["reason"]) == ("ru", "kk", "kk crew")
    # another enterprise's officer cannot change it
    assert client_as("osh_ala").put(f"/api/v1/alarms/contacts/{cid}/lang",
                                    json={"lang": "en"}).status_code == 404
    # the routing page: shown, changed, a bad value named
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}/routing?lang=ru").text
    assert "Язык текстов тревог" in page and "Қазақша" in page
    r = client.post(f"/alarms/contacts/{cid}/lang", data={"lang": "en", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Contact, cid).lang == "en"
    r = client.post(f"/alarms/contacts/{cid}/lang?lang=en",
                    data={"lang": "xx", "csrf_token": csrf})
    assert r.status_code == 422 and "Choose one of the offered values" in r.text
    r = client.post(f"/alarms/sites/{mine.site_id}/contacts?lang=en", data={
        "tier": "1", "role": "dispatcher", "channel": "sms", "target": "+77010000002",
        "lang": "fr", "csrf_token": csrf})
    assert r.status_code == 422 and 'id="e-lang"' in r.text


def test_withdraw_command_text_fits_a_wearable_screen(monkeypatch):
    """The command carries the code and the screen text in the site's language (the
    deployment default, ru), at most 40 characters in every language, the zone kept."""
    from qorgau.alarms import texts
    from qorgau.alarms.ingest.mqtt import command

    cmd = command(7, "W-1", "[P1 LIFE-SAFETY] CH4 HIHI", {"zone": "L1", "quantity": "CH4"})
    assert (cmd["command"], cmd["code"], cmd["lang"], cmd["display"]) == (
        "withdraw", "WITHDRAW", "ru", "ВЫХОД! Метан. Покиньте зону L1")
    assert texts.withdraw_display("CH4", "L1", "kk") == "ШЫҒУ! Метан. L1 аймағынан шығыңыз"
    assert texts.withdraw_display("CH4", "L1", "en") == "EXIT! Methane. Leave zone L1"
    for lang in ("kk", "ru", "en"):
        for q in ("CH4", "CO", "H2S", "O2", None):
            for zone in ("L1", "LONGWALL-12", "Z" * 40, None):
                shown = texts.withdraw_display(q, zone, lang)
                assert 0 < len(shown) <= texts.DISPLAY_MAX, (lang, q, zone, shown)
    # a zone too long with its gas still keeps the zone (the danger goes first)
    assert texts.withdraw_display("H2S", "LONGWALL-12", "ru") == \
        "ВЫХОД! Покиньте зону LONGWALL-12"
