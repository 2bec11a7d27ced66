"""Concealment page helpers: cookie sessions, a stored analysis run made of fresh rows, and a
record two registry workers fit equally (the review queue of ambiguous links)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from factories import make_bin, make_iin


@pytest.fixture
def page_as(app, world) -> Callable[[str], TestClient]:
    """page_as("inspector_krg") → a TestClient with that user's cookie session."""
    from qorgau.accounts import service
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    def make(key: str) -> TestClient:
        with get_sessionmaker()() as db:
            user = db.get(User, world.users[key])
            token, _ = service.open_session(db, user=user, kind="cookie")
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        c.cookies.set(SESSION_COOKIE, token)
        return c

    return make


@dataclass
class StoredRun:
    run_id: int
    enterprises: dict[str, int] = field(default_factory=dict)  # name → id
    names: dict[int, str] = field(default_factory=dict)
    signals: list[tuple[str, str, str, int, int]] = field(default_factory=lambda: SIGNALS)


# name, region, OKED division, worker-years in the window, reported injuries
SIGNALS = [
    ("Қарағанды Көмір ЖШС", "KZ-35", "05", 2650, 0),
    ("Шахтёр-Сервис ТОО", "KZ-35", "05", 1450, 1),
    ("Теміртау Кені АҚ", "KZ-35", "05", 2210, 12),
    ("Ертіс Көмір ЖШС", "KZ-35", "05", 1530, 8),
    ("Саран Шахтасы ЖШС", "KZ-35", "05", 1870, 10),
    ("Шахтинск Ресурс ТОО", "KZ-35", "05", 1420, 7),
    ("Абай Көмір Тасымал ЖШС", "KZ-35", "05", 960, 5),
    ("Балқаш Мыс Құю ЖШС", "KZ-35", "24", 640, 1),
    ("Жезқазған Металл ТОО", "KZ-35", "24", 1720, 7),
    ("Теміртау Құю Зауыты АҚ", "KZ-35", "24", 1310, 6),
    ("Қарқаралы Қорытпа ЖШС", "KZ-35", "24", 880, 3),
    ("Сарыарқа Құрылыс ТОО", "KZ-35", "41", 85, 0),
    ("Нұра Құрылыс ЖШС", "KZ-35", "41", 460, 2),
    ("Есіл Монтаж ТОО", "KZ-35", "41", 620, 2),
    ("Тоқырауын Құрылыс ЖШС", "KZ-35", "41", 540, 3),
    ("Алатау Құрылыс Групп ЖШС", "KZ-75", "41", 410, 0),
    ("Медеу Монтаж ТОО", "KZ-75", "41", 730, 3),
    ("Жетісу Тұрғын Үй ЖШС", "KZ-75", "41", 1150, 5),
]
# region, section, method, registered, seen, N̂, CI low, CI high, model
ESTIMATES = [
    ("KZ-35", "", "loglinear", 41, 63, 71.8, 64.2, 86.9, "A+B+C+AB"),
    ("KZ-75", "", "chapman", 18, 24, 27.4, 22.1, 41.0, ""),
    ("KZ-35", "B", "chapman", 26, 39, 46.3, 39.8, 63.5, ""),
    ("KZ-35", "F", "chapman", 6, 9, 11.9, 9.0, 26.4, ""),
    ("KZ-75", "F", "chapman", 9, 12, 15.0, 12.0, 28.7, ""),
]


def _expected():
    """The pipeline's own model on these rows, so the stored figures are mutually consistent."""
    import numpy as np

    from qorgau.concealment.expected import expected_vs_observed, size_band

    h = np.array([r[3] for r in SIGNALS], float)
    return expected_vs_observed(
        headcount=h,
        observed=np.array([r[4] for r in SIGNALS]),
        cells=[np.array([r[2] for r in SIGNALS]), np.array([r[1] for r in SIGNALS]), size_band(h)],
        overdispersion=True,
    )


