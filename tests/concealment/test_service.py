"""Case workflow, regional scope, audited reads and measured precision."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select

from qorgau.concealment.models import Case
from qorgau.core.audit import AuditEntry


def _case(db, world, key: str, region: str) -> int:
    ent = world.enterprises["mine_krg" if region == "KZ-35" else "build_ala"]
    case = Case(key=f"t:{key}:{secrets.token_hex(4)}", kind="unreported_injury", region_code=region,
                enterprise_id=ent, event_date=date(2025, 3, 1), score=3.0, probability=0.9,
                explanation={"sources": [{"source": "sick_leave", "weight": 3.0}]},
                evidence_ids=[])  # fmt: skip
    db.add(case)
    db.commit()
    return case.id


def test_other_region_gets_404_and_no_data(client_as, db, world) -> None:
    cid = _case(db, world, "x", "KZ-35")
    ala = client_as("inspector_ala")
    r = ala.get(f"/api/v1/concealment/cases/{cid}")
    assert r.status_code == 404 and "sick_leave" not in r.text
    listed = ala.get("/api/v1/concealment/cases").json()["items"]
    assert cid not in [c["id"] for c in listed]
    assert ala.post(f"/api/v1/concealment/cases/{cid}/transitions",
                    json={"to_state": "checking"}).status_code == 404  # fmt: skip


def test_workflow_to_confirmed_is_audited_and_counts_in_precision(client_as, db, world) -> None:
    c = client_as("inspector_krg")
    cid = _case(db, world, "y", "KZ-35")
    assert c.get(f"/api/v1/concealment/cases/{cid}").status_code == 200
    bad = c.post(f"/api/v1/concealment/cases/{cid}/transitions", json={"to_state": "confirmed"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "to_state"
    for state in ("checking", "confirmed"):
        r = c.post(f"/api/v1/concealment/cases/{cid}/transitions",
                   json={"to_state": state, "note": "visited"})  # fmt: skip
        assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "confirmed"
    assert body["registration"] in ("pending", "done")
    cid2 = _case(db, world, "z", "KZ-35")
    c.post(f"/api/v1/concealment/cases/{cid2}/transitions", json={"to_state": "unfounded"})
    p = c.get("/api/v1/concealment/precision").json()
    assert p["confirmed"] >= 1 and p["unfounded"] >= 1 and 0 < p["precision"] < 1
    db.expire_all()
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(cid))))
    assert {"case.read", "case.checking", "case.confirmed"} <= actions


def test_employer_and_hospital_cannot_see_cases(client_as) -> None:
    assert client_as("osh_krg").get("/api/v1/concealment/cases").status_code == 403
    assert client_as("hospital").get("/api/v1/concealment/cases").status_code == 403
