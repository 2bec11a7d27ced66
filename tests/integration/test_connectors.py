"""Connector contract tests: every sample file parses, maps, round-trips and validates; the HTTP
driver reads the same records; applying a sample twice changes nothing the second time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from integration.integ_helpers import envelope
from qorgau.integration.connectors import CONNECTORS

FEEDS = sorted(CONNECTORS)


@pytest.mark.parametrize("feed", FEEDS)
def test_sample_parses_maps_and_round_trips(feed):
    from qorgau.integration.bulk import validate_rows

    c = CONNECTORS[feed]
    records = c.read_file(c.sample_path())
    assert len(records) >= 3
    assert c.parse(c.render(records)) == c.parse(c.sample_path().read_text())  # file driver
    rows = c.rows(records)
    assert [c.to_row(c.to_source(r)) for r in rows] == rows  # mapping is lossless both ways
    parsed, errors = validate_rows(c.handler.row_model, rows)
    assert errors == [] and len(parsed) == len(rows)


@pytest.mark.parametrize("feed", FEEDS)
def test_http_driver_follows_pages_and_reads_files(feed):
    c = CONNECTORS[feed]
    records = c.read_file(c.sample_path())
    text = c.sample_path().read_text()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/csv":
            return httpx.Response(200, text=text, headers={"content-type": "text/plain"})
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json={"items": records[2:], "next": None})
        assert request.url.params.get("since") == "2026-11-01"
        return httpx.Response(
            200, json={"items": records[:2], "next": "https://src.example/api?page=2"}
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert c.fetch_http(client, "https://src.example/api", since="2026-11-01") == records
        assert c.fetch_http(client, "https://src.example/csv") == records


def test_bad_source_record_is_a_clear_error(db, key_for):
    from qorgau.integration import service

    out = service.ingest_records(
        db=db,
        actor=_actor(db, key_for, "employment-contracts"),
        feed="employment-contracts",
        records=[{"contract": "x"}],
        delivery_id="bad",
    )
    assert out.status == "rejected"
    assert [(e.row, e.field) for e in out.errors] == [(0, "event_type")]


def _actor(db, key_for, feed, **kw):
    from qorgau.accounts import service as accounts

    key, _ = key_for(feed, **kw)
    return accounts.resolve_api_key(db, key=key)


def _fresh(records: list[dict]) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    for r in records:
        for k in ("event_time", "UPDATED"):
            if k in r:
                r[k] = now
    return records


def test_registry_samples_apply_and_rerun_changes_nothing(db, key_for):
    from qorgau.integration import service

    for feed in ("business-register", "employment-contracts"):
        c = CONNECTORS[feed]
        actor = _actor(db, key_for, feed)
        first = service.ingest_records(
            db=db,
            actor=actor,
            feed=feed,
            records=_fresh(c.read_file(c.sample_path())),
            delivery_id=c.sample,
        )
        assert first.status == "applied", first.errors
        again = service.ingest_records(
            db=db,
            actor=actor,
            feed=feed,
            records=_fresh(c.read_file(c.sample_path())),
            delivery_id=c.sample,
        )
        assert again.status == "applied"
        assert set(again.results) == {"unchanged"}, (feed, again.results)


def _through_api(feed_client, feed, **kw):
    c = CONNECTORS[feed]
    client = feed_client(feed, **kw)
    rows = c.rows(_fresh(c.read_file(c.sample_path())))
    return client, rows


@pytest.mark.parametrize("feed", ["trauma_visit", "sick_leave", "insurance_claim"])
def test_evidence_feeds_reach_concealment_idempotently(db, key_for, feed_client, feed):
    from qorgau.integration import service

    service.ingest_records(
        db=db,
        actor=_actor(db, key_for, "business-register"),
        feed="business-register",
        records=_fresh(
            CONNECTORS["business-register"].read_file(CONNECTORS["business-register"].sample_path())
        ),
        delivery_id="br",
    )
    client, rows = _through_api(
        feed_client,
        feed,
        region="KZ-35",
        kind="hospital" if feed != "insurance_claim" else "insurer",
    )
    r = client.post(f"/api/v1/feeds/{feed}", json=envelope(rows))
    assert r.status_code == 200, r.text
    assert set(r.json()["results"]) <= {"created", "unchanged"}
    r2 = client.post(f"/api/v1/feeds/{feed}", json=envelope(rows))
    assert r2.status_code == 200 and set(r2.json()["results"]) == {"unchanged"}


def test_insurance_contracts_feed(db, key_for, feed_client):
    client, rows = _through_api(feed_client, "insurance-contracts", kind="insurer")
    r = client.post("/api/v1/feeds/insurance-contracts", json=envelope(rows))
    # the insurance domain checks premiums against the tariff; a row-level answer either way
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert all({"row", "field", "reason"} <= set(e) for e in r.json()["errors"])
        return
    r2 = client.post("/api/v1/feeds/insurance-contracts", json=envelope(rows))
    assert set(r2.json()["results"]) == {"unchanged"}


def test_hpf_register_applies_updates_and_rejects_unknown_owner(db, key_for, feed_client):
    from sqlalchemy import func, select

    from qorgau.core.audit import AuditEntry
    from qorgau.inspections.models import HazardousFacility
    from qorgau.integration import service

    br = CONNECTORS["business-register"]
    service.ingest_records(db=db, actor=_actor(db, key_for, "business-register"),
                           feed="business-register", records=_fresh(br.read_file(
                               br.sample_path())), delivery_id="br-hpf")
    client, rows = _through_api(feed_client, "hpf-register")
    r = client.post("/api/v1/feeds/hpf-register", json=envelope(rows))
    assert r.status_code == 200, r.text
    assert set(r.json()["results"]) <= {"created", "unchanged"}
    fac = db.scalar(select(HazardousFacility).where(HazardousFacility.reg_no == rows[0][
        "facility_no"]))
    assert fac.hazard_class == 1 and fac.lat == rows[0]["lat"] and fac.region_code == "KZ-35"
    again = client.post("/api/v1/feeds/hpf-register", json=envelope(rows))
    assert set(again.json()["results"]) == {"unchanged"}
    changed = client.post("/api/v1/feeds/hpf-register",
                          json=envelope([{**rows[0], "hazard_class": "II"}]))
    assert changed.json()["results"] == ["updated"]
    db.expire_all()
    assert db.get(HazardousFacility, fac.id).hazard_class == 2
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "hpf.facility.update", AuditEntry.object_id == str(fac.id))) >= 1
    unknown = {**rows[1], "owner_bin": "999999999999", "facility_no": "HPF-X-1"}
    bad = client.post("/api/v1/feeds/hpf-register",
                      json=envelope([{**rows[0], "name": "Renamed"}, unknown]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "owner_bin"
    db.expire_all()
    assert db.get(HazardousFacility, fac.id).name == rows[0]["name"]  # nothing half-applied
    worse = client.post("/api/v1/feeds/hpf-register",
                        json=envelope([{**rows[0], "hazard_class": "V"}]))
    assert worse.status_code == 422 and worse.json()["errors"][0]["field"] == "hazard_class"


def test_unknown_feed_is_404(feed_client):
    c = feed_client("employment-contracts")
    assert c.post("/api/v1/feeds/nope", json=envelope([{"a": 1}])).status_code == 404


def test_samples_are_utf8_json_or_csv():
    for c in CONNECTORS.values():
        text = c.sample_path().read_text(encoding="utf-8")
        if c.source_format == "jsonl":
            assert all(json.loads(line) for line in text.splitlines())
        else:
            assert ";" in text.splitlines()[0]
