"""Run as a subprocess with QORGAU_DATABASE_URL set: create an enterprise with a site, its OSH
officer (bearer token and page session) and a state system's API key for the employment-contract
feed; print them as one JSON line. A separate process, so the test process's own settings stay
untouched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factories import make_bin


def main() -> None:
    from qorgau.accounts import service as accounts
    from qorgau.accounts.models import Organisation, User
    from qorgau.accounts.schemas import ApiKeyIn
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR, hash_password
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn, SiteIn

    with get_sessionmaker()() as db:
        ent = registry.create_enterprise(
            db=db,
            actor=SYSTEM_ACTOR,
            data=EnterpriseIn(
                bin=make_bin(), name="Шахта «Сенім» ТОО", activity_code="05",
                region_code="KZ-35", lon=73.1, lat=49.8, size_band="large", hazardous=True,
            ),
        )
        site = registry.create_site(
            db=db,
            actor=SYSTEM_ACTOR,
            data=SiteIn(enterprise_id=ent.id, kind="mine", name="Шахта — участок 1",
                        lon=73.11, lat=49.81),
        )
        org = Organisation(kind="enterprise", name="Сенім", region_code="KZ-35",
                           enterprise_id=ent.id)
        system = Organisation(kind="state_system", name="Employment contracts system")
        db.add_all([org, system])
        db.flush()
        user = User(username="osh-senim", full_name="OSH officer", role="employer_osh",
                    password_hash=hash_password("fault-test-password"), organisation_id=org.id)
        db.add(user)
        db.commit()
        token, _ = accounts.open_session(db, user=user, kind="bearer")
        cookie, _ = accounts.open_session(db, user=user, kind="cookie")
        key, _ = accounts.create_api_key(
            db,
            actor=SYSTEM_ACTOR,
            data=ApiKeyIn(name="contracts", organisation_id=system.id,
                          feed="employment-contracts", rate_per_minute=100_000),
        )
        print(json.dumps({"enterprise_id": ent.id, "bin": ent.bin, "site_id": site.id,
                          "token": token, "cookie": cookie, "feed_key": key}))


if __name__ == "__main__":
    main()
