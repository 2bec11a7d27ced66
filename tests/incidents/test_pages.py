"""Incident pages: the phone form reports an accident; the card, overdue list, hazard form."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from qorgau.incidents.constants import KZ_TZ


def login(app, db, world, key: str) -> TestClient:
    from qorgau.accounts.models import User

    user = db.get(User, world.users[key])
    c = TestClient(app, base_url="https://testserver")
    r = c.post(
        "/login",
        data={"username": user.username, "password": "test-password-123"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return c


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_report_form_creates_accident_and_inspectors_scope(app, db, world, employed_iin):
    from qorgau.incidents.models import Accident

    osh = login(app, db, world, "osh_krg")
    page = osh.get("/incidents/new")
    assert page.status_code == 200 and 'name="victim_iin"' in page.text
    when = (datetime.now(KZ_TZ) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    form = {
        "csrf_token": csrf(page.text),
        "idempotency_key": key,
        "occurred_at": when,
        "severity": "minor",
        "circumstances": "Hand caught in a conveyor roller at the plant.",
        "victim_iin": employed_iin,
        "victim_name": "",
        "victim_birth": "",
        "victim_severity": "minor",
        "esaw_contact": "31",
    }
    r = osh.post("/incidents/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    acc_id = int(r.headers["location"].rsplit("/", 1)[1])
    again = osh.post("/incidents/new", data=form, follow_redirects=False)
    assert again.headers["location"].endswith(f"/{acc_id}")  # double tap: one record
    acc = db.get(Accident, acc_id)
    assert acc.region_code == "KZ-35" and acc.esaw_contact == "31"

    insp = login(app, db, world, "inspector_krg")
    card = insp.get(f"/incidents/{acc_id}")
    assert card.status_code == 200 and "Hand caught" in card.text
    assert insp.get("/incidents").text.count(f'href="/incidents/{acc_id}"') == 1
    other = login(app, db, world, "inspector_ala")
    assert other.get(f"/incidents/{acc_id}").status_code == 404
    assert f'href="/incidents/{acc_id}"' not in other.get("/incidents?page=1").text


def test_report_form_future_time_shows_error(app, db, world):
    osh = login(app, db, world, "osh_krg")
    page = osh.get("/incidents/new")
    when = (datetime.now(KZ_TZ) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = osh.post(
        "/incidents/new",
        data={
            "csrf_token": csrf(page.text),
            "idempotency_key": "x-future",
            "occurred_at": when,
            "severity": "minor",
            "circumstances": "Something happened tomorrow?",
            "victim_name": "Unknown Person",
            "victim_birth": "1980-01-01",
            "victim_severity": "minor",
        },
    )
    assert r.status_code == 422 and "occurred_at" in r.text


def test_workflow_pages_and_overdue(app, db, world, employed_iin, client_as):
    from incidents.helpers import report_body

    old = (datetime.now(KZ_TZ) - timedelta(days=2)).isoformat()
    acc = (
        client_as("osh_krg")
        .post("/api/v1/accidents", json=report_body(employed_iin, occurred_at=old))
        .json()
    )
    osh = login(app, db, world, "osh_krg")
    card = osh.get(f"/incidents/{acc['id']}")
    r = osh.post(
        f"/incidents/{acc['id']}/commission",
        follow_redirects=False,
        data={
            "csrf_token": csrf(card.text),
            "members": "Ахметов Б.; бас инженер\nИванова С.; ОТ\nЖұмабек Д.; кәсіподақ",
        },
    )
    assert r.status_code == 303 and "error" not in r.headers["location"]
    card = osh.get(f"/incidents/{acc['id']}")  # the findings form now renders (every language)
    assert card.status_code == 200 and 'name="fault_worker_pct"' in card.text
    for lang in ("kk", "ru", "en"):
        osh.cookies.set("lang", lang)
        assert osh.get(f"/incidents/{acc['id']}").status_code == 200
    bad = osh.post(
        f"/incidents/{acc['id']}/findings",
        follow_redirects=False,
        data={
            "csrf_token": csrf(card.text),
            "findings": "No fall protection used.",
            "causes": "C01",
            "fault_employer_pct": "80",
            "fault_worker_pct": "30",
        },
    )
    assert "error=" in bad.headers["location"] and "fault_employer_pct" in bad.headers["location"]
    insp = login(app, db, world, "inspector_krg")
    overdue = insp.get("/incidents/overdue")
    assert overdue.status_code == 200 and f"/incidents/{acc['id']}" in overdue.text


def test_public_hazard_pages(client, db, world):
    from qorgau.incidents.models import HazardReport
    from qorgau.registry.models import Enterprise

    page = client.get("/hazard")
    assert page.status_code == 200 and 'rel="manifest"' in page.text
    bin_ = db.get(Enterprise, world.enterprises["mine_krg"]).bin
    r = client.post(
        "/hazard",
        data={
            "bin": bin_,
            "kind": "hazard",
            "description": "Broken railing on the stairs to level 2",
        },
    )
    assert r.status_code == 201
    code = re.search(r'id="hazard-code">([A-Z0-9-]+)<', r.text).group(1)
    assert db.scalar(select(HazardReport.id).where(HazardReport.code == code))
    status = client.get(f"/hazard/status?code={code}")
    assert status.status_code == 200 and "hazard-code" not in status.text
    sw = client.get("/incidents-sw.js")
    assert sw.headers["content-type"].startswith("application/javascript")
    assert sw.headers["service-worker-allowed"] == "/"
    assert client.get("/hazard.webmanifest").json()["start_url"] == "/hazard"
