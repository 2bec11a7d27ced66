"""Tenant isolation in the alarms domain: what one tenant must not learn of another's, nor
change, through names that must be unique, the live stream and the caller's own channels."""

from __future__ import annotations

import secrets
import threading
import time

from fastapi.testclient import TestClient

from qorgau.alarms import routing
from qorgau.alarms.models import Contact
from qorgau.alarms.schemas import ContactIn

API = "/api/v1/alarms"


# --- gateway names: unique for the broker, but no oracle of another tenant's ------------------

def test_another_enterprises_gateway_name_is_not_told(client_as, world, mine):
    """Almaty posts, for its own site, the name Karaganda's gateway has: answered like any
    free name (its account is in Almaty's own namespace), not 409 "taken"."""
    ala = client_as("osh_ala")
    site = world.sites["build_ala"]
    taken = ala.post(f"{API}/gateways", json={"site_id": site, "name": mine.gateway})
    fresh = ala.post(f"{API}/gateways", json={"site_id": site,
                                              "name": f"free-{secrets.token_hex(4)}"})
    assert fresh.status_code == 201, fresh.text
    assert taken.status_code == fresh.status_code, taken.text
    assert taken.json()["name"] != mine.gateway  # Karaganda's account stays its own
    # one's own site's names are one's own to be told about
    again = client_as("osh_krg").post(f"{API}/gateways", json={"site_id": mine.site_id,
                                                               "name": mine.gateway})
    assert again.status_code == 409


# --- the live stream: another tenant's site is unknown, its activity unseen -------------------

def _stream(client, query: str, site_id: int, seconds: float) -> tuple[int, bytes]:
    """Stream for `seconds` while `site_id` is busy (a hub message every 50 ms)."""
    from qorgau.alarms.notify import HUB

    stop = threading.Event()

    def busy():
        while not stop.is_set():
            HUB.publish(site_id, {"type": "alarm", "id": 0, "state": "unacknowledged"})
            time.sleep(0.05)

    t = threading.Thread(target=busy, daemon=True)
    t.start()
    try:
        with client.stream("GET", f"{API}/stream?{query}max_s={seconds}") as r:
            return r.status_code, b"".join(r.iter_bytes())
    finally:
        stop.set()
        t.join()


def test_stream_of_another_tenants_site_is_not_found(client_as, mine):
    status, _body = _stream(client_as("osh_ala"), f"site_id={mine.site_id}&", mine.site_id,
                            0.5)
    assert status == 404  # as for a site that does not exist, not a stream of its wake-ups


def test_stream_does_not_tell_another_tenants_activity(client_as, mine):
    """Almaty's stream of all its sites: its bytes are the same whether or not a Karaganda
    mine is busy (before: every hub message of any site swallowed that second's keep-alive,
    so the keep-alive cadence told another tenant's alarm activity)."""
    status, body = _stream(client_as("osh_ala"), "", mine.site_id, 2.6)
    assert status == 200
    assert body.count(b": keep-alive") >= 2, body


# --- "my channels": a person moved to another enterprise --------------------------------------

def test_moved_person_loses_the_old_enterprises_channels(app, db, world, as_, mine):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import open_session

    u = User(username=f"moved-{secrets.token_hex(3)}", full_name="Moved Dispatcher",
             role="dispatcher", password_hash="x", organisation_id=world.orgs["dispatcher_krg"])
    db.add(u)
    db.commit()
    c = routing.add_contact(db=db, actor=as_("osh_krg"), data=ContactIn(
        site_id=mine.site_id, tier=1, role="dispatcher", channel="sms", target="+77010000151",
        user_id=u.id))
    u.organisation_id = world.orgs["osh_ala"]  # now with the Almaty enterprise
    db.commit()
    token, _ = open_session(db, user=u, kind="bearer")
    me = TestClient(app, base_url="https://testserver",
                    headers={"Authorization": f"Bearer {token}"})
    rows = me.get(f"{API}/my-channels")
    assert rows.status_code == 200
    assert c.id not in {r["id"] for r in rows.json()}  # Karaganda's tier, phone, site
    r = me.put(f"{API}/my-channels/{c.id}", json={"target": "+77019999151"})
    assert r.status_code == 404  # would redirect Karaganda's alarms to any number
    db.expire_all()
    assert db.get(Contact, c.id).target == "+77010000151"
