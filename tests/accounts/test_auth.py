"""Login, tokens, throttling, cookies, CSRF and API keys."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import World
from qorgau.accounts.models import Organisation, User
from qorgau.core.security import hash_password


def _user(db: Session, world: World, password: str = "correct-horse-1") -> str:
    username = f"u{secrets.token_hex(4)}"
    db.add(User(username=username, full_name="Test", role="labour_inspector",
                password_hash=hash_password(password), organisation_id=world.orgs["inspector_krg"]))
    db.commit()
    return username


def test_token_login_and_me(client: TestClient, db: Session, world: World) -> None:
    username = _user(db, world)
    r = client.post("/api/v1/auth/token", json={"username": username,
                                                "password": "correct-horse-1"})
    assert r.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["region"] == "KZ-35" and me.json()["role"] == "labour_inspector"


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient, db: Session, world: World
) -> None:
    username = _user(db, world)
    a = client.post("/api/v1/auth/token", json={"username": username, "password": "nope-nope"})
    b = client.post("/api/v1/auth/token", json={"username": "nobody-" + username,
                                                "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_repeated_failures_lock_the_account(client: TestClient, db: Session, world: World) -> None:
    username = _user(db, world)
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "bad-pass"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": username,
                                                "password": "correct-horse-1"})
    assert r.status_code == 429


def test_no_credentials_is_401(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/enterprises").status_code == 401
    r = client.get("/api/v1/enterprises", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401


def test_page_login_sets_hardened_cookie_and_forms_need_csrf(
    client: TestClient, db: Session, world: World
) -> None:
    username = _user(db, world)
    r = client.post("/login", data={"username": username, "password": "correct-horse-1",
                                    "next": "/registry"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/registry"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    page = client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    r = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    # API writes from a cookie session need the CSRF header too.
    r = client.post("/api/v1/sites", json={})
    assert r.status_code == 403


def test_login_redirect_is_never_off_site(client: TestClient, db: Session, world: World) -> None:
    username = _user(db, world)
    r = client.post("/login", data={"username": username, "password": "correct-horse-1",
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_api_key_lifecycle(
    client_as: Callable[[str], TestClient], client: TestClient, db: Session, world: World
) -> None:
    org = Organisation(kind="state_system", name="ESUTD")
    db.add(org)
    db.commit()
    admin = client_as("admin")
    created = admin.post("/api/v1/api-keys", json={"name": "esutd", "organisation_id": org.id,
                                                    "feed": "employment-contracts"})
    assert created.status_code == 201
    key = created.json()["key"]
    me = client.get("/api/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["role"] == "system"
    rotated = admin.post(f"/api/v1/api-keys/{created.json()['id']}/rotate").json()
    assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/api/v1/me", headers={"X-API-Key": rotated["key"]}).status_code == 200
    # Only admins manage keys.
    r = client_as("inspector_krg").post("/api/v1/api-keys", json={
        "name": "x", "organisation_id": org.id, "feed": "x"})
    assert r.status_code == 403
