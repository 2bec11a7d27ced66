"""Equipment API: registration with sniffed files, heartbeats, scope, compliance."""

from __future__ import annotations

import io
import secrets

from PIL import Image

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _register(c, world, code="build.crane_limiter"):
    r = c.post(
        "/api/v1/equipment/installations",
        json={
            "site_id": world.sites["build_ala"],
            "requirement_code": code,
            "serial_no": f"LL-{secrets.token_hex(4)}",
            "commissioned_on": "2026-01-15",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_register_files_and_heartbeat(client_as, world) -> None:
    osh = client_as("osh_ala")
    inst = _register(osh, world)
    iid = inst["id"]
    r = osh.post(
        f"/api/v1/equipment/installations/{iid}/files/act",
        files={"file": ("act.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 200 and r.json()["has_act"]
    r = osh.post(
        f"/api/v1/equipment/installations/{iid}/files/photo",
        files={"file": ("p.jpg", _png(), "image/jpeg")},
    )
    assert r.status_code == 200 and r.json()["photo_count"] == 1
    bad = osh.post(
        f"/api/v1/equipment/installations/{iid}/files/photo",
        files={"file": ("p.jpg", PDF, "image/jpeg")},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "file"]
    assert osh.get(f"/api/v1/equipment/installations/{iid}").json()["photo_count"] == 1
    hb = osh.post("/api/v1/equipment/heartbeats", json={"serial_no": inst["serial_no"]})
    assert hb.status_code == 200 and hb.json()["working"] is True


def test_other_enterprise_cannot_see_or_beat(client_as, world) -> None:
    inst = _register(client_as("osh_ala"), world, "build.fall")
    other = client_as("osh_krg")
    assert other.get(f"/api/v1/equipment/installations/{inst['id']}").status_code == 404
    assert (
        other.post("/api/v1/equipment/heartbeats", json={"installation_id": inst["id"]}).status_code
        == 404
    )
    listed = other.get("/api/v1/equipment/installations").json()["items"]
    assert inst["id"] not in {i["id"] for i in listed}


def test_bad_inputs_name_fields(client_as, world) -> None:
    osh = client_as("osh_ala")
    r = osh.post("/api/v1/equipment/heartbeats", json={})
    assert r.status_code == 422
    r = osh.post(
        "/api/v1/equipment/installations",
        json={
            "site_id": world.sites["mine_krg"],
            "requirement_code": "mine.methane",
            "serial_no": "X-1234",
            "commissioned_on": "2026-01-01",
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "site_id"]
    r = osh.post(
        "/api/v1/equipment/installations",
        json={
            "site_id": world.sites["build_ala"],
            "requirement_code": "build.fall",
            "serial_no": "bad serial!",
            "commissioned_on": "2026-01-01",
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "serial_no"


def test_compliance_by_region_for_industry(client_as) -> None:
    r = client_as("industry").get("/api/v1/equipment/compliance", params={"group_by": "region"})
    assert r.status_code == 200
    body = r.json()
    assert {"KZ-35", "KZ-75"} <= {row["key"] for row in body["rows"]}
    assert body["deadline"] == "2026-12-31"
    krg = client_as("inspector_krg").get("/api/v1/equipment/compliance").json()
    assert {row["key"] for row in krg["rows"]} == {"KZ-35"}
    assert client_as("insurer").get("/api/v1/equipment/compliance").status_code == 403
