"""Exchange monitor page: who sees it, what it shows, silent-feed alerts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from integration.integ_helpers import enterprise_row, envelope


def _login(app, world, key: str):
    from fastapi.testclient import TestClient

    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    with get_sessionmaker()() as db:
        token, row = service.open_session(db, user=db.get(User, world.users[key]), kind="cookie")
    c = TestClient(app, base_url="https://testserver")
    c.cookies.set(SESSION_COOKIE, token)
    return c, row.csrf


def test_monitor_shows_feed_volumes_and_errors(app, world, feed_client):
    c = feed_client("business-register")
    assert (
        c.post("/api/v1/feeds/business-register", json=envelope([enterprise_row()])).status_code
        == 200
    )
    bad = envelope([enterprise_row(activity_code="ZZ")])
    assert c.post("/api/v1/feeds/business-register", json=bad).status_code == 422
    page, _ = _login(app, world, "analyst")
    html = page.get("/integration/exchange?lang=en").text
    assert "State business register" in html and "unknown OKED activity code" in html
    api = page.get("/api/v1/exchange/feeds").json()
    br = next(f for f in api if f["feed"] == "business-register")
    assert br["rows_24h"] >= 1 and br["rejected_7d"] >= 1 and br["silent"] is False
    kk = page.get("/integration/exchange?lang=kk").text
    assert "Деректер алмасу" in kk


def test_monitor_is_for_admin_and_ministry_only(app, world):
    for key in ("inspector_krg", "osh_krg", "insurer"):
        page, _ = _login(app, world, key)
        assert page.get("/integration/exchange").status_code == 403
        assert page.get("/api/v1/exchange/feeds").status_code == 403


def test_silent_feed_is_flagged_and_alerted_once(db, app, world, feed_client):
    from qorgau.core.events import OutboxEvent
    from qorgau.integration.models import FeedStatus
    from qorgau.integration.monitor import check_silent_feeds

    c = feed_client("business-register")
    c.post("/api/v1/feeds/business-register", json=envelope([enterprise_row()]))
    db.expire_all()
    st = db.get(FeedStatus, "business-register")
    st.last_accepted_at = st.last_accepted_at - timedelta(hours=30)
    db.commit()
    assert "business-register" in check_silent_feeds(db=db)
    assert "business-register" not in check_silent_feeds(db=db)  # once per silence
    ev = db.scalars(
        select(OutboxEvent).where(
            OutboxEvent.type == "feed.silent", OutboxEvent.object_id == "business-register"
        )
    ).all()
    assert len(ev) >= 1
    page, csrf = _login(app, world, "admin")
    html = page.get("/integration/exchange?lang=en").text
    assert "Silent" in html
    r = page.post("/integration/exchange/check", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert page.post("/integration/exchange/check", data={"csrf_token": "x"}).status_code == 403
    # a new delivery ends the silence
    c.post("/api/v1/feeds/business-register", json=envelope([enterprise_row()]))
    db.expire_all()
    assert db.get(FeedStatus, "business-register").silent_since is None


def test_reports_page_lists_downloads_and_schedules(app, world):
    page, csrf = _login(app, world, "akimat_krg")
    html = page.get("/integration/reports?lang=ru").text
    assert "Сводка по охране труда" in html and "/api/v1/reports/summary.pdf?lang=kk" in html
    r = page.post(
        "/integration/reports/schedule",
        data={"csrf_token": csrf, "fmt": "pdf", "language": "ru", "every": "monthly"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "ежемесячно" in page.get("/integration/reports?lang=ru").text
    worker, _ = _login(app, world, "worker_krg")
    assert worker.get("/integration/reports").status_code == 403
