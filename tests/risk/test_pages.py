"""Risk pages render for each reach, forms are CSRF-checked, bad input re-renders with a 422."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from qorgau.risk.models import Assessment, Hazard


@pytest.fixture
def page_as(app, world):
    """page_as("osh_ala") → (TestClient with a cookie session, its CSRF token)."""
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker

    def make(key: str) -> tuple[TestClient, str]:
        with get_sessionmaker()() as db:
            user = db.get(User, world.users[key])
            token, row = service.open_session(db, user=user, kind="cookie")
            csrf = row.csrf
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        c.cookies.set("qorgau_session", token)
        return c, csrf

    return make


def _form(ent_csrf: str, **kw) -> dict:
    return {
        "csrf_token": ent_csrf,
        "hazard_type": "falls_from_height",
        "description": "Roof work",
        "likelihood": "4",
        "severity": "5",
        "control_level": ["engineering", "ppe", "administrative"],
        "control_text": ["Guardrails", "Harness", ""],
        "control_instruction": ["1"],
        **kw,
    }


def test_osh_creates_signs_and_reviews_through_pages(page_as, world, db):
    c, csrf = page_as("osh_ala")
    ent = world.enterprises["build_ala"]
    assert c.get("/risk").headers["location"] == f"/risk/enterprises/{ent}"
    r = c.get(f"/risk/enterprises/{ent}")
    assert r.status_code == 200 and "heatmap" in r.text
    assert c.get(f"/risk/enterprises/{ent}/new").status_code == 200
    r = c.post(f"/risk/enterprises/{ent}/new", data=_form(csrf))
    assert r.status_code == 303, r.text
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    row = db.get(Assessment, aid)
    assert row.current_band == "very_high" and len(row.controls) == 2
    assert [c_.requires_instruction for c_ in row.controls] == [False, True]
    assert c.post(f"/risk/assessments/{aid}/sign", data={"csrf_token": csrf}).status_code == 303
    r = c.post(f"/risk/assessments/{aid}/review", data={"csrf_token": csrf, "trigger": "change"})
    assert r.status_code == 303 and r.headers["location"] != f"/risk/assessments/{aid}"
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and 'action="/risk/assessments/' in page.text


def test_bad_form_input_writes_nothing(page_as, world, db):
    c, csrf = page_as("osh_ala")
    ent = world.enterprises["build_ala"]
    n = db.query(Hazard).count()
    r = c.post(f"/risk/enterprises/{ent}/new", data=_form(csrf, likelihood="9"))
    assert r.status_code == 422 and "likelihood" in r.text
    r = c.post(
        f"/risk/enterprises/{ent}/new",
        data=_form(csrf, residual_likelihood="5", residual_severity="5"),
    )
    assert r.status_code == 422 and "residual_reason" in r.text
    past = (date.today() - timedelta(days=2)).isoformat()
    r = c.post(
        f"/risk/enterprises/{ent}/actions",
        data={"csrf_token": csrf, "title": "Fix", "owner": "Boss", "due_date": past},
    )
    assert r.status_code == 422 and "due_date" in r.text
    r = c.post(f"/risk/enterprises/{ent}/new", data=_form("wrong-token"))
    assert r.status_code == 403
    db.expire_all()
    assert db.query(Hazard).count() == n


def test_regulator_and_scope(page_as, world):
    c, _ = page_as("inspector_ala")
    assert c.get("/risk").headers["location"] == "/risk/regulator"
    r = c.get("/risk/regulator")
    assert r.status_code == 200 and "KZ-75" in r.text and "KZ-35" not in r.text
    assert c.get(f"/risk/enterprises/{world.enterprises['build_ala']}").status_code == 200
    assert c.get(f"/risk/enterprises/{world.enterprises['mine_krg']}").status_code == 404
    osh, _ = page_as("osh_krg")
    assert osh.get(f"/risk/enterprises/{world.enterprises['build_ala']}").status_code == 404
    assert osh.get("/risk/regulator").status_code == 403


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_vision_zero_page_languages(page_as, world, lang):
    c, _ = page_as("osh_krg")
    c.cookies.set("lang", lang)
    r = c.get(f"/risk/enterprises/{world.enterprises['mine_krg']}/vision-zero")
    assert r.status_code == 200 and f'lang="{lang}"' in r.text
