"""Registry pages: login redirect, scoped list, language, card."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import World
from qorgau.accounts.models import User
from qorgau.core.security import hash_password

HTML = {"accept": "text/html"}


def _login(client: TestClient, db: Session, world: World, org_key: str, role: str) -> None:
    username = f"p{secrets.token_hex(4)}"
    db.add(
        User(
            username=username,
            full_name="Page Tester",
            role=role,
            password_hash=hash_password("page-password-1"),
            organisation_id=world.orgs[org_key],
        )
    )
    db.commit()
    r = client.post(
        "/login", data={"username": username, "password": "page-password-1"}, follow_redirects=False
    )
    assert r.status_code == 303


def test_anonymous_is_sent_to_login(client: TestClient, world: World) -> None:
    r = client.get("/registry?q=x", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/registry%3Fq%3Dx"


def test_inspector_sees_only_own_region_in_three_languages(
    client: TestClient, db: Session, world: World
) -> None:
    _login(client, db, world, "inspector_krg", "labour_inspector")
    page = client.get("/registry?lang=kk&q=Тестовая", headers=HTML)
    assert page.status_code == 200
    assert "Кәсіпорындар тізілімі" in page.text
    assert "Шахта «Тестовая» ТОО" in page.text.replace("&#34;", '"')
    assert "Алматы Құрылыс ЖШС" not in client.get("/registry?q=Құрылыс", headers=HTML).text
    assert "Реестр предприятий" in client.get("/registry?lang=ru", headers=HTML).text
    assert "Registry of enterprises" in client.get("/registry?lang=en", headers=HTML).text
    other = world.enterprises["build_ala"]
    r = client.get(f"/registry/enterprises/{other}", headers=HTML)
    assert r.status_code == 404
    assert "Алматы Құрылыс" not in r.text
    own = client.get(f"/registry/enterprises/{world.enterprises['mine_krg']}", headers=HTML)
    assert own.status_code == 200 and "KZ-35" not in own.text  # names, not codes


def test_language_switch_sets_cookie_and_redirects_locally(client: TestClient) -> None:
    r = client.get("/lang/kk?next=/registry", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/registry"
    assert "lang=kk" in r.headers["set-cookie"]
    r = client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_workers_page_masks_iins(client: TestClient, db: Session, world: World) -> None:
    _login(client, db, world, "osh_krg", "employer_osh")
    page = client.get(  # by name: other tests employ more workers at this mine
        f"/registry/workers?enterprise_id={world.enterprises['mine_krg']}&q=Қасымов0",
        headers=HTML,
    )
    assert page.status_code == 200
    assert "••••••••" in page.text
    assert "Қасымов0" in page.text
