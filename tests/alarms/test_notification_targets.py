"""An alarm's notification list shows mine rescue (no alarms.contacts.read) the phones, e-mail
addresses and webhooks it was delivered to masked, in the API and on the alarm's page, and in
the texts that name them (a refused mailbox's SMTP error, a NOTIFY_FAILED subject); channel,
tier, status, attempts and errors stay readable, a wearable's code and the in-app address
stay as they are. An inspector and the dispatcher see every target in full. Real deliveries
on SQLite and PostgreSQL: an SMS, an SMTP server that refuses the mailbox, a webhook on a
closed port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from alarms.receivers import SmtpReceiver, closed_port
from alarms.test_device_commands import _alarm, _contact, _methane_with_wearer
from alarms.test_responder_roles import _login
from qorgau.alarms import masking, notify
from qorgau.alarms.models import AlarmRecord, Notification

API = "/api/v1/alarms"
SECRET = "s3cr3t-token"


@pytest.fixture
def refused(monkeypatch, mine) -> Iterator[str]:
    """The mine's dispatch mailbox, which the SMTP server answers 550 (named in the error)."""
    mailbox = f"dispatch.{mine.site_id}@example.kz"
    server = SmtpReceiver(refuse=frozenset({mailbox}))
    monkeypatch.setenv("QORGAU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("QORGAU_SMTP_PORT", str(server.port))
    yield mailbox
    server.stop()


@pytest.fixture
def delivered(db, as_, mine, proc, refused):
    """A life-safety HIHI told by SMS (sent), e-mail (refused) and webhook (refused
    connection) to the dispatcher, with W-1 in the zone (a device row) and the in-app row."""
    phone = f"+7701{mine.site_id:07d}"
    hook = f"http://hooks:pw@127.0.0.1:{closed_port()}/alarms/{mine.site_id}?token={SECRET}"
    for channel, target in (("sms", phone), ("email", refused), ("webhook", hook)):
        _contact(db, as_, mine, 1, "dispatcher", channel, target, lang="en")
    rec = _methane_with_wearer(db, mine, proc)
    rows = {n.channel: n for n in db.scalars(select(Notification).where(
        Notification.alarm_id == rec.id, ~Notification.dedup_key.startswith("fb:")))}
    # what there is to hide: the refused mailbox is named in its row's error
    assert (rows["email"].status, rows["webhook"].status) == ("failed", "failed")
    assert refused in rows["email"].error and "550" in rows["email"].error
    assert rows["sms"].status == "sent" and rows["device"].target == "W-1"
    return rec, phone, refused, hook


def _leaks(text: str, phone: str, mailbox: str, hook: str) -> list[str]:
    return [s for s in (phone, mailbox, hook, SECRET, "hooks:pw", mailbox.split("@")[0])
            if s in text]


def _shape(rows: list[dict]) -> list[tuple]:
    return [(r["channel"], r["tier"], r["status"], r["attempts"]) for r in rows]


def test_mine_rescue_sees_targets_masked_others_in_full(db, mine, delivered, client,
                                                        client_as, world):
    rec, phone, mailbox, hook = delivered
    url = f"{API}/{rec.id}/notifications"
    full = client_as("inspector_krg").get(url)
    assert full.status_code == 200
    r = client_as("rescue_krg").get(url)
    assert r.status_code == 200 and _leaks(r.text, phone, mailbox, hook) == []
    rows = r.json()
    assert _shape(rows) == _shape(full.json())  # channel, tier, status, attempts: all shown
    by = {}
    for row in rows:
        by.setdefault(row["channel"], set()).add(row["target"])
    masked_phone = f"{phone[:5]}•••{phone[-4:]}"
    assert by == {"sms": {masked_phone}, "email": {"d•••@example.kz"},
                  "webhook": {"127.0.0.1"}, "device": {"W-1"},
                  "inapp": {f"site:{mine.site_id}"}}
    mail = next(x for x in rows if x["channel"] == "email")
    assert mail["error"].startswith("smtp:") and "550" in mail["error"]
    assert "<d•••@example.kz>: Recipient address rejected" in mail["error"]
    device = next(x for x in rows if x["channel"] == "device")
    assert device["status"] == "failed" and device["error"].startswith("device:")

    for key in ("inspector_krg", "dispatcher_krg"):
        got = client_as(key).get(url).json()
        targets = {x["target"] for x in got}
        assert {phone, mailbox, hook, "W-1"} <= targets, key
        assert mailbox in next(x for x in got if x["channel"] == "email")["error"], key


def test_notify_failed_subjects_are_masked_for_mine_rescue(db, mine, delivered, client_as):
    """The NOTIFY_FAILED alarm's own notifications carry its subject, which names the
    address that failed."""
    _rec, phone, mailbox, hook = delivered
    nf = _alarm(db, mine, "NOTIFY_FAILED")
    assert nf is not None
    raw = " ".join(n.error or "" for n in db.scalars(select(Notification).where(
        Notification.alarm_id == nf.id)))
    # its subjects name the failed address masked when written (the record's message is)
    assert "d•••@example.kz" in raw and _leaks(raw, phone, mailbox, hook) == []
    url = f"{API}/{nf.id}/notifications"
    r = client_as("rescue_krg").get(url)
    assert r.status_code == 200 and r.json()
    assert _leaks(r.text, phone, mailbox, hook) == []
    assert _leaks(client_as("dispatcher_krg").get(url).text, phone, mailbox, hook)


def test_notify_failed_record_names_the_address_masked(db, mine, delivered, client_as):
    """The NOTIFY_FAILED record is in every alarm list of the site (mine rescue's too) and
    its subject goes to the site's contacts: it names the failed channel and the address
    masked, and points at the failed row, which shows the address to who may read it."""
    _rec, phone, mailbox, hook = delivered
    nf = _alarm(db, mine, "NOTIFY_FAILED")
    assert _leaks(f"{nf.message} {nf.detail}", phone, mailbox, hook) == []
    assert " to " in nf.message and " failed: " in nf.message
    failed = db.get(Notification, nf.detail["notification_id"])
    assert failed.status == "failed" and failed.alarm_id == nf.detail["alarm_id"]
    assert masking.target(failed.channel, failed.target) == nf.detail["target"]
    # the fallback SMS (the logging driver's record) names the failed addresses masked: a
    # webhook's credentials and token never go out in a text message
    sent = [text for to, text in list(notify.SMS_LOG) if to == phone and "[fallback: " in text]
    assert any("Webhook to 127.0.0.1 failed]" in m for m in sent)
    assert any("E-mail to d•••@example.kz failed]" in m for m in sent)
    assert _leaks(" ".join(sent), "\0", mailbox, hook) == []
    listed = client_as("rescue_krg").get(f"{API}?site_id={mine.site_id}")
    assert listed.status_code == 200 and nf.id in {a["id"] for a in listed.json()}
    assert _leaks(listed.text, phone, mailbox, hook) == []
    rows = client_as("dispatcher_krg").get(f"{API}/{failed.alarm_id}/notifications").json()
    assert failed.target in {r["target"] for r in rows}


def test_alarm_page_masks_targets_for_mine_rescue(db, delivered, client, world):
    rec, phone, mailbox, hook = delivered
    _login(client, world, "rescue_krg")
    page = client.get(f"/alarms/{rec.id}")
    assert page.status_code == 200 and _leaks(page.text, phone, mailbox, hook) == []
    for shown in (f"{phone[:5]}•••{phone[-4:]}", "d•••@example.kz", ">127.0.0.1<", ">W-1<",
                  "Recipient address rejected"):  # the failed e-mail's error, masked
        assert shown in page.text, shown
    client.cookies.clear()
    for key in ("inspector_krg", "dispatcher_krg"):
        _login(client, world, key)
        text = client.get(f"/alarms/{rec.id}").text
        assert phone in text and mailbox in text and ">W-1<" in text, key
        client.cookies.clear()
    db.expire_all()  # showing masked never changed a row
    assert db.scalar(select(Notification.target).where(
        Notification.alarm_id == rec.id, Notification.channel == "email")) == mailbox
    assert db.get(AlarmRecord, rec.id) is not None


def test_alarm_page_names_states_triggers_channels_and_statuses(db, delivered, client,
                                                                world):
    """The alarm's page listed its transitions and notifications by the code's words
    (`unacknowledged`, `raise`, `sms`, `failed`) on kk and ru pages too."""
    rec, *_ = delivered
    _login(client, world, "inspector_krg")
    for lang, words in (("ru", ("норма", "не квитирована", "сработала", "SMS", "Эл. почта",
                                "не доставлено", "процесс")),
                        ("kk", ("қалыпты", "расталмаған", "іске қосылды", "Эл. пошта",
                                "жеткізілмеді")),
                        ("en", ("normal", "unacknowledged", "raised", "E-mail",
                                "not delivered"))):
        text = client.get(f"/alarms/{rec.id}?lang={lang}").text
        tables = text[text.index("<table"):]
        for word in words:
            assert f">{word}<" in tables, (lang, word)
        # one alarm's state, not the console lists' plural heading ("Неквитированные")
        assert "Неквитированные" not in text and "Норма" not in text
        codes = (">raise<", ">email<", ">failed<", ">unack<") + (
            (">normal<", ">unacknowledged<", ">process<") if lang != "en" else ())
        for code in codes:  # in English most state names are their codes' words
            assert code not in tables, (lang, code)


@pytest.mark.parametrize(("channel", "value", "shown"), [
    ("sms", "+77010010102", "+7701•••0102"),
    ("sms", "8701001", "87•••01"),
    ("sms", "112", "•••"),
    ("email", "dispatch@example.kz", "d•••@example.kz"),
    ("email", "not-an-address", "•••"),
    ("webhook", "https://user:pw@hooks.mine.kz:8443/a/b?key=x", "hooks.mine.kz"),
    ("webhook", "http://[bad", "•••"),
    ("device", "W-1", "W-1"),
    ("inapp", "site:7", "site:7"),
])
def test_mask_of_each_channel(channel, value, shown):
    assert masking.target(channel, value) == shown


def test_texts_mask_known_and_unknown_addresses():
    m = masking.Masker([("email", "a.b@mine.kz"), ("sms", "+7 701 001 01 02"),
                        ("sms", "112")])
    text = ("email to a.b@mine.kz failed; sms +7 701 001 01 02 and +77019998877; "
            "old x@y.kz; hook https://h.kz/p?token=t; since 2026-11-27 10:31, 112 alarms")
    got = m.text(text)
    assert got == ("email to a•••@mine.kz failed; sms +7 70•••1 02 and +7701•••8877; "
                   "old x•••@y.kz; hook h.kz; since 2026-11-27 10:31, 112 alarms")
    assert m.text(got) == got  # masked text stays as it is
    assert m.text(None) is None and m.text("") == ""
