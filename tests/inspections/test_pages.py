"""Inspection pages: plan with reasons, the phone checklist, results, HPF register forms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def test_inspector_builds_plan_and_sees_reasons(page_as) -> None:
    c, csrf = page_as("inspector_krg")
    r = c.post(
        "/inspections/plans",
        data={"csrf_token": csrf, "period_start": "2026-08-01", "period_end": "2026-08-31"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert (
        page.status_code == 200
        and "risk class" in page.text
        and "/inspections/conduct/" in page.text
    )
    bad = c.post(
        "/inspections/plans",
        data={"csrf_token": csrf, "period_start": "2026-08-31", "period_end": "2026-08-01"},
    )
    assert bad.status_code == 200 and "alert" in bad.text


def test_checklist_page_and_record(page_as, client_as, world) -> None:
    c, _ = page_as("mchs_krg")
    page = c.get(f"/inspections/conduct/{world.enterprises['mine_krg']}")
    assert page.status_code == 200
    assert "I03" in page.text and "L01" not in page.text  # industrial checklist only
    assert "/static/js/inspections.js" in page.text and "<script>" not in page.text
    sent = (
        client_as("mchs_krg")
        .post(
            "/api/v1/inspections/submissions",
            json={
                "client_uuid": str(uuid.uuid4()),
                "enterprise_id": world.enterprises["mine_krg"],
                "started_at": datetime(2026, 7, 1, 8, tzinfo=UTC).isoformat(),
                "finished_at": datetime(2026, 7, 1, 10, tzinfo=UTC).isoformat(),
                "answers": [{"item_code": "I04", "result": "violation", "note": "no drills"}],
            },
        )
        .json()
    )
    rec = c.get(f"/inspections/records/{sent['id']}")
    assert rec.status_code == 200 and "no drills" in rec.text
    other, _ = page_as("inspector_ala")
    assert other.get(f"/inspections/records/{sent['id']}").status_code == 404
    assert other.get(f"/inspections/conduct/{world.enterprises['mine_krg']}").status_code == 404
    akimat, _ = page_as("akimat_krg")
    assert akimat.get(f"/inspections/conduct/{world.enterprises['mine_krg']}").status_code == 403


def test_hpf_register_form(page_as, world) -> None:
    c, csrf = page_as("mchs_krg")
    reg = f"LIFT-{uuid.uuid4().hex[:6]}"
    r = c.post(
        "/inspections/facilities",
        data={
            "csrf_token": csrf,
            "what": "device",
            "enterprise_id": world.enterprises["mine_krg"],
            "reg_no": reg,
            "kind": "lift",
            "exam_due": "2020-01-01",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    text = c.get("/inspections/facilities").text
    row = text[text.index(reg) :]
    assert "badge danger" in row[: row.index("</tr>")]
    bad = c.post(
        "/inspections/facilities",
        data={
            "csrf_token": csrf,
            "what": "facility",
            "enterprise_id": world.enterprises["mine_krg"],
            "reg_no": "X",
            "name": "Y",
            "kind": "mine",
            "hazard_class": "1",
        },
    )
    assert bad.status_code == 422
