"""Insurance API: bulk import (whole or nothing), organisation scope, gaps by scope, claims."""

from __future__ import annotations

from datetime import date

from factories import make_bin


def test_bulk_applies_and_insurer_sees_only_its_own(
    client_as, make_employer, crow, world, db
) -> None:
    from qorgau.accounts.models import Organisation

    _, bin_ = make_employer([200_000, 200_000])
    insurer = client_as("insurer")
    row = crow(bin_, start="2025-01-01", end="2025-12-31", headcount=2, payroll="4800000")
    r = insurer.post("/api/v1/insurance/contracts/bulk", json={"contracts": [row]})
    assert r.status_code == 201, r.text
    assert r.json()["applied"] == 1
    mine = insurer.get("/api/v1/insurance/contracts", params={"size": 200}).json()
    assert row["policy_no"] in {c["policy_no"] for c in mine["items"]}
    cid = next(c["id"] for c in mine["items"] if c["policy_no"] == row["policy_no"])
    # A second insurer organisation sees none of it, and 404 on the object.
    other_org = Organisation(kind="insurer", name="Other insurer")
    db.add(other_org)
    db.commit()
    other = _user_client(client_as, db, world, other_org.id)
    theirs = other.get("/api/v1/insurance/contracts").json()
    assert row["policy_no"] not in {c["policy_no"] for c in theirs["items"]}
    assert other.get(f"/api/v1/insurance/contracts/{cid}").status_code == 404
    assert insurer.get(f"/api/v1/insurance/contracts/{cid}").status_code == 200


def _user_client(client_as, db, world, org_id: int):
    from qorgau.accounts.models import User

    user = User(
        username=f"ins-{org_id}",
        full_name="x",
        role="insurer",
        password_hash="x",
        organisation_id=org_id,
    )
    db.add(user)
    db.commit()
    world.users[f"ins-{org_id}"] = user.id
    return client_as(f"ins-{org_id}")


def test_bulk_rejects_every_bad_row_and_applies_nothing(client_as, make_employer, crow) -> None:
    _, bin_ = make_employer([100_000])
    good = crow(bin_, start="2025-01-01", end="2025-12-31", headcount=1, payroll="1200000")
    rows = [
        good,
        crow(make_bin(), headcount=1, payroll="1200000"),
        {**crow(bin_, start="2025-02-01", end="2025-03-01"), "payroll": "-1"},
        {**crow(bin_, start="2025-02-01", end="2025-03-01"), "end_date": "2025-01-15"},
        crow(bin_, start="2025-06-01", end="2026-05-31", headcount=1, payroll="1200000"),
    ]
    insurer = client_as("insurer")
    r = insurer.post("/api/v1/insurance/contracts/bulk", json={"contracts": rows})
    assert r.status_code == 422
    locs = {tuple(d["loc"]) for d in r.json()["detail"]}
    assert ("body", "contracts", 1, "employer_bin") in locs
    assert ("body", "contracts", 2, "payroll") in locs
    assert ("body", "contracts", 3, "end_date") in locs
    assert ("body", "contracts", 4, "start_date") in locs  # overlaps row 0
    listed = insurer.get("/api/v1/insurance/contracts", params={"size": 200}).json()["items"]
    assert good["policy_no"] not in {c["policy_no"] for c in listed}


def test_bulk_forbidden_for_inspector(client_as, make_employer, crow) -> None:
    _, bin_ = make_employer([100_000])
    r = client_as("inspector_krg").post(
        "/api/v1/insurance/contracts/bulk", json={"contracts": [crow(bin_)]}
    )
    assert r.status_code == 403


def test_bulk_unknown_field_names_it(client_as, make_employer, crow) -> None:
    _, bin_ = make_employer([100_000])
    r = client_as("insurer").post(
        "/api/v1/insurance/contracts/bulk", json={"contracts": [{**crow(bin_), "colour": "red"}]}
    )
    assert r.status_code == 422
    assert ["body", "contracts", 0, "colour"] in [d["loc"] for d in r.json()["detail"]]


def test_gaps_visible_by_region_and_enterprise(client_as, world) -> None:
    admin = client_as("admin")
    r = admin.post("/api/v1/insurance/gaps/recompute", params={"on": "2025-04-01"})
    assert r.status_code == 200 and r.json()["open_total"] >= 2
    krg = client_as("inspector_krg").get("/api/v1/insurance/gaps", params={"size": 200}).json()
    assert krg["total"] >= 1 and {g["region_code"] for g in krg["items"]} == {"KZ-35"}
    osh = client_as("osh_ala").get("/api/v1/insurance/gaps").json()
    assert {g["enterprise_id"] for g in osh["items"]} == {world.enterprises["build_ala"]}
    assert client_as("inspector_krg").post("/api/v1/insurance/gaps/recompute").status_code == 403


def test_claim_links_accident(client_as, make_employer, crow) -> None:
    _, bin_ = make_employer([100_000])
    insurer = client_as("insurer")
    row = crow(bin_, start="2025-01-01", end="2025-12-31", headcount=1, payroll="1200000")
    assert (
        insurer.post("/api/v1/insurance/contracts/bulk", json={"contracts": [row]}).status_code
        == 201
    )
    r = insurer.post(
        "/api/v1/insurance/claims",
        json={
            "policy_no": row["policy_no"],
            "accident_ref": "ACC-2025-0042",
            "amount": "250000",
            "filed_on": str(date(2025, 3, 3)),
        },
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    r = insurer.post(f"/api/v1/insurance/claims/{claim['id']}/state", json={"state": "paid"})
    assert r.json()["state"] == "paid"
    found = insurer.get("/api/v1/insurance/claims", params={"accident_ref": "ACC-2025-0042"})
    assert [c["id"] for c in found.json()["items"]] == [claim["id"]]
    bad = insurer.post(
        "/api/v1/insurance/claims",
        json={"policy_no": "NOPE-1", "accident_ref": "A", "amount": "1", "filed_on": "2025-03-03"},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "policy_no"]
    assert (
        client_as("inspector_ala")
        .post(f"/api/v1/insurance/claims/{claim['id']}/state", json={"state": "paid"})
        .status_code
        == 403
    )
