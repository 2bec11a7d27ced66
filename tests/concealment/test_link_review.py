"""Review queue of ambiguous links: a run queues the record two registry workers fit equally;
only its region's inspectors see it; answers are audited revisions; the next run links by the
latest answer; bad answers are refused naming the field; the page renders in kk/ru/en."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)

API = "/api/v1/concealment/link-reviews"


def _item(client, evidence_id: int, **params) -> dict | None:
    r = client.get(API, params={"size": 100, **params})
    assert r.status_code == 200, r.text
    return next((i for i in r.json()["items"] if i["evidence_id"] == evidence_id), None)


def _answer(client, item_id: int, worker_id, reason: str = "hospital called back"):
    return client.post(f"{API}/{item_id}/resolutions",
                       json={"worker_id": worker_id, "reason": reason})  # fmt: skip


def test_a_run_queues_the_record_two_workers_fit_equally(twins, client_as, db, world) -> None:
    t = twins()
    assert t.stats["ambiguous"] >= 1
    krg = client_as("inspector_krg")
    item = _item(krg, t.evidence_id)
    assert item is not None and item["run_id"] == t.run_id
    assert item["region_code"] == "KZ-35" and item["source"] == "trauma_visit"
    by_worker = {c["worker_id"]: c for c in item["candidates"]}
    assert set(by_worker) == {t.krg_worker, t.ala_worker}
    assert by_worker[t.krg_worker]["enterprise_id"] == world.enterprises["mine_krg"]
    assert by_worker[t.ala_worker]["enterprise_id"] == world.enterprises["build_ala"]
    assert by_worker[t.ala_worker]["region_code"] == "KZ-75"
    assert all(0.3 < c["probability"] < 0.9 for c in item["candidates"])
    assert item["resolution"] is None
    # no link was stored for it
    from qorgau.concealment.models import Link

    db.expire_all()
    assert db.scalars(select(Link).where(Link.evidence_id == t.evidence_id)).all() == []
    # filters
    assert _item(krg, t.evidence_id, region="KZ-35", source="trauma_visit") is not None
    assert _item(krg, t.evidence_id, source="sick_leave") is None
    assert _item(client_as("analyst"), t.evidence_id, region="KZ-75") is None
    assert krg.get(API, params={"region": "Karaganda"}).json()["detail"][0]["loc"][-1] == "region"


def test_other_region_sees_nothing_and_employers_are_refused(twins, client_as, page_as, world):
    t = twins()
    item = _item(client_as("analyst"), t.evidence_id)
    assert item is not None  # the ministry sees every region
    ala = client_as("inspector_ala")
    assert _item(ala, t.evidence_id) is None
    assert _item(ala, t.evidence_id, region="KZ-35") is None
    r = ala.get(f"{API}/{item['id']}")
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert _answer(ala, item["id"], t.ala_worker).status_code == 404
    assert ala.get(f"{API}/{item['id']}/resolutions").status_code == 404
    for key in ("osh_krg", "osh_ala", "worker_krg", "hospital", "insurer", "akimat_krg"):
        c = client_as(key)
        assert c.get(API).status_code == 403, key
        assert c.get(f"{API}/{item['id']}").status_code == 403, key
        assert _answer(c, item["id"], t.krg_worker).status_code == 403, key
        page = page_as(key).get("/concealment/links")
        assert page.status_code == 403, key
    # the ministry reads but does not decide
    assert _answer(client_as("analyst"), item["id"], t.krg_worker).status_code == 403
    html = page_as("inspector_ala").get("/concealment/links?region=KZ-35").text
    assert f'id="item-{item["id"]}"' not in html


def test_answers_are_audited_revisions_and_the_next_run_links_by_the_latest(
    twins, rerun, client_as, db
) -> None:
    from qorgau.concealment.models import Link, LinkResolution
    from qorgau.core.audit import AuditEntry

    t = twins()
    krg = client_as("inspector_krg")
    item = _item(krg, t.evidence_id)
    first = _answer(krg, item["id"], t.ala_worker, "named the Almaty employer on the form")
    assert first.status_code == 201, first.text
    second = _answer(krg, item["id"], t.krg_worker, "hospital: the patient works at the mine")
    assert second.status_code == 201
    assert (first.json()["revision"], second.json()["revision"]) == (1, 2)
    history = krg.get(f"{API}/{item['id']}/resolutions").json()
    assert [(h["revision"], h["worker_id"]) for h in history] == [
        (1, t.ala_worker),
        (2, t.krg_worker),
    ]
    assert _item(krg, t.evidence_id)["resolution"]["revision"] == 2
    db.expire_all()
    rows = db.scalars(select(LinkResolution).where(LinkResolution.evidence_id == t.evidence_id))
    assert len(list(rows)) == 2  # the first answer is kept
    audits = list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "link_review.resolve")
            .where(AuditEntry.object_id == str(item["id"]))
            .order_by(AuditEntry.id)
        )
    )
    assert len(audits) == 2 and "inspector_krg" in audits[1].actor
    diff = audits[1].diff
    assert diff["before"]["worker"] == t.ala_worker and diff["after"]["worker"] == t.krg_worker

    run = rerun()
    db.expire_all()
    [link] = db.scalars(
        select(Link).where(Link.evidence_id == t.evidence_id, Link.target_type == "worker")
    ).all()
    assert (link.target_id, link.method, link.probability) == (t.krg_worker, "resolved", 1.0)
    assert link.run_id == run["id"] and run["stats"]["linked_resolved"] >= 1
    assert _item(krg, t.evidence_id) is None  # out of the new run's queue
    # still revisable through the item it was answered on: "none of these" unlinks it
    none = _answer(krg, item["id"], None, "neither: a visitor, not on the register")
    assert none.status_code == 201
    rerun()
    db.expire_all()
    assert db.scalars(select(Link).where(Link.evidence_id == t.evidence_id)).all() == []
    assert _item(krg, t.evidence_id) is None  # answered "none": not queued again


def test_bad_answers_are_refused_naming_the_field(twins, client_as, db, world) -> None:
    t = twins()
    krg = client_as("inspector_krg")
    item = _item(krg, t.evidence_id)
    url = f"{API}/{item['id']}/resolutions"
    cases = [
        ({"worker_id": 999_999_999, "reason": "looked it up"}, "worker_id"),
        ({"worker_id": t.krg_worker}, "reason"),
        ({"worker_id": t.krg_worker, "reason": "  "}, "reason"),
        ({"reason": "looked it up"}, "worker_id"),
        ({"worker_id": t.krg_worker, "reason": "ok ok", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = krg.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field, (body, r.json())
    r = krg.post(f"{API}/999999999/resolutions", json={"worker_id": None, "reason": "none"})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "item_id"
    assert krg.get(url).json() == []  # nothing was written


@pytest.mark.parametrize(
    ("lang", "heading", "none"),
    [
        ("en", "Ambiguous links", "None of these"),
        ("ru", "Неоднозначные связи", "Никто из них"),
        ("kk", "Екіұшты байланыстар", "Бұлардың ешқайсысы емес"),
    ],
)
def test_page_renders_and_answers_in_each_language(
    twins, client_as, page_as, world, lang, heading, none
) -> None:
    t = twins()
    item = _item(client_as("inspector_krg"), t.evidence_id)
    c = page_as("inspector_krg")
    r = c.get(f"/lang/{lang}?next=/concealment/links", follow_redirects=True)
    assert r.status_code == 200, r.text
    html = r.text
    assert f"<h1>{heading}</h1>" in html and none in html
    card = html[html.index(f'id="item-{item["id"]}"') :]
    card = card[: card.index("</li>")]
    for wid in (t.krg_worker, t.ala_worker):
        assert f'name="worker" value="{wid}"' in card
    assert f'href="/registry/enterprises/{world.enterprises["mine_krg"]}"' in card
    assert 'href="/concealment/links"' in html  # the tab
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = {"worker": str(t.krg_worker), "reason": "phoned the hospital", "csrf_token": csrf}
    posted = c.post(f"/concealment/links/{item['id']}/resolve", data=form)
    assert posted.status_code == 303, posted.text
    again = c.get("/concealment/links").text
    card = again[again.index(f'id="item-{item["id"]}"') :]
    assert "phoned the hospital" in card[: card.index("</li>")]
    bad = c.post(f"/concealment/links/{item['id']}/resolve", data=form | {"reason": ""})
    assert bad.status_code == 422
