"""Demo organisations and users, one per role, tied to enterprises of the generated twin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.accounts.models import Organisation, User
from qorgau.core import audit
from qorgau.core.roles import Role
from qorgau.core.security import SYSTEM_ACTOR, hash_password
from qorgau.registry import service as registry

# B105: the demo logins' published password (printed by `qorgau demo`), not a secret
DEMO_PASSWORD = "qorgau-demo-2026"  # nosec B105


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    organisation: str
    region: str | None


def _org_specs(db: Session) -> list[tuple[str, str, str, str | None, int | None, Role, str]]:
    mine = registry.demo_mine(db)
    builder = registry.demo_host(db, region="KZ-35", sections=("F",)) or registry.demo_host(
        db, region="KZ-75", sections=("F",)
    )
    specs = [
        (
            "admin",
            "Administrator",
            "ministry",
            None,
            None,
            Role.ADMIN,
            "MLSP — system administration",
        ),
        (
            "analyst",
            "Aigerim Nurlanova",
            "ministry",
            None,
            None,
            Role.MINISTRY_ANALYST,
            "Ministry of Labour and Social Protection",
        ),
        (
            "inspector.krg",
            "Yerlan Kassymov",
            "inspectorate",
            "KZ-35",
            None,
            Role.LABOUR_INSPECTOR,
            "Labour inspection department, Karaganda region",
        ),
        (
            "inspector.ala",
            "Dana Seitkali",
            "inspectorate",
            "KZ-75",
            None,
            Role.LABOUR_INSPECTOR,
            "Labour inspection department, Almaty",
        ),
        (
            "akimat.krg",
            "Marat Abenov",
            "akimat",
            "KZ-35",
            None,
            Role.AKIMAT,
            "Akimat of Karaganda region",
        ),
        (
            "mchs.krg",
            "Ruslan Ibraev",
            "emergency_ministry",
            "KZ-35",
            None,
            Role.EMERGENCY_INSPECTOR,
            "Industrial safety committee (MES), Karaganda region",
        ),
        (
            "rescue.krg",
            "Daniyar Zhumabekov",
            "mine_rescue",
            "KZ-35",
            None,
            Role.MINE_RESCUE,
            "Militarised mine rescue unit (MES), Karaganda region",
        ),
        (
            "industry",
            "Saule Tulegenova",
            "industry_ministry",
            None,
            None,
            Role.INDUSTRY_OFFICER,
            "Ministry of Industry and Construction",
        ),
        (
            "insurer",
            "Asel Zhakupova",
            "insurer",
            None,
            None,
            Role.INSURER,
            "Insurance company Qorgau-Demo Insurance JSC",
        ),
        (
            "hospital",
            "Gulnar Omarova",
            "hospital",
            "KZ-35",
            None,
            Role.HOSPITAL_CLERK,
            "Regional hospital No. 1, Karaganda",
        ),
    ]
    if mine is not None:
        specs.append(
            (
                "osh.mine",
                "Bolat Serikov",
                "enterprise",
                mine.region_code,
                mine.id,
                Role.EMPLOYER_OSH,
                mine.name,
            )
        )
        specs.append(
            (
                "worker.mine",
                "Nurlan Akhmetov",
                "enterprise",
                mine.region_code,
                mine.id,
                Role.WORKER,
                mine.name,
            )
        )
        specs.append(
            (
                "dispatcher.mine",
                "Yelena Pak",
                "enterprise",
                mine.region_code,
                mine.id,
                Role.SHIFT_DISPATCHER,
                mine.name,
            )
        )
    if builder is not None:
        specs.append(
            (
                "osh.build",
                "Olga Kim",
                "enterprise",
                builder.region_code,
                builder.id,
                Role.EMPLOYER_OSH,
                builder.name,
            )
        )
    return specs


def _organisation(
    db: Session, kind: str, name: str, region: str | None, enterprise_id: int | None
) -> Organisation:
    org = db.scalar(
        select(Organisation).where(Organisation.kind == kind, Organisation.name == name)
    )
    if org is None:
        org = Organisation(kind=kind, name=name, region_code=region, enterprise_id=enterprise_id)
        db.add(org)
        db.flush()
    return org


def demo_mine_enterprise(db: Session) -> int | None:
    """The enterprise of the demo mine's accounts once they exist (the ranking of
    `registry.demo_mine` can change as enterprises are registered; the accounts stay)."""
    return db.scalar(select(Organisation.enterprise_id).join(
        User, User.organisation_id == Organisation.id).where(User.username == "osh.mine"))


def ensure_demo_accounts(db: Session) -> list[DemoLogin]:
    """Idempotent: creates what is missing, returns every demo login."""
    logins = []
    for username, full_name, kind, region, ent_id, role, org_name in _org_specs(db):
        org = _organisation(db, kind, org_name, region, ent_id)
        if db.scalar(select(User.id).where(User.username == username)) is None:
            user = User(
                username=username,
                full_name=full_name,
                role=role.value,
                password_hash=hash_password(DEMO_PASSWORD),
                organisation_id=org.id,
                language="ru",
            )
            db.add(user)
            db.flush()
            audit.record(
                db,
                actor=SYSTEM_ACTOR,
                action="user.create",
                object_type="user",
                object_id=user.id,
                after={"username": username, "role": role.value},
            )
        logins.append(DemoLogin(username, role, org_name, region))
    db.commit()
    return logins
