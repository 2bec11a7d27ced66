"""Evidence feeds: row-level errors, nothing half-applied, flagged IINs, idempotent duplicates,
feed/key matching, a hospital can submit but not read."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import func, select

from factories import make_iin
from qorgau.concealment.feeds import parse_upload
from qorgau.concealment.models import EvidenceRecord

URL = "/api/v1/concealment/feeds/trauma_visit/records"


def _row(**kw: object) -> dict[str, object]:
    base = {"source_ref": f"TV-{secrets.token_hex(5)}", "iin": make_iin(), "last_name": "Қасымов",
            "first_name": "Ерлан", "event_date": "2025-03-02", "icd10": "S52.5",
            "work_related": True, "facility": "Karaganda trauma centre"}  # fmt: skip
    return base | kw


def _count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(EvidenceRecord))


def test_bad_rows_are_all_reported_and_nothing_is_applied(client_as, db) -> None:
    before = _count(db)
    rows = [_row(), _row(icd10="X99"), _row(event_date="2999-01-01"), _row(iin="12ab")]
    r = client_as("hospital").post(URL, json={"records": rows})
    assert r.status_code == 422
    bad = {(d["index"], d["field"]) for d in r.json()["detail"]}
    assert bad == {(1, "icd10"), (2, "event_date"), (3, "iin")}
    assert _count(db) == before


def test_wrong_check_digit_is_kept_flagged_and_hashed(client_as, db) -> None:
    iin = make_iin()
    wrong = iin[:11] + str((int(iin[11]) + 1) % 10)
    r = client_as("hospital").post(URL, json={"records": [_row(iin=wrong)]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["flagged_iin"] == 1 and body["rows"][0]["iin_valid"] is False
    rec = db.get(EvidenceRecord, body["rows"][0]["id"])
    assert rec.iin_hash and wrong not in (rec.iin_hash or "") and rec.iin_valid is False
    assert rec.last_name == "kasymov"  # canonical form, not the typed spelling


def test_duplicates_are_idempotent(client_as, db) -> None:
    row = _row()
    c = client_as("hospital")
    first = c.post(URL, json={"records": [row]}).json()
    again = c.post(URL, json={"records": [row, row]}).json()
    assert again["created"] == 0 and again["duplicates"] == 2
    assert {x["id"] for x in again["rows"]} == {first["rows"][0]["id"]}


def test_hospital_submits_but_cannot_read(client_as) -> None:
    c = client_as("hospital")
    assert c.post(URL, json={"records": [_row()]}).status_code == 200
    r = c.get("/api/v1/concealment/evidence")
    assert r.status_code == 403
    assert "Қасымов" not in r.text and "kasymov" not in r.text
    assert c.get("/api/v1/concealment/cases").status_code == 403


def test_hospital_cannot_feed_other_sources(client_as) -> None:
    r = client_as("hospital").post(
        "/api/v1/concealment/feeds/sick_leave/records",
        json={"records": [_row(cause_code="02", employer_bin=None)]},
    )
    assert r.status_code == 403


def test_system_key_must_match_the_feed(client, db, world) -> None:
    from qorgau.accounts import service as accounts
    from qorgau.accounts.schemas import ApiKeyIn
    from qorgau.core.security import SYSTEM_ACTOR

    key, _ = accounts.create_api_key(db, actor=SYSTEM_ACTOR, data=ApiKeyIn(
        name="e-health", organisation_id=world.orgs["hospital"], feed="sick_leave"))  # fmt: skip
    headers = {"X-API-Key": key}
    ok = client.post("/api/v1/concealment/feeds/sick_leave/records", headers=headers,
                     json={"records": [_row(cause_code="02", icd10=None)]})  # fmt: skip
    assert ok.status_code == 200, ok.text
    no = client.post(URL, headers=headers, json={"records": [_row()]})
    assert no.status_code == 403


def test_source_rules_name_the_field(client_as) -> None:
    c = client_as("admin")
    r = c.post("/api/v1/concealment/feeds/sick_leave/records",
               json={"records": [_row(cause_code="99")]})  # fmt: skip
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "cause_code"
    r = c.post("/api/v1/concealment/feeds/complaint/records", json={"records": [_row()]})
    assert [d["field"] for d in r.json()["detail"]] == ["employer_bin"]
    r = c.post("/api/v1/concealment/feeds/nonsense/records", json={"records": [_row()]})
    assert r.status_code == 422


def test_inspector_reads_only_own_region(client_as) -> None:
    client_as("hospital").post(URL, json={"records": [_row(region_code="KZ-35")]})
    krg = client_as("inspector_krg").get("/api/v1/concealment/evidence").json()
    assert krg["total"] >= 1 and all(e["region_code"] == "KZ-35" for e in krg["items"])
    ala = client_as("inspector_ala").get("/api/v1/concealment/evidence").json()
    assert all(e["region_code"] == "KZ-75" for e in ala["items"])


def test_parse_csv_with_semicolons() -> None:
    text = "source_ref;iin;event_date;icd10;work_related\nA1;860101300012;2025-01-02;S52.5;yes\n"
    rows = parse_upload("feed.csv", text.encode())
    assert rows == [{"source_ref": "A1", "iin": "860101300012", "event_date": "2025-01-02",
                     "icd10": "S52.5", "work_related": True}]  # fmt: skip
    assert date.fromisoformat(rows[0]["event_date"]).year == 2025
