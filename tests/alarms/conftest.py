"""Alarm test fixtures: a mine site with zones, devices, a gateway, and actors."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import pytest

_codes = itertools.count(1)
ZONES = [{"code": "L1", "name": "Longwall 1", "kind": "working"},
         {"code": "L2", "name": "Longwall 2", "kind": "working"},
         {"code": "SAFE", "name": "Shaft station", "kind": "safe"}]


def actor(db, world, key):
    from qorgau.accounts.models import User
    from qorgau.accounts.service import actor_for_user

    return actor_for_user(db.get(User, world.users[key]))


@pytest.fixture(autouse=True)
def _no_backlog_of_earlier_tests(request):
    """Earlier tests' undelivered notifications (their contacts' endpoints long gone) closed
    before each test that has a database: a tick or `deliver` sends the whole backlog, and
    theirs took 15–30 s of retry backoff in each test that ticked, late in the suite. Each
    worker process has its own databases, so no running test's rows are touched."""
    if "db_url" not in request.fixturenames:
        return
    from sqlalchemy import update

    from qorgau.alarms.models import Notification
    from qorgau.core.db import get_sessionmaker

    request.getfixturevalue("db_url")
    with get_sessionmaker()() as s:
        s.execute(update(Notification).where(Notification.status.in_(("pending", "sending")))
                  .values(status="failed", error="left undelivered by an earlier test"))
        s.commit()


@pytest.fixture
def as_(db, world):
    """as_("osh_krg") → that world user's Actor."""
    return lambda key: actor(db, world, key)


@dataclass
class Mine:
    site_id: int
    devices: dict[str, int] = field(default_factory=dict)
    gateway: str = ""
    key: str = ""
    seq: dict[str, int] = field(default_factory=dict)

    def timed(self, code: str, rows: list[tuple[float, float]]) -> dict:
        """A batch of one device's values at given epoch times (t, v), sequence continuing."""
        out = []
        for t, v in rows:
            s = self.seq.get(code, 0)
            self.seq[code] = s + 1
            out.append({"d": code, "s": s, "t": t, "v": v})
        return {"site_id": self.site_id, "readings": out}

    def latest(self, db, code: str, kind: str):
        """The device's newest occurrence of that condition, as committed (or None)."""
        from sqlalchemy import select

        from qorgau.alarms.models import AlarmRecord

        db.expire_all()
        return db.scalar(select(AlarmRecord).where(
            AlarmRecord.device_id == self.devices[code], AlarmRecord.kind == kind)
            .order_by(AlarmRecord.id.desc()))

    def batch(self, rows: list[tuple]) -> dict:  # (code, value | dict, t offset)
        out, now = [], time.time()
        for code, v, dt in rows:
            s = self.seq.get(code, 0)
            self.seq[code] = s + 1
            r = {"d": code, "s": s, "t": now + dt}
            r.update(v if isinstance(v, dict) else {"v": v})
            out.append(r)
        return {"site_id": self.site_id, "readings": out}


@pytest.fixture
def mine(db, world) -> Mine:
    """A fresh mine site (Karaganda enterprise) with CH4/CO/fan devices and 2 wearables."""
    return new_mine(db, world)


@pytest.fixture
def new_mines(db, world):
    """Makes as many fresh mine sites as a test needs (same devices each)."""
    return lambda: new_mine(db, world)


def new_mine(db, world) -> Mine:
    from qorgau.alarms import gateways, service
    from qorgau.alarms.schemas import DeviceIn, GatewayIn
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    n = next(_codes)
    site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=world.enterprises["mine_krg"], kind="mine", name=f"Test mine {n}",
        lon=73.1, lat=49.8, zones=ZONES))
    m = Mine(site.id)
    osh = actor(db, world, "osh_krg")
    for code, kind, q, zone in [("CH4-1", "gas", "CH4", "L1"), ("CO-1", "gas", "CO", "L1"),
                                ("FAN-1", "ventilation", "fan", "L1"),
                                ("W-1", "wearable", "position", ""),
                                ("W-2", "wearable", "position", "")]:
        dev = service.create_device(db=db, actor=osh, data=DeviceIn(
            site_id=site.id, code=code, kind=kind, quantity=q, zone_code=zone))
        m.devices[code] = dev.id
    gw, key = gateways.create_gateway(db=db, actor=osh, data=GatewayIn(
        site_id=site.id, name=f"gw-{site.id}-{n}"))
    m.gateway, m.key = gw.name, key
    return m


@pytest.fixture
def proc(tmp_path):
    """A processor with its own segment directory (fsync off for speed)."""
    from qorgau.alarms.ingest import core
    from qorgau.alarms.store import SegmentStore

    p = core.Processor(SegmentStore(tmp_path / "seg", fsync=False))
    old, core.PROCESSOR = core.PROCESSOR, p
    yield p
    core.PROCESSOR = old
