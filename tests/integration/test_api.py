"""Bulk feeds through the API: auth by feed, whole-or-nothing, row errors, idempotency."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from integration.integ_helpers import enterprise_row, envelope, hire

EMP = "/api/v1/feeds/employment-contracts"
BIZ = "/api/v1/feeds/business-register"


def _count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_employment_delta_applies_whole_and_rerun_changes_nothing(db, feed_client, mine_bin):
    from qorgau.registry.models import Employment

    c = feed_client("employment-contracts")
    tag = secrets.token_hex(3)
    body = envelope([hire(f"E-{tag}-1", mine_bin), hire(f"E-{tag}-2", mine_bin)])
    r = c.post(EMP, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["results"] == ["created", "created"]
    assert _count(db, Employment, Employment.contract_no.like(f"E-{tag}-%")) == 2
    # the same delivery again (no idempotency key): natural keys make it a no-op
    r2 = c.post(EMP, json={**body, "sent_at": datetime.now(UTC).isoformat()})
    assert r2.json()["results"] == ["unchanged", "unchanged"]
    assert _count(db, Employment, Employment.contract_no.like(f"E-{tag}-%")) == 2
    # terminate and change
    term = {
        "op": "terminate",
        "contract_no": f"E-{tag}-1",
        "enterprise_bin": mine_bin,
        "end_date": "2025-06-30",
        "changed_at": datetime.now(UTC).isoformat(),
    }
    chg = {
        "op": "change",
        "contract_no": f"E-{tag}-2",
        "enterprise_bin": mine_bin,
        "occupation": "foreman",
        "monthly_wage": 500000,
        "changed_at": datetime.now(UTC).isoformat(),
    }
    r3 = c.post(EMP, json=envelope([term, chg]))
    assert r3.json()["results"] == ["updated", "updated"]
    db.expire_all()
    row = db.scalar(select(Employment).where(Employment.contract_no == f"E-{tag}-1"))
    assert str(row.end_date) == "2025-06-30"
    assert c.post(EMP, json=envelope([term, chg])).json()["results"] == ["unchanged"] * 2


def test_one_bad_row_rejects_the_whole_delivery_with_row_errors(db, feed_client, mine_bin):
    from qorgau.registry.models import Employment

    c = feed_client("employment-contracts")
    tag = secrets.token_hex(3)
    bad_type = hire(f"E-{tag}-2", mine_bin, monthly_wage="lots")
    unknown = hire(f"E-{tag}-3", mine_bin, favourite_colour="blue")
    future = hire(
        f"E-{tag}-4", mine_bin, changed_at=(datetime.now(UTC) + timedelta(hours=3)).isoformat()
    )
    rows = [hire(f"E-{tag}-1", mine_bin), bad_type, unknown, future]
    r = c.post(EMP, json=envelope(rows))
    assert r.status_code == 422
    errors = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert (1, "monthly_wage") in errors
    assert (2, "favourite_colour") in errors
    assert (3, "changed_at") in errors
    assert _count(db, Employment, Employment.contract_no.like(f"E-{tag}-%")) == 0


def test_domain_errors_are_row_level_and_nothing_is_half_applied(db, feed_client, mine_bin):
    from factories import make_bin
    from qorgau.registry.models import Employment

    c = feed_client("employment-contracts")
    tag = secrets.token_hex(3)
    rows = [
        hire(f"E-{tag}-1", mine_bin),
        hire(f"E-{tag}-2", make_bin()),
        {
            "op": "terminate",
            "contract_no": f"NOPE-{tag}",
            "enterprise_bin": mine_bin,
            "end_date": "2025-01-01",
            "changed_at": datetime.now(UTC).isoformat(),
        },
    ]
    r = c.post(EMP, json=envelope(rows))
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [
        (1, "enterprise_bin"),
        (2, "contract_no"),
    ]
    assert _count(db, Employment, Employment.contract_no.like(f"E-{tag}-%")) == 0


def test_envelope_errors(feed_client, mine_bin):
    c = feed_client("employment-contracts")
    skewed = envelope([hire("X-1", mine_bin)])
    skewed["sent_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    r = c.post(EMP, json=skewed)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "sent_at"]
    r = c.post(EMP, json={**envelope([hire("X-1", mine_bin)]), "extra": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "extra"
    r = c.post(EMP, json=envelope([]))
    assert r.status_code == 422


def test_oversized_delivery_is_413(feed_client, mine_bin, monkeypatch):
    from qorgau.integration.constants import integration_settings

    monkeypatch.setattr(integration_settings(), "max_batch_rows", 3)
    c = feed_client("employment-contracts")
    r = c.post(EMP, json=envelope([hire(f"O-{i}", mine_bin) for i in range(4)]))
    assert r.status_code == 413


def test_key_scoped_to_one_feed_cannot_use_another(db, feed_client, client_as, mine_bin):
    from qorgau.registry.models import Enterprise

    c = feed_client("employment-contracts")
    bin_ = enterprise_row()["bin"]
    r = c.post(BIZ, json=envelope([enterprise_row(bin_)]))
    assert r.status_code == 403
    assert _count(db, Enterprise, Enterprise.bin == bin_) == 0
    # a user (even an admin) is not a feed
    assert client_as("admin").post(EMP, json=envelope([hire("U-1", mine_bin)])).status_code == 403
    # and a system key cannot read what it has no reach for
    assert c.get("/api/v1/exchange/feeds").status_code == 403


def test_revoked_and_expired_keys_are_refused(db, app, key_for, mine_bin):
    from fastapi.testclient import TestClient

    from qorgau.accounts.models import ApiKey
    from qorgau.core.db import utcnow

    key, _ = key_for("employment-contracts")
    c = TestClient(app, base_url="https://testserver", headers={"X-API-Key": key})
    prefix = key.split("_")[1]
    row = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert c.post(EMP, json=envelope([hire("R-1", mine_bin)])).status_code == 401
    row.expires_at, row.revoked_at = None, utcnow()
    db.commit()
    assert c.post(EMP, json=envelope([hire("R-1", mine_bin)])).status_code == 401


def test_idempotency_key_replays_and_conflicts(db, feed_client):
    from qorgau.registry.models import Enterprise

    c = feed_client("business-register")
    row = enterprise_row()
    body = envelope([row])
    h = {"Idempotency-Key": f"k-{secrets.token_hex(4)}"}
    first = c.post(BIZ, json=body, headers=h)
    assert first.status_code == 200 and first.json()["results"] == ["created"]
    again = c.post(BIZ, json=body, headers=h)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _count(db, Enterprise, Enterprise.bin == row["bin"]) == 1
    other = c.post(BIZ, json=envelope([enterprise_row()]), headers=h)
    assert other.status_code == 409
    assert other.json()["detail"][0]["loc"] == ["body", "Idempotency-Key"]


def test_failed_request_frees_its_idempotency_key(feed_client):
    c = feed_client("business-register")
    h = {"Idempotency-Key": f"k-{secrets.token_hex(4)}"}
    bad = envelope([enterprise_row()])
    bad["sent_at"] = "2001-01-01T00:00:00Z"
    assert c.post(BIZ, json=bad, headers=h).status_code == 422
    good = envelope([enterprise_row()])
    assert c.post(BIZ, json=good, headers=h).status_code == 200


def test_business_register_revises_by_bin(db, feed_client):
    from qorgau.registry.models import Enterprise

    c = feed_client("business-register")
    row = enterprise_row()
    assert c.post(BIZ, json=envelope([row])).json()["results"] == ["created"]
    changed = {**row, "name": "Жаңа атау ЖШС", "changed_at": datetime.now(UTC).isoformat()}
    assert c.post(BIZ, json=envelope([changed])).json()["results"] == ["updated"]
    assert c.post(BIZ, json=envelope([changed])).json()["results"] == ["unchanged"]
    db.expire_all()
    ent = db.scalar(select(Enterprise).where(Enterprise.bin == row["bin"]))
    assert ent.name == "Жаңа атау ЖШС" and ent.revision == 2
    r = c.post(BIZ, json=envelope([enterprise_row(activity_code="ZZ"), enterprise_row(bin="1")]))
    assert r.status_code == 422
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {
        (1, "bin"),
    }


def test_large_delivery_becomes_a_job_with_progress(db, feed_client, mine_bin, monkeypatch):
    from qorgau.integration.constants import integration_settings
    from qorgau.registry.models import Employment

    monkeypatch.setattr(integration_settings(), "sync_max_rows", 5)
    c = feed_client("employment-contracts")
    tag = secrets.token_hex(3)
    r = c.post(EMP, json=envelope([hire(f"J-{tag}-{i}", mine_bin) for i in range(12)]))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(100):
        job = c.get(f"/api/v1/import-jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done" and job["progress"] == 1.0
    assert job["results"]["counts"] == {"created": 12}
    assert _count(db, Employment, Employment.contract_no.like(f"J-{tag}-%")) == 12
    # another organisation's caller cannot see the job
    other = feed_client("employment-contracts")
    assert other.get(f"/api/v1/import-jobs/{job_id}").status_code == 404


def test_failed_job_applies_nothing(db, feed_client, mine_bin):
    from qorgau.registry.models import Employment

    c = feed_client("employment-contracts")
    tag = secrets.token_hex(3)
    rows = [hire(f"F-{tag}-{i}", mine_bin) for i in range(3)] + [hire(f"F-{tag}-x", "1" * 12)]
    job_id = c.post(EMP, json=envelope(rows, mode="job")).json()["id"]
    for _ in range(100):
        job = c.get(f"/api/v1/import-jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "failed"
    assert job["results"]["errors"][0]["row"] == 3
    assert _count(db, Employment, Employment.contract_no.like(f"F-{tag}-%")) == 0
