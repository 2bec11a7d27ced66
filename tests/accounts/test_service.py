"""Lookups other domains make through accounts.service."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from conftest import World
from qorgau.accounts import service
from qorgau.accounts.models import User
from qorgau.core.roles import Role


def test_region_user_ids_are_active_users_of_the_role_in_the_region(
    db: Session, world: World
) -> None:
    gone = User(
        username=f"gone{secrets.token_hex(4)}",
        full_name="Retired inspector",
        role="labour_inspector",
        password_hash="x",
        organisation_id=world.orgs["inspector_krg"],
        active=False,
    )
    db.add(gone)
    db.commit()
    krg = service.region_user_ids(db=db, region_code="KZ-35", role=Role.LABOUR_INSPECTOR)
    assert world.users["inspector_krg"] in krg
    assert world.users["inspector_ala"] not in krg  # other region
    assert world.users["akimat_krg"] not in krg  # other role
    assert gone.id not in krg  # inactive
    assert krg == sorted(krg)  # oldest account first: an accident goes to the same inspector
    ala = service.region_user_ids(db=db, region_code="KZ-75", role=Role.LABOUR_INSPECTOR)
    assert world.users["inspector_ala"] in ala and not set(ala) & set(krg)
