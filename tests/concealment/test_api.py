"""Analysis run and estimates through the API (small world: the pipeline must not fail on it)."""

from __future__ import annotations


def test_run_needs_national_role(client_as) -> None:
    assert client_as("hospital").post("/api/v1/concealment/runs", json={}).status_code == 403
    assert client_as("inspector_krg").post("/api/v1/concealment/runs", json={}).status_code == 403


def test_run_and_read_estimates(client_as) -> None:
    admin = client_as("admin")
    r = admin.post("/api/v1/concealment/runs", json={"as_of": "2026-01-31"})
    assert r.status_code == 201, r.text
    assert r.json()["stats"]["evidence"] >= 0
    assert admin.get("/api/v1/concealment/under-reporting").status_code == 200
    assert admin.get("/api/v1/concealment/estimates").status_code == 200
    sig = client_as("inspector_krg").get("/api/v1/concealment/enterprises").json()
    assert all(s["region_code"] == "KZ-35" for s in sig["items"])


def test_unknown_field_is_rejected_by_name(client_as) -> None:
    r = client_as("admin").post("/api/v1/concealment/runs", json={"asof": "2026-01-31"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "asof"
