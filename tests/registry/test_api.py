"""Registry API: creation, search, headcount, and bad input that writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import make_bin, make_iin
from qorgau.core.audit import AuditEntry
from qorgau.registry.models import Enterprise


def _enterprise(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "bin": make_bin(), "name": "ТОО «Проверка»", "activity_code": "41",
        "region_code": "KZ-35", "lon": 73.1, "lat": 49.8, "size_band": "small",
    }
    body.update(overrides)
    return body


def _counts(db: Session) -> tuple[int, int]:
    db.expire_all()
    return (db.scalar(select(func.count()).select_from(Enterprise)) or 0,
            db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_admin_creates_enterprise_and_it_is_audited(
    client_as: Callable[[str], TestClient], db: Session
) -> None:
    before = _counts(db)
    r = client_as("admin").post("/api/v1/enterprises", json=_enterprise())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["section"] == "F" and body["revision"] == 1
    assert _counts(db) == (before[0] + 1, before[1] + 1)


BAD_INPUT = [
    ({"bin": "123456789012"}, "bin", "invalid BIN"),
    ({"region_code": "KZ-99"}, "region_code", "unknown region"),
    ({"activity_code": "99"}, "activity_code", "unknown OKED"),
    ({"lon": 30.0}, "lon", "greater than or equal"),
    ({"lat": 60.0}, "lat", "less than or equal"),
    ({"size_band": "huge"}, "size_band", "pattern"),
    ({"unexpected": 1}, "unexpected", "Extra inputs"),
]


@pytest.mark.parametrize(("override", "field", "message"), BAD_INPUT)
def test_bad_enterprise_input_names_the_field_and_writes_nothing(
    client_as: Callable[[str], TestClient], db: Session, override: dict[str, object],
    field: str, message: str,
) -> None:
    before = _counts(db)
    r = client_as("admin").post("/api/v1/enterprises", json=_enterprise(**override))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(field in [str(x) for x in d["loc"]] and message in d["msg"] for d in detail), detail
    assert _counts(db) == before


def test_duplicate_bin_is_refused(client_as: Callable[[str], TestClient], db: Session) -> None:
    admin = client_as("admin")
    body = _enterprise()
    assert admin.post("/api/v1/enterprises", json=body).status_code == 201
    before = _counts(db)
    r = admin.post("/api/v1/enterprises", json={**body, "name": "Другое"})
    assert r.status_code == 409
    assert r.json()["detail"][0]["loc"] == ["body", "bin"]
    assert _counts(db) == before


def test_malformed_and_oversized_json(client_as: Callable[[str], TestClient], db: Session) -> None:
    admin = client_as("admin")
    before = _counts(db)
    r = admin.post("/api/v1/enterprises", content=b"{not json",
                   headers={"content-type": "application/json"})
    assert r.status_code == 422
    big = b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    r = admin.post("/api/v1/enterprises", content=big,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _counts(db) == before


def test_revision_keeps_history(client_as: Callable[[str], TestClient], db: Session) -> None:
    admin = client_as("admin")
    ent = admin.post("/api/v1/enterprises", json=_enterprise()).json()
    r = admin.patch(f"/api/v1/enterprises/{ent['id']}", json={"name": "ТОО «Новое имя»"})
    assert r.status_code == 422  # a reason is required
    r = admin.patch(f"/api/v1/enterprises/{ent['id']}",
                    json={"name": "ТОО «Новое имя»", "reason": "re-registration"})
    assert r.status_code == 200 and r.json()["revision"] == 2
    entry = db.scalar(select(AuditEntry).where(AuditEntry.object_id == str(ent["id"]),
                                               AuditEntry.action == "enterprise.revise"))
    assert entry is not None
    assert entry.diff["before"]["name"] == "ТОО «Проверка»"
    assert entry.diff["after"]["reason"] == "re-registration"


def test_search_by_name_fragment_and_bin(client_as: Callable[[str], TestClient]) -> None:
    admin = client_as("admin")
    body = _enterprise(name="Қарағанды Көмір Тест ЖШС")
    admin.post("/api/v1/enterprises", json=body)
    by_name = admin.get("/api/v1/enterprises", params={"q": "Көмір Тест"}).json()
    assert [e["bin"] for e in by_name["items"]] == [body["bin"]]
    by_bin = admin.get("/api/v1/enterprises", params={"q": str(body["bin"])[:10]}).json()
    assert body["bin"] in [e["bin"] for e in by_bin["items"]]


def test_employment_gives_headcount_and_masks_iin(
    client_as: Callable[[str], TestClient], world: object
) -> None:
    admin = client_as("admin")
    ent = admin.post("/api/v1/enterprises", json=_enterprise(region_code="KZ-75",
                                                              lon=76.9, lat=43.25)).json()
    iin = make_iin()
    contract = {"contract_no": f"C-{ent['bin']}", "enterprise_bin": ent["bin"],
                "occupation": "welder", "start_date": "2024-01-10",
                "worker": {"iin": iin, "last_name": "Ахметов", "first_name": "Нұрлан"}}
    assert admin.post("/api/v1/employment", json=contract).status_code == 201
    workers = admin.get("/api/v1/workers", params={"enterprise_id": ent["id"]}).json()
    assert workers["total"] == 1
    assert workers["items"][0]["iin_masked"].endswith(iin[-4:])
    assert iin not in str(workers)
    counts = admin.get("/api/v1/headcount", params={"group_by": "enterprise"}).json()
    assert {"key": ent["id"], "count": 1} in counts["rows"]
    bad = {**contract, "contract_no": "C-2", "end_date": "2023-01-01"}
    r = admin.post("/api/v1/employment", json=bad)
    assert r.status_code == 422 and "end_date is before start_date" in r.text
    bad_iin = {**contract, "contract_no": "C-3", "worker": {**contract["worker"],
                                                            "iin": iin[:-1] + "0"}}
    if iin[-1] != "0":
        r = admin.post("/api/v1/employment", json=bad_iin)
        assert r.status_code == 422 and "check digit" in r.text
