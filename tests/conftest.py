"""Shared fixtures: a migrated database per backend (SQLite and the real PostgreSQL), a small
world of organisations/users/enterprises, and API clients authenticated as any role."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from factories import make_bin, make_iin

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
BACKENDS = ["sqlite", "postgresql"]

os.environ.setdefault("QORGAU_ENV", "test")
# Tests read roll-ups and counters right after a batch: the ledger writes them in every batch
# here; tests/alarms/test_ledger.py and the kill -9 test run it as deployed (every few seconds).
os.environ.setdefault("QORGAU_ALARM_FLUSH_S", "0")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` keeps an `xdist_group`'s tests on one worker by a suffix on their
    node ids, which pytest-xdist 3.8 writes to `item._nodeid`: pytest 9.2 keeps node ids
    elsewhere (`_id`), so the groups were silently ignored (pytest-dev/pytest-xdist#1386) —
    the two PostgreSQL restart tests could run at once on both workers, and the route
    matrix was built on each. The suffix is written where pytest 9.2 reads it, until an
    xdist release does (`tests/test_xdist_groups.py` fails if grouping breaks again)."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and item.nodeid.rfind("@") <= item.nodeid.rfind("]"):
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


def _point_settings_at(url: str, var_dir: Path) -> None:
    from qorgau.core.config import get_settings
    from qorgau.core.db import reset_engine

    os.environ["QORGAU_DATABASE_URL"] = url
    os.environ["QORGAU_VAR_DIR"] = str(var_dir)
    get_settings.cache_clear()
    reset_engine()


def create_pg_database() -> tuple[str, Callable[[], None]]:
    name = f"qorgau_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from qorgau.core.db import reset_engine

        reset_engine()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database; PostgreSQL ones are dropped after the run."""
    from qorgau.core.migrate import upgrade

    var_dir = tmp_path_factory.mktemp(f"var-{request.param}")
    if request.param == "sqlite":
        url, drop = f"sqlite:///{var_dir / 'test.sqlite3'}", (lambda: None)
    else:
        url, drop = create_pg_database()
    _point_settings_at(url, var_dir)
    upgrade(url)
    yield url
    drop()


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as session:
        yield session


@dataclass
class World:
    """Two regions (Karaganda KZ-35, Almaty city KZ-75), an enterprise in each, a user per role."""

    enterprises: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)


WORLD_USERS = [
    # key, role, org kind, region, enterprise key
    ("admin", "admin", "ministry", None, None),
    ("analyst", "ministry_analyst", "ministry", None, None),
    ("inspector_krg", "labour_inspector", "inspectorate", "KZ-35", None),
    ("inspector_ala", "labour_inspector", "inspectorate", "KZ-75", None),
    ("akimat_krg", "akimat", "akimat", "KZ-35", None),
    ("mchs_krg", "emergency_inspector", "emergency_ministry", "KZ-35", None),
    ("industry", "industry_officer", "industry_ministry", None, None),
    ("osh_krg", "employer_osh", "enterprise", "KZ-35", "mine_krg"),
    ("osh_ala", "employer_osh", "enterprise", "KZ-75", "build_ala"),
    ("worker_krg", "worker", "enterprise", "KZ-35", "mine_krg"),
    ("dispatcher_krg", "dispatcher", "enterprise", "KZ-35", "mine_krg"),
    ("rescue_krg", "mine_rescue", "mine_rescue", "KZ-35", None),
    ("insurer", "insurer", "insurer", None, None),
    ("hospital", "hospital_clerk", "hospital", "KZ-35", None),
]

ENTERPRISES = {
    "mine_krg": ("KZ-35", "05", "Шахта «Тестовая» ТОО", 73.10, 49.80, "large", True),
    "build_ala": ("KZ-75", "41", "Алматы Құрылыс ЖШС", 76.90, 43.25, "medium", False),
}


@pytest.fixture(scope="session")
def world(db_url: str) -> World:
    from qorgau.accounts.models import Organisation, User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR, hash_password
    from qorgau.registry import service
    from qorgau.registry.schemas import EmploymentIn, EnterpriseIn, SiteIn, WorkerIn

    w = World()
    with get_sessionmaker()() as db:
        for key, (region, oked, name, lon, lat, size, hazardous) in ENTERPRISES.items():
            ent = service.create_enterprise(
                db=db,
                actor=SYSTEM_ACTOR,
                data=EnterpriseIn(
                    bin=make_bin(),
                    name=name,
                    activity_code=oked,
                    region_code=region,
                    lon=lon,
                    lat=lat,
                    size_band=size,
                    hazardous=hazardous,
                ),
            )
            w.enterprises[key] = ent.id
            site = service.create_site(
                db=db,
                actor=SYSTEM_ACTOR,
                data=SiteIn(
                    enterprise_id=ent.id,
                    kind="mine" if oked == "05" else "construction",
                    name=f"{name} — site",
                    lon=lon + 0.01,
                    lat=lat + 0.01,
                ),
            )
            w.sites[key] = site.id
            for i in range(3):
                service.register_employment(
                    db=db,
                    actor=SYSTEM_ACTOR,
                    data=EmploymentIn(
                        contract_no=f"T-{ent.id}-{i}",
                        worker=WorkerIn(
                            iin=make_iin(), last_name=f"Қасымов{i}", first_name="Ерлан"
                        ),
                        enterprise_bin=ent.bin,
                        occupation="miner",
                        start_date=date(2023, 1, 1),
                    ),
                )
        password = hash_password("test-password-123")
        for key, role, kind, region, ent_key in WORLD_USERS:
            org = Organisation(
                kind=kind,
                name=f"Org {key}",
                region_code=region,
                enterprise_id=w.enterprises.get(ent_key) if ent_key else None,
            )
            db.add(org)
            db.flush()
            user = User(
                username=f"{key}-{secrets.token_hex(3)}",
                full_name=key,
                role=role,
                password_hash=password,
                organisation_id=org.id,
            )
            db.add(user)
            db.flush()
            w.orgs[key], w.users[key] = org.id, user.id
        db.commit()
    return w


@pytest.fixture(scope="session")
def app(db_url: str):
    from qorgau.app import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture(scope="session")
def client_as(app, world: World) -> Callable[[str], TestClient]:
    """client_as("inspector_krg") → a TestClient sending that user's bearer token."""
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker

    def make(key: str) -> TestClient:
        with get_sessionmaker()() as db:
            user = db.get(User, world.users[key])
            token, _ = service.open_session(db, user=user, kind="bearer")
        c = TestClient(app, base_url="https://testserver")
        c.headers["Authorization"] = f"Bearer {token}"
        return c

    return make
