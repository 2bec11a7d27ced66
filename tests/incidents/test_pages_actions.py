"""Accident card forms: extending the investigation and corrective measures (add, mark done),
with errors naming the field, in every language."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import unquote_plus

from incidents.helpers import report_body
from incidents.test_pages import csrf, login


def _investigating(app, db, world, employed_iin, client_as) -> tuple[int, object]:
    api = client_as("osh_krg")
    acc = api.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    members = [
        {"name": "Ахметов Б.", "position": "бас инженер", "chair": True},
        {"name": "Иванова С.", "position": "ОТ"},
        {"name": "Жұмабек Д.", "position": "кәсіподақ"},
    ]
    r = api.post(
        f"/api/v1/accidents/{acc['id']}/investigation/commission", json={"members": members}
    )
    assert r.status_code == 200, r.text
    return acc["id"], login(app, db, world, "osh_krg")


def test_extension_form(app, db, world, employed_iin, client_as):
    acc_id, osh = _investigating(app, db, world, employed_iin, client_as)
    card = osh.get(f"/incidents/{acc_id}")
    assert f'action="/incidents/{acc_id}/extension"' in card.text
    token = csrf(card.text)
    bad = osh.post(
        f"/incidents/{acc_id}/extension",
        data={"csrf_token": token, "working_days": "31", "reason": "Expert report pending"},
        follow_redirects=False,
    )
    assert bad.status_code == 303 and "working_days" in unquote_plus(bad.headers["location"])
    ok = osh.post(
        f"/incidents/{acc_id}/extension",
        data={"csrf_token": token, "working_days": "5", "reason": "Expert report pending"},
        follow_redirects=False,
    )
    assert ok.headers["location"] == f"/incidents/{acc_id}"
    inv = client_as("osh_krg").get(f"/api/v1/accidents/{acc_id}/investigation").json()
    assert inv["extension_days"] == 5
    card = osh.get(f"/incidents/{acc_id}")
    assert "Expert report pending" in card.text  # shown under the investigation deadline
    assert 'max="25"' in card.text  # 30 working days in all


def test_corrective_measures_form(app, db, world, employed_iin, client_as):
    acc_id, osh = _investigating(app, db, world, employed_iin, client_as)
    token = csrf(osh.get(f"/incidents/{acc_id}").text)
    due = date.today() + timedelta(days=14)
    bad = osh.post(
        f"/incidents/{acc_id}/action",
        data={"csrf_token": token, "description": "Fix", "owner": "Chief", "due_date": str(due)},
        follow_redirects=False,
    )
    assert "description" in unquote_plus(bad.headers["location"])
    measure = "Install guard rails on the drift 4 conveyor"
    ok = osh.post(
        f"/incidents/{acc_id}/action",
        data={
            "csrf_token": token,
            "description": measure,
            "owner": "Chief mechanic",
            "due_date": str(due),
        },
        follow_redirects=False,
    )
    assert ok.headers["location"] == f"/incidents/{acc_id}"
    actions = client_as("osh_krg").get(f"/api/v1/accidents/{acc_id}/actions").json()
    assert [(a["description"], a["status"]) for a in actions] == [(measure, "open")]
    for lang, open_word in (("kk", "ашық"), ("ru", "открыто"), ("en", "open")):
        osh.cookies.set("lang", lang)
        card = osh.get(f"/incidents/{acc_id}")
        assert card.status_code == 200 and measure in card.text and open_word in card.text
    done = osh.post(
        f"/incidents/{acc_id}/action-done",
        data={"csrf_token": token, "action_id": str(actions[0]["id"])},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/incidents/{acc_id}"
    assert (
        client_as("osh_krg").get(f"/api/v1/accidents/{acc_id}/actions").json()[0]["status"]
        == "done"
    )
    again = osh.post(
        f"/incidents/{acc_id}/action-done",
        data={"csrf_token": token, "action_id": str(actions[0]["id"])},
        follow_redirects=False,
    )
    assert "already done" in unquote_plus(again.headers["location"])
    # another region's inspector cannot add measures to this accident
    other = login(app, db, world, "inspector_ala")
    r = other.post(
        f"/incidents/{acc_id}/action",
        data={
            "csrf_token": csrf(other.get("/incidents").text),
            "description": measure,
            "owner": "X Y",
            "due_date": str(due),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert len(client_as("osh_krg").get(f"/api/v1/accidents/{acc_id}/actions").json()) == 1


def test_report_correction_form_makes_a_revision(app, db, world, employed_iin, client_as):
    api = client_as("osh_krg")
    acc = api.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    osh = login(app, db, world, "osh_krg")
    card = osh.get(f"/incidents/{acc['id']}")
    assert f'action="/incidents/{acc["id"]}/revise"' in card.text
    token = csrf(card.text)
    same = osh.post(
        f"/incidents/{acc['id']}/revise",
        data={
            "csrf_token": token,
            "severity": "minor",
            "circumstances": acc["circumstances"],
            "reason": "typo",
        },
        follow_redirects=False,
    )
    assert "nothing to change" in unquote_plus(same.headers["location"])
    fixed = "Fell from a ladder while inspecting the conveyor belt in drift 4;\r\nhelmet worn."
    ok = osh.post(
        f"/incidents/{acc['id']}/revise",
        data={
            "csrf_token": token,
            "severity": "severe",
            "circumstances": fixed,
            "reason": "hospital diagnosis received",
        },
        follow_redirects=False,
    )
    assert ok.headers["location"] == f"/incidents/{acc['id']}"
    after = api.get(f"/api/v1/accidents/{acc['id']}").json()
    assert after["severity"] == "severe" and after["revision"] == 2
    assert after["circumstances"] == fixed.replace("\r\n", "\n")
    history = api.get(f"/api/v1/accidents/{acc['id']}/history").json()
    last = [h for h in history if h["object_type"] == "accident"][-1]
    assert last["reason"] == "hospital diagnosis received"
    assert set(last["diff"]) >= {"severity", "circumstances"}
    # a region inspector (no report permission) gets no correction form
    insp = login(app, db, world, "inspector_krg")
    assert "/revise" not in insp.get(f"/incidents/{acc['id']}").text
