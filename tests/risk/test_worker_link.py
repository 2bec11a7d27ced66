"""Worker ↔ account link: the OSH officer links a worker account to its registry worker; the
worker then confirms their own instruction, only for hazards of their work; other enterprises'
users can neither link, confirm nor read."""

from __future__ import annotations

import secrets
from datetime import date, timedelta


def _instructed_hazard(c, ent: int, occupation: str) -> int:
    # the assessment below is in the 5×5 matrix; other tests may switch the enterprise's method
    assert c.put(f"/api/v1/risk/settings/{ent}", json={"method": "matrix_5x5"}).status_code == 200
    r = c.post(
        "/api/v1/risk/hazards",
        json={
            "enterprise_id": ent,
            "hazard_type": "gas",
            "description": f"Methane at the face {secrets.token_hex(3)}",
            "occupation": occupation,
        },
    )
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    r = c.post(
        "/api/v1/risk/assessments",
        json={
            "hazard_id": hid,
            "initial": {"likelihood": 3, "severity": 5},
            "controls": [
                {"level": "engineering", "text": "Degassing boreholes"},
                {
                    "level": "administrative",
                    "text": "Gas check before entry",
                    "requires_instruction": True,
                },
            ],
        },
    )
    assert r.status_code == 201, r.text
    return hid


def _worker_user(db, world, enterprise_key: str) -> int:
    """An extra worker account at another enterprise (the world has one only at the mine)."""
    from qorgau.accounts.models import Organisation, User
    from qorgau.core.security import hash_password

    org = Organisation(
        kind="enterprise",
        name="Org extra",
        region_code="KZ-75",
        enterprise_id=world.enterprises[enterprise_key],
    )
    db.add(org)
    db.flush()
    user = User(
        username=f"worker-{secrets.token_hex(3)}",
        full_name="W",
        role="worker",
        password_hash=hash_password("test-password-123"),
        organisation_id=org.id,
    )
    db.add(user)
    db.commit()
    return user.id


def _client_for(app, db, user_id: int):
    from fastapi.testclient import TestClient

    from qorgau.accounts import service
    from qorgau.accounts.models import User

    token, _ = service.open_session(db, user=db.get(User, user_id), kind="bearer")
    c = TestClient(app, base_url="https://testserver")
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def _fresh_miners(db, enterprise_id: int, n: int) -> list[int]:
    from factories import make_bin, make_iin
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EmploymentIn, WorkerIn

    bin_ = db.get(Enterprise, enterprise_id).bin
    return [registry.register_employment(db=db, actor=SYSTEM_ACTOR, data=EmploymentIn(
        contract_no=f"WL-{make_bin()}", worker=WorkerIn(iin=make_iin(), last_name="Test",
                                                        first_name=f"Miner{i}"),
        enterprise_bin=bin_, occupation="miner",
        start_date=date.today() - timedelta(days=30))).worker_id for i in range(n)]