def make_stored_run(world, as_of: date = date(2026, 1, 31)) -> StoredRun:
    """A finished run (the latest) with fresh enterprises, their signals and estimates, as
    `service.run_analysis` stores them: the pages read only these rows."""
    from qorgau.concealment.models import AnalysisRun, EnterpriseSignal, RegionEstimate
    from qorgau.core.db import get_sessionmaker, utcnow
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn

    with get_sessionmaker()() as db:
        run = AnalysisRun(as_of=as_of, created_by="test", stats={}, finished_at=utcnow())
        db.add(run)
        db.flush()
        out = StoredRun(run.id)
        res = _expected()
        for i, (name, region, oked, wy, obs) in enumerate(SIGNALS):
            ent = registry.create_enterprise(
                db=db,
                actor=SYSTEM_ACTOR,
                data=EnterpriseIn(
                    bin=make_bin(),
                    name=name,
                    activity_code=oked,
                    region_code=region,
                    lon=73.1 if region == "KZ-35" else 76.9,
                    lat=49.8 if region == "KZ-35" else 43.25,
                    size_band="large",
                    hazardous=oked == "05",
                ),
            )
            out.enterprises[name], out.names[ent.id] = ent.id, ent.name
            db.add(EnterpriseSignal(run_id=run.id, enterprise_id=ent.id, region_code=region,
                                    headcount=wy, observed=obs,
                                    expected=float(res.expected[i]), p_low=float(res.p_low[i]),
                                    score=float(res.score[i]),
                                    unreported_episodes=2 - min(i, 2)))  # fmt: skip
        for region, section, method, reg, seen, n, lo, hi, model in ESTIMATES:
            db.add(RegionEstimate(run_id=run.id, region_code=region, section=section,
                                  method=method, registered=reg, observed=seen, n_hat=n,
                                  ci_low=lo, ci_high=hi, under_reporting=1 - reg / n,
                                  detail={"model": model}))  # fmt: skip
        db.commit()
        return out


@pytest.fixture
def stored_run(world) -> Callable[..., StoredRun]:
    """stored_run() → a fresh latest run (see make_stored_run)."""
    return lambda **kw: make_stored_run(world, **kw)


# ---------------------------------------------------------------- ambiguous links

FIRST = ["Айдос", "Нұрлан", "Ерлан", "Әсел", "Марат", "Дана", "Тимур", "Гүлнар", "Руслан"]
LAST = ["Серікбаев", "Тоқаев", "Омаров", "Сәдуақасов", "Жақсылықов", "Әбенов", "Нұрғалиев"]


@dataclass
class Twins:
    evidence_id: int
    krg_worker: int  # employed at the Karaganda mine on the event date
    ala_worker: int  # employed at the Almaty builder
    run_id: int
    stats: dict


def _employ(db, world, ent_key: str, iin: str, last: str, first: str) -> int:
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EmploymentIn, WorkerIn

    ent = db.get(Enterprise, world.enterprises[ent_key])
    emp = registry.register_employment(
        db=db,
        actor=SYSTEM_ACTOR,
        data=EmploymentIn(
            contract_no=f"LR-{secrets.token_hex(4)}",
            worker=WorkerIn(iin=iin, last_name=last, first_name=first),
            enterprise_bin=ent.bin,
            occupation="miner",
            start_date=date(2024, 1, 1),
        ),
    )
    return emp.worker_id


def make_twins(client_as, db, world) -> Twins:
    """Two workers with the same names and birth date (different IINs, employers in two
    regions), a Karaganda trauma visit naming them without an IIN, and eight IIN-confirmed
    visits of other workers (the linkage measures name and date agreement on those); then a
    run."""
    rng = random.Random(secrets.randbits(32))
    born = date(1962, 1, 1) + timedelta(days=rng.randrange(35 * 365))
    last, first = rng.choice(LAST), rng.choice(FIRST)
    krg = _employ(db, world, "mine_krg", make_iin(born), last, first)
    ala = _employ(db, world, "build_ala", make_iin(born), last, first)
    today = date.today()
    rows = [_visit(last, first, born, today)]
    for _ in range(8):
        b = date(1962, 1, 1) + timedelta(days=rng.randrange(35 * 365))
        iin, ln, fn = make_iin(b), rng.choice(LAST), rng.choice(FIRST)
        _employ(db, world, "mine_krg", iin, ln, fn)
        rows.append(_visit(ln, fn, b, today, iin=iin))
    db.commit()
    feed = "/api/v1/concealment/feeds/trauma_visit/records"
    r = client_as("hospital").post(feed, json={"records": rows})
    assert r.status_code == 200, r.text
    evidence_id = r.json()["rows"][0]["id"]
    run = run_analysis(client_as)
    return Twins(evidence_id, krg, ala, run["id"], run["stats"])


def _visit(last: str, first: str, born: date, today: date, iin: str | None = None) -> dict:
    return {"source_ref": f"LR-{secrets.token_hex(6)}", "iin": iin, "last_name": last,
            "first_name": first, "birth_date": born.isoformat(),
            "event_date": (today - timedelta(days=40)).isoformat(), "icd10": "S62.3",
            "work_related": True, "facility": "Karaganda trauma centre"}  # fmt: skip


def run_analysis(client_as) -> dict:
    r = client_as("admin").post("/api/v1/concealment/runs", json={"as_of": str(date.today())})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def twins(client_as, db, world) -> Callable[[], Twins]:
    """twins() → a fresh record two workers fit equally, after a run (see make_twins)."""
    return lambda: make_twins(client_as, db, world)


@pytest.fixture
def rerun(client_as) -> Callable[[], dict]:
    """rerun() → a new analysis run as of today (its id and stats)."""
    return lambda: run_analysis(client_as)
