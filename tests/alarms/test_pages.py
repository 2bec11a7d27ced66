"""Console pages: render for the dispatcher and inspectors, forms act with CSRF, scope holds."""

from __future__ import annotations

import re

from sqlalchemy import select

from qorgau.alarms.models import AlarmRecord


def _login(client, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import open_session
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    with get_sessionmaker()() as db:
        token, row = open_session(db, user=db.get(User, world.users[key]), kind="cookie")
    client.cookies.set(SESSION_COOKIE, token)
    return row.csrf


def test_console_and_actions(client, db, world, mine, proc):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2), ("W-1", {"z": "L1"}, -2)]),
                    source="test")
    rec = db.scalar(select(AlarmRecord).where(AlarmRecord.site_id == mine.site_id,
                                              AlarmRecord.kind == "HIHI"))
    csrf = _login(client, world, "osh_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}")
    assert page.status_code == 200 and "CO-1" in page.text and 'value="ack"' in page.text
    assert client.get("/alarms").status_code == 200
    assert client.get(f"/alarms/devices/{mine.devices['CH4-1']}").status_code == 200
    assert client.get(f"/alarms/{rec.id}").status_code == 200
    assert client.get(f"/alarms-kpis?site_id={mine.site_id}").status_code == 200
    r = client.post(f"/alarms/{rec.id}/action", data={"action": "ack", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    db.refresh(rec)
    assert rec.state == "acknowledged"
    r = client.post(f"/alarms/{rec.id}/action", data={"action": "shelve", "reason": "noise",
                                                      "minutes": 15, "csrf_token": csrf},
                    follow_redirects=False)
    assert "error=" in r.headers["location"]  # life-safety: refused, shown on the page
    r = client.post(f"/alarms/devices/{mine.devices['CH4-1']}", data={
        "high": "2", "highhigh": "1", "reason": "x1x", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 422 and 'id="e-highhigh"' in r.text
    r = client.post(f"/alarms/sites/{mine.site_id}/withdraw",
                    data={"zones": ["L1"], "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    live = client.get(f"/alarms/sites/{mine.site_id}/live").text
    assert re.search(r'class="inside">1<', live)


def test_inspector_reads_without_action_buttons_and_other_region_404(client, world, mine, proc,
                                                                     db):
    proc.handle_raw(db, mine.batch([("CO-1", 60.0, -2)]), source="test")
    _login(client, world, "inspector_krg")
    page = client.get(f"/alarms/sites/{mine.site_id}")
    assert page.status_code == 200 and 'value="ack"' not in page.text and "CO-1" in page.text
    _login(client, world, "inspector_ala")
    assert client.get(f"/alarms/sites/{mine.site_id}").status_code == 404


def test_sse_stream_pushes_alarm(client_as, db, mine, proc):
    proc.handle_raw(db, mine.batch([("CH4-1", 1.8, -1)]), source="test")
    c = client_as("osh_krg")
    with c.stream("GET", f"/api/v1/alarms/stream?site_id={mine.site_id}&max_s=1") as r:
        body = b"".join(r.iter_bytes())
    assert b"event: lifesafety" in body and b'"kind":"HIHI"' in body
