"""The e-mail channel against a real SMTP server: a life-safety alarm reaches the contact's
mailbox with its subject; with the mail server down the delivery fails, NOTIFY_FAILED is
raised and the fallback channel tells the same person. Readings go through the processor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from alarms.receivers import Mail, SmtpReceiver, closed_port
from qorgau.alarms import masking, notify, service
from qorgau.alarms.models import AlarmRecord, Notification
from qorgau.alarms.schemas import ContactIn

MAILBOX = "dispatch@shakhta.kz"


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpReceiver()
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(server.port))
    yield server
    server.stop()


def _methane_hihi(db, mine, proc) -> AlarmRecord:
    """Two CH4 readings far over the limit: a life-safety HIHI, delivered on the fast path."""
    proc.handle_raw(db, mine.batch([("CH4-1", 3.0, -2), ("CH4-1", 3.1, -1)]), source="test")
    db.expire_all()
    hihi = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                               AlarmRecord.kind == "HIHI"))
    assert hihi is not None and hihi.life_safety
    return hihi


def _fields(mail: Mail) -> dict:
    """The machine fields: the JSON block of the body (after a text line, if any)."""
    text = mail.msg.get_content()
    return json.loads(text if text.startswith("{") else text[text.index("\n{"):])


def _alarm_id(mail: Mail) -> int:
    return _fields(mail)["alarm_id"]


def _rows(db, alarm_id: int, channel: str) -> list[Notification]:
    return list(db.scalars(select(Notification).where(
        Notification.alarm_id == alarm_id, Notification.channel == channel)
        .order_by(Notification.id)))


def test_life_safety_alarm_is_emailed(db, as_, mine, proc, smtp):
    service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="email", target=MAILBOX,
        lang="en"))  # the subject compared with the English record
    hihi = _methane_hihi(db, mine, proc)
    # delivered after the commit, before handle_raw returned (the HI before it has its own)
    (mail,) = [m for m in smtp.to(MAILBOX) if _alarm_id(m) == hihi.id]
    (row,) = _rows(db, hihi.id, "email")
    assert (row.status, row.target) == ("sent", MAILBOX)
    assert mail.rcpt == [MAILBOX] and mail.msg["To"] == MAILBOX
    # the subject the row records (in the contact's language): priority, life-safety, kind
    assert mail.msg["Subject"] == row.error
    assert row.error.startswith("[P1 ") and "HIHI" in row.error and "CH4-1" in row.error
    assert mail.sender == mail.msg["From"] == "alarms@qorgau.kz"
    body = _fields(mail)
    assert (body["alarm_id"], body["kind"], body["life_safety"]) == (hihi.id, "HIHI", True)
    assert body["value"] >= 3.0


def test_smtp_down_fails_over_to_sms(db, as_, mine, proc, monkeypatch):
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(closed_port()))
    osh = as_("osh_krg")
    phone = f"+7701{mine.site_id:07d}"
    for channel, target in (("email", MAILBOX), ("sms", phone)):
        service.add_contact(db=db, actor=osh, data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target,
            name="Aigerim Bekova", lang="en"))
    sms_before = len(notify.SMS_LOG)
    hihi = _methane_hihi(db, mine, proc)
    (mail,) = _rows(db, hihi.id, "email")
    assert mail.status == "failed" and mail.error.startswith("smtp:")
    nf = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                             AlarmRecord.kind == "NOTIFY_FAILED"))
    shown = masking.target("email", MAILBOX)  # d•••@shakhta.kz: the record is read widely
    assert nf is not None and nf.active and shown in nf.message and MAILBOX not in nf.message
    # the same person is told by SMS that the e-mail did not go out: a row of its own
    fallback = [r for r in _rows(db, hihi.id, "sms") if r.dedup_key.startswith(f"fb:{mail.id}:")]
    assert [(r.status, r.target) for r in fallback] == [("sent", phone)]
    # its text names the address that failed (masked) and the alarm (the direct SMS neither)
    texts = [s for t, s in list(notify.SMS_LOG)[sms_before:] if t == phone]
    assert any(shown in s and "HIHI" in s for s in texts), texts
    assert not any(MAILBOX in s for s in texts), texts


def test_a_webhook_is_signed_with_its_own_sites_secret(db, as_, world, new_mines, proc) -> None:
    """Two sites' dispatch systems behind one receiver URL, each with its own secret: each
    site's alarm is signed with that site's secret, never the other's (the secret was looked
    up by channel and address only, so one site could sign with another's)."""
    from alarms.receivers import WebhookReceiver

    first, second = new_mines(), new_mines()
    hook = WebhookReceiver(secret="whsec-second-site").start()
    try:
        for m, secret in ((first, "whsec-first-site"), (second, hook.secret)):
            service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
                site_id=m.site_id, tier=1, role="dispatcher", channel="webhook",
                target=hook.url, secret=secret, lang="en"))
        rec = _methane_hihi(db, second, proc)
        assert len(hook.verified(rec.id)) == 1, hook.hits
        (row,) = _rows(db, rec.id, "webhook")
        assert row.status == "sent"
    finally:
        hook.stop()


