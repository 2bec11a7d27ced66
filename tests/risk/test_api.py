"""Risk API: both methods through the API, revisions and triggers, actions, scope, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from qorgau.risk.models import Assessment, Hazard


def _hazard(c, ent: int, **kw) -> int:
    body = {
        "enterprise_id": ent,
        "hazard_type": "falls_from_height",
        "description": "Work on scaffolds",
        "occupation": "miner",
        "headcount": 3,
        **kw,
    }
    r = c.post("/api/v1/risk/hazards", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _set_method(c, ent: int, method: str) -> None:
    r = c.put(f"/api/v1/risk/settings/{ent}", json={"method": method})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("initial", "band", "method_band"),
    [
        ({"likelihood": 2, "severity": 2}, "low", "low"),
        ({"likelihood": 1, "severity": 5}, "medium", "medium"),
        ({"likelihood": 3, "severity": 3}, "medium", "medium"),
        ({"likelihood": 2, "severity": 5}, "high", "high"),
        ({"likelihood": 4, "severity": 4}, "high", "high"),
        ({"likelihood": 4, "severity": 5}, "very_high", "very_high"),
    ],
)
def test_matrix_bands_through_api(client_as, world, initial, band, method_band):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    _set_method(c, ent, "matrix_5x5")
    hid = _hazard(c, ent)
    r = c.post("/api/v1/risk/assessments", json={"hazard_id": hid, "initial": initial})
    assert r.status_code == 201, r.text
    assert (r.json()["current_band"], r.json()["method_band"]) == (band, method_band)


@pytest.mark.parametrize(
    ("initial", "score", "band", "method_band"),
    [
        ({"probability": 0.5, "exposure": 1, "consequence": 40}, 20, "low", "low"),
        ({"probability": 1, "exposure": 10, "consequence": 7}, 70, "medium", "possible"),
        ({"probability": 0.2, "exposure": 10, "consequence": 100}, 200, "high", "substantial"),
        ({"probability": 1, "exposure": 10, "consequence": 40}, 400, "high", "high"),
        ({"probability": 10, "exposure": 10, "consequence": 15}, 1500, "very_high", "very_high"),
    ],
)
def test_fine_kinney_bands_through_api(client_as, world, initial, score, band, method_band):
    c = client_as("osh_krg")
    ent = world.enterprises["mine_krg"]
    _set_method(c, ent, "fine_kinney")
    hid = _hazard(c, ent, hazard_type="gas", description="Methane in the face")
    r = c.post("/api/v1/risk/assessments", json={"hazard_id": hid, "initial": initial})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["initial_score"] == score
    assert (body["current_band"], body["method_band"]) == (band, method_band)


def test_bad_scores_and_residual_reason(client_as, world, db):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    _set_method(c, ent, "matrix_5x5")
    hid = _hazard(c, ent)
    before = db.query(Assessment).count()
    r = c.post(
        "/api/v1/risk/assessments",
        json={"hazard_id": hid, "initial": {"likelihood": 6, "severity": 2}},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "initial.likelihood"]
    r = c.post(
        "/api/v1/risk/assessments",
        json={"hazard_id": hid, "initial": {"probability": 1, "exposure": 1, "consequence": 1}},
    )
    assert r.status_code == 422  # Fine–Kinney fields on a 5×5 enterprise
    r = c.post(
        "/api/v1/risk/assessments",
        json={
            "hazard_id": hid,
            "initial": {"likelihood": 2, "severity": 2},
            "residual": {"likelihood": 3, "severity": 3},
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "residual_reason"]
    db.expire_all()
    assert db.query(Assessment).count() == before
    r = c.post(
        "/api/v1/risk/assessments",
        json={
            "hazard_id": hid,
            "initial": {"likelihood": 2, "severity": 2},
            "residual": {"likelihood": 3, "severity": 3},
            "residual_reason": "new crane adds a load hazard",
        },
    )
    assert r.status_code == 201


def test_controls_flags_sign_and_accident_trigger(client_as, world, db):
    from qorgau.risk import service

    c = client_as("osh_krg")
    ent = world.enterprises["mine_krg"]
    _set_method(c, ent, "matrix_5x5")
    hid = _hazard(c, ent, site_id=world.sites["mine_krg"])
    r = c.post(
        "/api/v1/risk/assessments",
        json={
            "hazard_id": hid,
            "initial": {"likelihood": 4, "severity": 4},
            "controls": [{"level": "ppe", "text": "Harness", "requires_instruction": True}],
        },
    )
    assert r.status_code == 201
    a = r.json()
    assert set(a["flags"]) == {"admin_ppe_only", "ppe_only"}
    r = c.post(
        f"/api/v1/risk/assessments/{a['id']}/controls",
        json={"level": "engineering", "text": "Guardrails"},
    )
    assert r.json()["flags"] == []
    assert (
        client_as("inspector_krg")
        .post(f"/api/v1/risk/assessments/{a['id']}/sign", json={})
        .status_code
        == 403
    )
    r = c.post(f"/api/v1/risk/assessments/{a['id']}/sign", json={})
    assert r.status_code == 200 and r.json()["status"] == "signed" and r.json()["review_due"]
    assert (
        c.patch(
            f"/api/v1/risk/assessments/{a['id']}",
            json={"initial": {"likelihood": 1, "severity": 1}},
        ).status_code
        == 409
    )
    opened = service.on_accident(
        db=db, enterprise_id=ent, site_id=world.sites["mine_krg"], accident_ref="ACC-1"
    )
    assert opened
    revs = c.get(f"/api/v1/risk/assessments/{a['id']}/revisions").json()
    assert [(x["revision"], x["status"]) for x in revs] == [(1, "signed"), (2, "draft")]
    assert revs[1]["trigger"] == "accident" and revs[1]["trigger_note"] == "ACC-1"
    assert len(revs[1]["controls"]) == 2
    # the signed revision is untouched
    assert revs[0]["initial"] == {"likelihood": 4, "severity": 4}


def test_review_trigger_change_through_api(client_as, world):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    _set_method(c, ent, "matrix_5x5")
    hid = _hazard(c, ent)
    a = c.post(
        "/api/v1/risk/assessments",
        json={"hazard_id": hid, "initial": {"likelihood": 2, "severity": 2}},
    ).json()
    assert (
        c.post(f"/api/v1/risk/assessments/{a['id']}/review", json={"trigger": "change"}).status_code
        == 409
    )
    c.post(f"/api/v1/risk/assessments/{a['id']}/sign", json={})
    r = c.post(
        f"/api/v1/risk/assessments/{a['id']}/review",
        json={"trigger": "new_equipment", "note": "new hoist"},
    )
    assert r.status_code == 201 and r.json()["revision"] == 2


def test_employer_cannot_see_other_enterprise(client_as, world):
    own = client_as("osh_ala")
    hid = _hazard(own, world.enterprises["build_ala"])
    other = client_as("osh_krg")
    assert other.get(f"/api/v1/risk/hazards/{hid}").status_code == 404
    assert all(
        h["enterprise_id"] == world.enterprises["mine_krg"]
        for h in other.get("/api/v1/risk/hazards").json()
    )
    assert (
        other.get(f"/api/v1/risk/instruction-gap/{world.enterprises['build_ala']}").status_code
        == 404
    )
    r = other.post(
        "/api/v1/risk/hazards",
        json={
            "enterprise_id": world.enterprises["build_ala"],
            "hazard_type": "noise",
            "description": "x" * 5,
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enterprise_id"]
    # an inspector of another region sees nothing of it either
    assert client_as("inspector_krg").get(f"/api/v1/risk/hazards/{hid}").status_code == 404
    assert client_as("inspector_ala").get(f"/api/v1/risk/hazards/{hid}").status_code == 200


def test_template_creates_draft_register(client_as, world, db):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    _set_method(c, ent, "matrix_5x5")
    r = c.post(
        "/api/v1/risk/from-template",
        json={"enterprise_id": ent, "site_id": world.sites["build_ala"]},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sector"] == "construction" and body["hazards"] >= 10
    db.expire_all()
    assert (
        db.query(Hazard)
        .filter(Hazard.template_ref == "construction-fall-from-height", Hazard.enterprise_id == ent)
        .count()
        >= 1
    )
    r = c.post("/api/v1/risk/from-template", json={"enterprise_id": ent, "sector": "farming"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "sector"]


def test_actions_due_dates_status_and_overdue(client_as, world, db):
    from qorgau.core.events import OutboxEvent
    from qorgau.risk import service
    from qorgau.risk.models import Action

    c = client_as("osh_krg")
    ent = world.enterprises["mine_krg"]
    past = (date.today() - timedelta(days=1)).isoformat()
    n = db.query(Action).count()
    r = c.post(
        "/api/v1/risk/actions",
        json={"enterprise_id": ent, "title": "Fix guard", "owner": "Shift boss", "due_date": past},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "due_date"]
    db.expire_all()
    assert db.query(Action).count() == n
    due = (date.today() + timedelta(days=10)).isoformat()
    r = c.post(
        "/api/v1/risk/actions",
        json={
            "enterprise_id": ent,
            "title": "Install gas detectors",
            "owner": "Chief engineer",
            "due_date": due,
            "accident_ref": "ACC-7",
            "root_cause": "no methane monitoring",
        },
    )
    assert r.status_code == 201
    aid = r.json()["id"]
    assert [a.id for a in service.actions_for_accident(db=db, accident_ref="ACC-7")] == [aid]
    # make it overdue (as time passes) and escalate once
    db.get(Action, aid).due_date = date.today() - timedelta(days=3)
    db.commit()
    assert any(a.id == aid for a in service.overdue_actions(db=db))
    assert service.escalate_overdue(db=db) >= 1
    assert service.escalate_overdue(db=db) == 0
    assert (
        db.query(OutboxEvent)
        .filter(OutboxEvent.type == "risk.action.overdue", OutboxEvent.object_id == str(aid))
        .count()
        == 1
    )
    assert (
        c.post(f"/api/v1/risk/actions/{aid}/status", json={"status": "verified"}).status_code == 422
    )
    assert c.post(f"/api/v1/risk/actions/{aid}/status", json={"status": "done"}).json()["closed_on"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def test_evidence_sniffed(client_as, world, db):
    from qorgau.risk.models import Evidence

    c = client_as("osh_krg")
    due = (date.today() + timedelta(days=5)).isoformat()
    aid = c.post(
        "/api/v1/risk/actions",
        json={
            "enterprise_id": world.enterprises["mine_krg"],
            "title": "Train crew",
            "owner": "HR",
            "due_date": due,
        },
    ).json()["id"]
    n = db.query(Evidence).count()
    r = c.post(
        f"/api/v1/risk/actions/{aid}/evidence", files={"file": ("act.pdf", PNG, "application/pdf")}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = c.post(
        f"/api/v1/risk/actions/{aid}/evidence",
        files={"file": ("run.pdf", b"MZ\x90\x00" + b"\x00" * 60, "application/pdf")},
    )
    assert r.status_code == 422
    db.expire_all()
    assert db.query(Evidence).count() == n
    r = c.post(
        f"/api/v1/risk/actions/{aid}/evidence", files={"file": ("act.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 201 and r.json()["mime"] == "application/pdf"
    assert client_as("osh_ala").get(f"/api/v1/risk/actions/{aid}").status_code == 404


def test_vision_zero_maturity_and_instruction_gap(client_as, world):
    c = client_as("osh_krg")
    ent = world.enterprises["mine_krg"]
    r = c.post("/api/v1/risk/vision-zero", json={"enterprise_id": ent, "answers": {"bogus": 2}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "answers.bogus"]
    from qorgau.risk.content import load_vision_zero

    q = load_vision_zero()["rules"][0]["questions"][0]["id"]
    r = c.post("/api/v1/risk/vision-zero", json={"enterprise_id": ent, "answers": {q: "green"}})
    assert r.status_code == 201 and r.json()["total_pct"] == 100.0
    m = c.get(f"/api/v1/risk/maturity/{ent}").json()
    assert 0 <= m["index"] <= 100 and m["components"]["vision_zero"] == 100.0
    gap = client_as("inspector_krg").get(f"/api/v1/risk/instruction-gap/{ent}").json()
    assert gap["required"] >= gap["missing"] >= 0


def test_levels_endpoint_is_scoped(client_as, world):
    c = client_as("osh_ala")
    ent = world.enterprises["build_ala"]
    _set_method(c, ent, "matrix_5x5")
    hid = _hazard(c, ent)
    c.post(
        "/api/v1/risk/assessments",
        json={"hazard_id": hid, "initial": {"likelihood": 5, "severity": 5}},
    )
    assert c.get("/api/v1/risk/levels").json()[str(ent)] == "very_high"
    assert set(client_as("osh_krg").get("/api/v1/risk/levels").json()) <= {
        str(world.enterprises["mine_krg"])
    }
    assert str(ent) not in client_as("inspector_krg").get("/api/v1/risk/levels").json()
