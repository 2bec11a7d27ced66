"""A database outage while the enterprise card is assembled answers 503; it never returns a card
with parts quietly missing (an inspector would read "no accidents"). The request's own
PostgreSQL backend is terminated by a card part, as a server restart would."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from conftest import PG_ADMIN
from qorgau.core.roles import Role
from qorgau.geo.layers import LAYERS, register_layer

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _drops_its_connection(db: Any, actor: Any, ent: Any) -> dict[str, Any]:
    pid = db.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    db.execute(text("SELECT 1"))
    return {"never": "reached"}


def _broken(db: Any, actor: Any, ent: Any) -> dict[str, Any]:
    raise ValueError("a bug in another domain's card part")


@pytest.mark.parametrize(("card_fn", "status"), [(_drops_its_connection, 503), (_broken, 200)])
def test_card_part_outage_is_503_a_bug_is_left_out(
    client_as, geo_world, world, card_fn, status
) -> None:
    register_layer("test_card_part", label="Test part", roles=[Role.LABOUR_INSPECTOR],
                   card_fn=card_fn, card_only=True)  # fmt: skip
    try:
        mine = world.enterprises["mine_krg"]
        r = client_as("inspector_krg").get(f"/api/v1/map/enterprises/{mine}/card")
    finally:
        LAYERS.pop("test_card_part", None)
    assert r.status_code == status, r.text
    if status == 503:
        assert r.headers["retry-after"] == "5"
    else:
        assert r.json()["id"] == mine and "test_card_part" not in r.json()["parts"]