def test_an_in_app_notice_is_a_notice_on_the_hub(db, mine, proc) -> None:
    """The console's hub carries the engine's alarm message once per raise and the in-app
    channel's delivery as a notice; the delivery body's own `type` (\"alarm\", for webhook
    receivers) must not turn the notice into a second alarm message."""
    from qorgau.alarms.notify import HUB

    before = HUB.published
    rec = _methane_hihi(db, mine, proc)
    new = HUB.published - before
    mine_msgs = [m for m in list(HUB.recent)[-new:] if m.get("id") == rec.id
                 or m.get("alarm_id") == rec.id]
    assert [m["type"] for m in mine_msgs] == ["alarm", "notice"], mine_msgs


def test_an_address_no_request_can_go_to_fails_its_row_not_the_rows_after_it(
        db, as_, mine, proc) -> None:
    """A webhook stored before its host was checked (IDNA refuses "shakhta..kz" only when
    sent) raised out of the sender: its chunk of claimed rows stayed "sending", and the SMS
    after it went out only after the lease, five minutes late. Its row fails at once, without
    retries; the phone written with spaces, as people write it, gets its SMS."""
    from sqlalchemy import update

    from qorgau.alarms.models import Contact

    phone = f"+7 701 {mine.site_id:07d}"
    for channel, target in (("webhook", "https://scada.shakhta.kz/alarm"), ("sms", phone)):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target))
    db.execute(update(Contact).where(Contact.site_id == mine.site_id,
                                     Contact.channel == "webhook")
               .values(target="https://scada.shakhta..kz/alarm"))
    db.commit()
    sms_before = len(notify.SMS_LOG)
    hihi = _methane_hihi(db, mine, proc)
    (hook,) = _rows(db, hihi.id, "webhook")
    assert hook.status == "failed" and "not a URL a request can go to" in hook.error
    direct = [r for r in _rows(db, hihi.id, "sms") if not r.dedup_key.startswith("fb:")]
    assert [r.status for r in direct] == ["sent"]
    assert f"+7701{mine.site_id:07d}" in {t for t, _s in list(notify.SMS_LOG)[sms_before:]}
    site_alarms = select(AlarmRecord.id).where(AlarmRecord.site_id == mine.site_id)
    assert db.scalar(select(Notification.id).where(Notification.status == "sending",
                                                   Notification.alarm_id.in_(site_alarms))
                     ) is None


def test_two_long_webhook_addresses_are_each_told(db, as_, mine, proc) -> None:
    """Keys cut at the column's 120 characters made two webhooks with one long common
    prefix one row: the second dispatch system was never told."""
    from qorgau.alarms.dispatch import KEY_LEN, dedup_key

    base = f"http://127.0.0.1:{closed_port()}/integrations/" + "scada-dispatch/" * 8
    hooks = [f"{base}?site={mine.site_id}&unit={u}" for u in ("north", "south")]
    for target in hooks:
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel="webhook", target=target))
    hihi = _methane_hihi(db, mine, proc)
    rows = _rows(db, hihi.id, "webhook")
    assert sorted(r.target for r in rows) == sorted(hooks)
    assert all(len(r.dedup_key) <= KEY_LEN for r in rows)
    assert dedup_key("a1", "sms", "+77010000001") == "a1:sms:+77010000001"  # short: as it was


def test_a_fallback_channel_that_raises_fails_its_attempt_not_the_chunk(db, as_, mine, proc,
                                                                       monkeypatch) -> None:
    """The fallback called the channel itself and caught only DeliveryError: a driver's own
    bug there left the failed row and every row claimed with it "sending" for the lease."""
    from sqlalchemy import update

    from qorgau.alarms.models import Contact

    def broken(*_a):
        raise RuntimeError("a driver's own bug")

    monkeypatch.setitem(notify.CHANNELS, "email", broken)
    for channel, target in (("sms", "+77010000000"), ("email", MAILBOX)):
        service.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
            site_id=mine.site_id, tier=1, role="dispatcher", channel=channel, target=target))
    db.execute(update(Contact).where(Contact.site_id == mine.site_id, Contact.channel == "sms")
               .values(target="+7701-legacy"))  # stored before numbers were checked
    db.commit()
    hihi = _methane_hihi(db, mine, proc)
    rows = db.scalars(select(Notification).join(AlarmRecord, AlarmRecord.id ==
                                                Notification.alarm_id)
                      .where(AlarmRecord.site_id == mine.site_id)).all()
    assert rows and [r for r in rows if r.status == "sending"] == []
    fb = [r for r in _rows(db, hihi.id, "email") if r.dedup_key.startswith("fb:")]
    assert fb and fb[0].status == "failed" and "RuntimeError" in fb[0].error
