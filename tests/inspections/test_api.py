"""Inspection submissions: offline re-send syncs once, unknown items rejected whole, follow-ups,
fines and appeals, scope."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image


def _png_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 90, 200)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _submission(eid: int, answers: list[dict], **extra) -> dict:
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    return {
        "client_uuid": str(uuid.uuid4()),
        "enterprise_id": eid,
        "started_at": start.isoformat(),
        "finished_at": (start + timedelta(hours=2)).isoformat(),
        "answers": answers,
        **extra,
    }


def test_offline_submission_syncs_once(client_as, world) -> None:
    c = client_as("inspector_krg")
    body = _submission(
        world.enterprises["mine_krg"],
        [
            {"item_code": "L01", "result": "ok"},
            {
                "item_code": "L03",
                "result": "violation",
                "note": "no helmets",
                "due_days": 10,
                "photos": [{"name": "h.png", "data_base64": _png_b64()}],
            },
        ],
    )
    first = c.post("/api/v1/inspections/submissions", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["violations"] == 1
    again = c.post("/api/v1/inspections/submissions", json=body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    rec = c.get(f"/api/v1/inspections/records/{first.json()['id']}").json()
    assert len(rec["violations"]) == 1 and len(rec["prescriptions"]) == 1
    assert rec["prescriptions"][0]["due_date"] == "2026-06-11"
    assert [a["photos"] for a in rec["answers"] if a["item_code"] == "L03"] == [1]
    # Another region's inspector sees nothing of it.
    other = client_as("inspector_ala")
    assert other.get(f"/api/v1/inspections/records/{first.json()['id']}").status_code == 404


def test_unknown_checklist_item_rejects_whole_submission(client_as, world) -> None:
    c = client_as("inspector_krg")
    body = _submission(
        world.enterprises["mine_krg"],
        [
            {"item_code": "L02", "result": "violation"},
            {"item_code": "I01", "result": "ok"},  # industrial item in a labour inspection
            {"item_code": "ZZ9", "result": "ok"},
        ],
    )
    r = c.post("/api/v1/inspections/submissions", json=body)
    assert r.status_code == 422
    locs = [d["loc"] for d in r.json()["detail"]]
    assert ["body", "answers", 1, "item_code"] in locs and [
        "body",
        "answers",
        2,
        "item_code",
    ] in locs
    assert "ZZ9" in r.text
    # Nothing stored: the same uuid with correct answers is a new (201) submission.
    body["answers"] = [{"item_code": "L02", "result": "ok"}]
    assert c.post("/api/v1/inspections/submissions", json=body).status_code == 201


def test_other_region_enterprise_rejected(client_as, world) -> None:
    r = client_as("inspector_ala").post(
        "/api/v1/inspections/submissions",
        json=_submission(world.enterprises["mine_krg"], [{"item_code": "L01", "result": "ok"}]),
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enterprise_id"]


def test_follow_up_fine_and_appeal(client_as, world) -> None:
    c = client_as("inspector_krg")
    eid = world.enterprises["mine_krg"]
    first = c.post(
        "/api/v1/inspections/submissions",
        json=_submission(eid, [{"item_code": "L05", "result": "violation", "due_days": 5}]),
    ).json()
    rec = c.get(f"/api/v1/inspections/records/{first['id']}").json()
    presc, viol = rec["prescriptions"][0], rec["violations"][0]
    follow = c.post(
        "/api/v1/inspections/submissions",
        json=_submission(eid, [{"item_code": "L05", "result": "ok"}], follow_up_of=presc["id"]),
    )
    assert follow.status_code == 201 and follow.json()["kind"] == "follow_up"
    listed = c.get(
        "/api/v1/inspections/prescriptions", params={"state": "complied", "size": 200}
    ).json()
    assert presc["id"] in {p["id"] for p in listed["items"]}
    fine = c.post(
        f"/api/v1/inspections/violations/{viol['id']}/fines",
        json={"amount": "368000", "legal_basis": "CAO RK Art. 93", "imposed_on": "2026-06-02"},
    )
    assert fine.status_code == 201, fine.text
    osh = client_as("osh_krg")
    appeal = osh.post(
        f"/api/v1/inspections/fines/{fine.json()['id']}/appeals",
        json={"filed_on": "2026-06-05", "grounds": "the helmets were in the store"},
    )
    assert appeal.status_code == 201
    assert (
        client_as("osh_ala")
        .post(
            f"/api/v1/inspections/fines/{fine.json()['id']}/appeals",
            json={"filed_on": "2026-06-05", "grounds": "xxxxxx"},
        )
        .status_code
        == 404
    )
    d = c.post(
        f"/api/v1/inspections/appeals/{appeal.json()['id']}/decision",
        json={"decision": "upheld", "decided_on": "2026-06-20"},
    )
    assert d.json()["decision"] == "upheld"
    again = c.post(
        f"/api/v1/inspections/appeals/{appeal.json()['id']}/decision",
        json={"decision": "overturned", "decided_on": "2026-06-21"},
    )
    assert again.status_code == 422


def test_score_endpoint_explains(client_as, world) -> None:
    r = client_as("inspector_krg").get(
        f"/api/v1/inspections/scores/{world.enterprises['mine_krg']}"
    )
    body = r.json()
    assert r.status_code == 200 and body["total"] == round(
        sum(c["points"] for c in body["components"]), 2
    )
    assert all(c["reason"] for c in body["components"] + body["skipped"])
    assert (
        client_as("inspector_ala")
        .get(f"/api/v1/inspections/scores/{world.enterprises['mine_krg']}")
        .status_code
        == 404
    )


def test_facility_bad_input_and_scope(client_as, world) -> None:
    mchs = client_as("mchs_krg")
    r = mchs.post(
        "/api/v1/inspections/facilities",
        json={
            "enterprise_id": world.enterprises["build_ala"],
            "reg_no": "HPF-X1",
            "name": "Котельная",
            "kind": "boiler",
            "hazard_class": 3,
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enterprise_id"]
    r = mchs.post(
        "/api/v1/inspections/facilities",
        json={
            "enterprise_id": world.enterprises["mine_krg"],
            "reg_no": "HPF-X2",
            "name": "Котельная",
            "kind": "boiler",
            "hazard_class": 7,
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "hazard_class"
    assert (
        client_as("inspector_krg")
        .post(
            "/api/v1/inspections/facilities",
            json={
                "enterprise_id": world.enterprises["mine_krg"],
                "reg_no": "HPF-X3",
                "name": "Котельная",
                "kind": "boiler",
                "hazard_class": 3,
            },
        )
        .status_code
        == 403
    )
