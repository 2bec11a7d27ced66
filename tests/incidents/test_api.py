"""Accident API: report, scope, idempotency, bad input, investigation, signed acts, hazards."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from factories import make_iin
from incidents.helpers import report_body

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_employer_reports_and_inspectors_see_by_region(client_as, employed_iin, db, world):
    from qorgau.core.events import OutboxEvent

    osh = client_as("osh_krg")
    r = osh.post("/api/v1/accidents", json=report_body(employed_iin))
    assert r.status_code == 201, r.text
    acc = r.json()
    assert acc["region_code"] == "KZ-35" and acc["state"] == "reported"
    victim = acc["victims"][0]
    assert victim["worker_id"] is not None and victim["employed_here"] is True
    assert victim["iin_masked"].endswith(employed_iin[-4:])
    assert acc["flags"] == [] and acc["late_report"] is False

    insp = client_as("inspector_krg")
    seen = insp.get(f"/api/v1/accidents/{acc['id']}")
    assert seen.status_code == 200
    kinds = {d["kind"] for d in insp.get(f"/api/v1/accidents/{acc['id']}/deadlines").json()}
    assert kinds == {"report", "commission"}
    notes = {
        n["recipient"] for n in insp.get(f"/api/v1/accidents/{acc['id']}/notifications").json()
    }
    assert notes == {"inspectorate"}
    assert acc["id"] in [a["id"] for a in insp.get("/api/v1/accidents?size=200").json()["items"]]

    other = client_as("inspector_ala")
    assert other.get(f"/api/v1/accidents/{acc['id']}").status_code == 404
    assert other.get(f"/api/v1/accidents/{acc['id']}/deadlines").status_code == 404
    ids = [a["id"] for a in other.get("/api/v1/accidents?size=200").json()["items"]]
    assert acc["id"] not in ids
    assert client_as("osh_ala").get(f"/api/v1/accidents/{acc['id']}").status_code == 404

    ev = db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.type == "accident.reported", OutboxEvent.object_id == str(acc["id"])
        )
    )
    assert ev is not None and ev.region_code == "KZ-35"


def test_clear_iin_is_never_stored(client_as, employed_iin, db):
    from qorgau.incidents.models import Victim

    r = client_as("osh_krg").post("/api/v1/accidents", json=report_body(employed_iin))
    v = db.scalar(select(Victim).where(Victim.accident_id == r.json()["id"]))
    stored = " ".join(str(getattr(v, c.name)) for c in Victim.__table__.columns)
    assert employed_iin not in stored and v.iin_hash


def test_idempotency_key(client_as, employed_iin, db):
    from qorgau.incidents.models import Accident

    osh = client_as("osh_krg")
    body = report_body(employed_iin)
    key = {"Idempotency-Key": f"k-{make_iin()}"}
    first = osh.post("/api/v1/accidents", json=body, headers=key)
    before = _count(db, Accident)
    again = osh.post("/api/v1/accidents", json=body, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    changed = osh.post("/api/v1/accidents", json={**body, "severity": "severe"}, headers=key)
    assert changed.status_code == 409
    assert _count(db, Accident) == before


def test_future_time_rejected_nothing_written(client_as, db):
    from qorgau.incidents.models import Accident

    before = _count(db, Accident)
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client_as("osh_krg").post("/api/v1/accidents", json=report_body(occurred_at=future))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    assert _count(db, Accident) == before


def test_bad_esaw_and_iin_name_the_field(client_as):
    osh = client_as("osh_krg")
    r = osh.post("/api/v1/accidents", json=report_body(esaw_contact="7Z"))
    assert r.status_code == 422 and "esaw_contact" in r.json()["detail"][0]["loc"]
    r = osh.post("/api/v1/accidents", json=report_body("123456789012"))
    assert r.status_code == 422 and "iin" in r.json()["detail"][0]["loc"]


def test_victim_of_another_employer_is_flagged_and_late_report(client_as):
    stranger = make_iin()
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    r = client_as("osh_krg").post("/api/v1/accidents", json=report_body(stranger, occurred_at=old))
    assert r.status_code == 201
    acc = r.json()
    assert "victim_not_employed" in acc["flags"] and "late_report" in acc["flags"]
    assert acc["late_report"] is True and acc["victims"][0]["employed_here"] is False


def test_severe_group_case_opens_special_investigation(client_as, employed_iin, world):
    body = report_body(
        employed_iin,
        severity="severe",
        victims=[
            {"iin": employed_iin, "severity": "severe"},
            {"full_name": "Белгісіз Адам", "birth_date": "1975-02-03", "severity": "fatal"},
        ],
    )
    r = client_as("osh_krg").post("/api/v1/accidents", json=body)
    assert r.status_code == 201, r.text
    acc = r.json()
    assert acc["severity"] == "fatal" and acc["fatalities"] == 1 and "group" in acc["flags"]
    insp = client_as("inspector_krg")
    inv = insp.get(f"/api/v1/accidents/{acc['id']}/investigation").json()
    assert inv["kind"] == "special" and inv["inspector_id"] == world.users["inspector_krg"]
    notes = {
        n["recipient"]: n["status"]
        for n in insp.get(f"/api/v1/accidents/{acc['id']}/notifications").json()
    }
    assert notes["relatives"] == "must_inform" and notes["prosecutor"] == "must_inform"
    # the employer may not run a special investigation
    members = [
        {"name": "A B", "position": "chief", "chair": True},
        {"name": "C D", "position": "osh"},
        {"name": "E F", "position": "union"},
    ]
    r = client_as("osh_krg").post(
        f"/api/v1/accidents/{acc['id']}/investigation/commission", json={"members": members}
    )
    assert r.status_code == 403


def test_attachments_sniffed_and_limited(client_as, employed_iin, db, monkeypatch):
    from qorgau.core.config import get_settings
    from qorgau.incidents.models import Attachment

    osh = client_as("osh_krg")
    acc = osh.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    url = f"/api/v1/accidents/{acc['id']}/attachments"
    ok = osh.post(url, files={"file": ("photo.png", io.BytesIO(PNG), "image/png")})
    assert ok.status_code == 201, ok.text
    assert ok.json()["mime"] == "image/png" and len(ok.json()["sha256"]) == 64
    before = _count(db, Attachment)
    disguised = osh.post(url, files={"file": ("report.pdf", io.BytesIO(PNG), "application/pdf")})
    assert disguised.status_code == 422 and disguised.json()["detail"][0]["loc"][-1] == "file"
    exe = osh.post(url, files={"file": ("a.jpg", io.BytesIO(b"MZ\x90\x00" * 50), "image/jpeg")})
    assert exe.status_code == 422
    monkeypatch.setattr(get_settings(), "max_upload_bytes", 100)
    big = osh.post(url, files={"file": ("p.png", io.BytesIO(PNG + b"\0" * 200), "image/png")})
    assert big.status_code in (413, 422)
    assert _count(db, Attachment) == before


def _members() -> list[dict]:
    return [
        {"name": "Ахметов Б.", "position": "Бас инженер", "chair": True},
        {"name": "Иванова С.", "position": "Инженер ОТ"},
        {"name": "Жұмабек Д.", "position": "Кәсіподақ"},
    ]


def _findings(emp: int = 70, wrk: int = 30, reason: str = "initial findings") -> dict:
    return {
        "findings": "Ladder was not secured; no supervision of work at height.",
        "causes": ["C01", "C02"],
        "fault_employer_pct": emp,
        "fault_worker_pct": wrk,
        "reason": reason,
    }


def test_full_workflow_signed_act_and_revision(client_as, employed_iin, db):
    from qorgau.incidents import signing
    from qorgau.incidents.models import Act

    osh = client_as("osh_krg")
    acc = osh.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    base = f"/api/v1/accidents/{acc['id']}"
    assert (
        osh.post(f"{base}/investigation/commission", json={"members": _members()}).status_code
        == 200
    )
    ext = osh.post(
        f"{base}/investigation/extension", json={"working_days": 5, "reason": "expert report"}
    )
    assert ext.status_code == 200 and ext.json()["extension_days"] == 5

    bad = osh.post(f"{base}/investigation/findings", json=_findings(60, 30))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "fault_employer_pct",
    ]
    assert osh.get(f"{base}/investigation").json()["findings"] == ""

    assert osh.post(f"{base}/investigation/findings", json=_findings()).status_code == 200
    act = osh.post(
        f"{base}/actions",
        json={
            "description": "Fit ladder restraints",
            "owner": "Chief mechanic",
            "due_date": "2030-01-31",
        },
    )
    assert act.status_code == 201
    signed = osh.post(f"{base}/acts", json={"reason": "initial act"})
    assert signed.status_code == 201, signed.text
    acts = signed.json()
    assert {a["lang"] for a in acts} == {"kk", "ru"} and all(a["revision"] == 1 for a in acts)
    ru = next(a for a in acts if a["lang"] == "ru")
    pdf = osh.get(f"/api/v1/acts/{ru['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert osh.get(f"/api/v1/acts/{ru['id']}/verify").json()["valid"] is True
    sig = osh.get(f"/api/v1/acts/{ru['id']}/signature").content
    assert signing.verify(pdf.content, sig).valid
    tampered = bytearray(pdf.content)
    tampered[len(tampered) // 2] ^= 0x01
    assert signing.verify(bytes(tampered), sig).valid is False
    # one byte changed on disk -> the stored act no longer verifies
    row = db.get(Act, ru["id"])
    Path(row.path).write_bytes(bytes(tampered))
    check = osh.get(f"/api/v1/acts/{ru['id']}/verify").json()
    assert check["valid"] is False
    Path(row.path).write_bytes(pdf.content)

    # revision after signing: new findings revision, new signature, old act kept
    assert (
        osh.post(
            f"{base}/investigation/findings", json=_findings(50, 50, "expert report received")
        ).status_code
        == 200
    )
    again = osh.post(f"{base}/acts", json={"reason": "fault split revised"}).json()
    assert all(a["revision"] == 2 for a in again)
    all_acts = osh.get(f"{base}/acts").json()
    assert sorted({a["revision"] for a in all_acts}) == [1, 2] and len(all_acts) == 4
    assert osh.get(f"/api/v1/acts/{ru['id']}/verify").json()["valid"] is True

    hist = osh.get(f"{base}/history").json()
    inv_revs = [h for h in hist if h["object_type"] == "investigation"]
    assert [h["number"] for h in inv_revs] == list(range(1, len(inv_revs) + 1))
    last = inv_revs[-1]
    assert last["reason"] == "expert report received"
    assert last["diff"]["fault_employer_pct"] == {"from": 70, "to": 50}

    # registration by the region's inspector; another region's inspector cannot
    assert client_as("inspector_ala").post(f"{base}/register").status_code == 404
    reg = client_as("inspector_krg").post(f"{base}/register")
    assert reg.status_code == 200 and reg.json()["state"] == "registered"
    kinds = {d["kind"]: d for d in osh.get(f"{base}/deadlines").json()}
    assert set(kinds) == {"report", "commission", "investigation", "act", "register"}
    assert all(d["met_at"] for d in kinds.values())


def test_revise_report_keeps_history(client_as, employed_iin):
    osh = client_as("osh_krg")
    acc = osh.post("/api/v1/accidents", json=report_body(employed_iin)).json()
    r = osh.patch(f"/api/v1/accidents/{acc['id']}", json={"severity": "severe"})
    assert r.status_code == 422  # a reason is required
    r = osh.patch(
        f"/api/v1/accidents/{acc['id']}",
        json={"severity": "severe", "reason": "hospital diagnosis"},
    )
    assert r.status_code == 200 and r.json()["revision"] == 2
    hist = osh.get(f"/api/v1/accidents/{acc['id']}/history").json()
    assert [h["number"] for h in hist if h["object_type"] == "accident"] == [1, 2]
    assert hist[-1]["diff"]["severity"] == {"from": "minor", "to": "severe"}
    assert hist[-1]["actor"].startswith("user:")


def test_overdue_lists_scoped(client_as, world):
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    acc = client_as("osh_krg").post("/api/v1/accidents", json=report_body(occurred_at=old)).json()
    insp = client_as("inspector_krg")
    mine = insp.get(
        f"/api/v1/deadlines/overdue?inspector_id={world.users['inspector_krg']}&size=200"
    )
    kinds = {(d["accident_id"], d["kind"]) for d in mine.json()["items"]}
    assert (acc["id"], "report") in kinds and (acc["id"], "commission") in kinds
    ent = client_as("osh_krg").get(
        f"/api/v1/deadlines/overdue?enterprise_id={world.enterprises['mine_krg']}&size=200"
    )
    assert acc["id"] in {d["accident_id"] for d in ent.json()["items"]}
    other = client_as("inspector_ala").get("/api/v1/deadlines/overdue?size=200").json()
    assert acc["id"] not in {d["accident_id"] for d in other["items"]}


def test_anonymous_hazard_report(client, client_as, db, world):
    from qorgau.incidents.models import HazardReport
    from qorgau.registry.models import Enterprise

    bin_ = db.get(Enterprise, world.enterprises["mine_krg"]).bin
    r = client.post(
        "/api/v1/hazards/upload",
        data={
            "bin": bin_,
            "kind": "near_miss",
            "description": "Gas sensor in drift 3 shows nothing for days",
        },
        files={"photo": ("s.png", io.BytesIO(PNG), "image/png")},
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert client.get(f"/api/v1/hazards/status/{code}").json()["status"] == "new"
    row = db.scalar(select(HazardReport).where(HazardReport.code == code))
    cols = {c.name for c in HazardReport.__table__.columns}
    assert not cols & {"ip", "client", "user_agent", "reporter"}
    insp = client_as("inspector_krg")
    assert row.id in [h["id"] for h in insp.get("/api/v1/hazards?size=200").json()["items"]]
    assert row.id not in [
        h["id"] for h in client_as("inspector_ala").get("/api/v1/hazards?size=200").json()["items"]
    ]
    assert (
        client_as("inspector_ala")
        .post(f"/api/v1/hazards/{row.id}/status", json={"status": "resolved"})
        .status_code
        == 404
    )
    ok = insp.post(
        f"/api/v1/hazards/{row.id}/status", json={"status": "acknowledged", "note": "visit planned"}
    )
    assert ok.status_code == 200
    assert client.get(f"/api/v1/hazards/status/{code}").json()["status"] == "acknowledged"
    bad = client.post(
        "/api/v1/hazards/upload",
        data={"bin": "000000000000", "kind": "hazard", "description": "something dangerous here"},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "bin"


def test_hazard_rate_limited(client, db, world):
    from qorgau.registry.models import Enterprise

    bin_ = db.get(Enterprise, world.enterprises["build_ala"]).bin
    data = {"bin": bin_, "kind": "hazard", "description": "Open trench without a fence"}
    codes = [client.post("/api/v1/hazards/upload", data=data).status_code for _ in range(7)]
    assert codes[:5] == [201] * 5 and codes[-1] == 429


def test_worker_role_cannot_report(client_as):
    r = client_as("worker_krg").post("/api/v1/accidents", json=report_body())
    assert r.status_code == 403