def test_linked_worker_confirms_own_instruction_only(app, db, client_as, world):
    mine = world.enterprises["mine_krg"]
    osh, worker = client_as("osh_krg"), client_as("worker_krg")
    # two miners of its own: the shared world's miners may have changed employer in other tests
    me, colleague = _fresh_miners(db, mine, 2)
    hid = _instructed_hazard(osh, mine, "miner")
    other_job = _instructed_hazard(osh, mine, "electrician")

    # not linked yet: the page's API says so and a confirmation is refused
    assert worker.get("/api/v1/risk/my-instructions").json() == {
        "worker_id": None,
        "linked": False,
        "items": [],
    }
    r = worker.post("/api/v1/risk/instructions", json={"hazard_id": hid})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "worker_id"

    # only the enterprise's own OSH officer links, and only a worker account of the enterprise
    link = {"user_id": world.users["worker_krg"], "worker_id": me}
    r = client_as("osh_ala").post("/api/v1/risk/worker-accounts", json=link)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "worker_id"
    assert (
        client_as("inspector_krg").post("/api/v1/risk/worker-accounts", json=link).status_code
        == 403
    )
    r = osh.post("/api/v1/risk/worker-accounts", json={**link, "user_id": world.users["osh_krg"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "user_id"
    r = osh.post("/api/v1/risk/worker-accounts", json=link)
    assert r.status_code == 201, r.text
    link_id = r.json()["id"]
    try:
        assert osh.post("/api/v1/risk/worker-accounts", json=link).status_code == 409
        r = osh.post("/api/v1/risk/worker-accounts", json={**link, "worker_id": colleague})
        assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "user_id"
        assert client_as("osh_ala").get(f"/api/v1/risk/worker-accounts/{mine}").status_code == 404
        assert worker.get(f"/api/v1/risk/worker-accounts/{mine}").status_code == 403
        listed = osh.get(f"/api/v1/risk/worker-accounts/{mine}").json()
        assert (link["user_id"], me) in [(x["user_id"], x["worker_id"]) for x in listed]

        mine_view = worker.get("/api/v1/risk/my-instructions").json()
        assert mine_view["linked"] and mine_view["worker_id"] == me
        item = next(i for i in mine_view["items"] if i["hazard_id"] == hid)
        assert item["state"] == "missing"
        assert [c["text"] for c in item["controls"]] == ["Gas check before entry"]
        assert all(i["hazard_id"] != other_job for i in mine_view["items"])

        # for a colleague: forbidden; backdated: refused; another occupation's hazard: refused
        r = worker.post(
            "/api/v1/risk/instructions", json={"hazard_id": hid, "worker_id": colleague}
        )
        assert r.status_code == 403
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        r = worker.post(
            "/api/v1/risk/instructions", json={"hazard_id": hid, "confirmed_on": yesterday}
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "confirmed_on"
        r = worker.post("/api/v1/risk/instructions", json={"hazard_id": other_job})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "hazard_id"

        r = worker.post("/api/v1/risk/instructions", json={"hazard_id": hid})
        assert r.status_code == 201, r.text
        assert (r.json()["worker_id"], r.json()["on_behalf"]) == (me, False)
        item = next(
            i
            for i in worker.get("/api/v1/risk/my-instructions").json()["items"]
            if i["hazard_id"] == hid
        )
        assert item["state"] == "current" and item["confirmed_on"] == date.today().isoformat()
        gap = osh.get(f"/api/v1/risk/instruction-gap/{mine}").json()["gaps"]
        assert not any(g["worker_id"] == me and g["hazard_id"] == hid for g in gap)
        assert any(g["worker_id"] == colleague and g["hazard_id"] == hid for g in gap)

        # a worker of another enterprise cannot confirm or even see the mine's hazard
        outsider = _client_for(app, db, _worker_user(db, world, "build_ala"))
        r = outsider.post("/api/v1/risk/instructions", json={"hazard_id": hid})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "hazard_id"
        assert outsider.get(f"/api/v1/risk/hazards/{hid}").status_code == 404
        assert outsider.get("/api/v1/risk/my-instructions").json()["linked"] is False
    finally:
        r = osh.delete(f"/api/v1/risk/worker-accounts/link/{link_id}")
    assert r.status_code == 200 and r.json()["unlinked_at"] is not None
    r = worker.post("/api/v1/risk/instructions", json={"hazard_id": hid})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "worker_id"
    assert osh.delete(f"/api/v1/risk/worker-accounts/link/{link_id}").status_code == 404


def test_officer_still_records_on_behalf_and_must_name_the_worker(client_as, world, db):
    mine = world.enterprises["mine_krg"]
    osh = client_as("osh_krg")
    hid = _instructed_hazard(osh, mine, "miner")
    r = osh.post("/api/v1/risk/instructions", json={"hazard_id": hid})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "worker_id"
    wid = _fresh_miners(db, mine, 1)[0]
    r = osh.post("/api/v1/risk/instructions", json={"hazard_id": hid, "worker_id": wid})
    assert r.status_code == 201 and r.json()["on_behalf"] is True
