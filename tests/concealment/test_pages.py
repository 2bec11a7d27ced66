"""Enterprise-signal and under-reporting pages: the stored run's figures, within the caller's
scope; employers and other regions see nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from qorgau.concealment import service, views
from qorgau.core.pagination import PageParams

pytestmark = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


def _actor(db, world, key: str):
    from qorgau.accounts.service import get_user_actor

    return get_user_actor(db, user_id=world.users[key])


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&lt;", "<")


def _prob(p: float) -> str:
    return f"{p:.2f}" if p >= 0.01 else f"{p:.4f}" if p >= 0.0001 else "< 0.0001"


def test_enterprise_page_shows_the_services_figures_in_rank_order(
    stored_run, page_as, db, world
) -> None:
    run = stored_run()
    actor = _actor(db, world, "inspector_krg")
    items, _ = service.enterprise_signals(db=db, actor=actor, params=PageParams(size=200))
    mine = [s for s in items if s.enterprise_id in run.names]
    assert len(mine) == sum(r[1] == "KZ-35" for r in run.signals) and all(
        s.region_code == "KZ-35" for s in items
    )
    r = page_as("inspector_krg").get("/concealment/enterprises")
    assert r.status_code == 200, r.text
    text = _text(r.text)
    for s in mine:
        name = run.names[s.enterprise_id]
        card = text[text.index(name) :][:1500]
        assert f"{s.expected:.1f}" in card and _prob(s.p_low) in card
        assert f"{s.headcount:,}".replace(",", "\u202f") + " " in card
        assert f'href="/concealment?enterprise={s.enterprise_id}"' in r.text
        assert f'href="/registry/enterprises/{s.enterprise_id}"' in r.text
    # most improbable first: P(X ≤ observed) ascending
    order = [text.index(run.names[s.enterprise_id]) for s in sorted(mine, key=lambda s: s.p_low)]
    assert order == sorted(order)
    assert "Алатау Құрылыс Групп" not in text  # another region's enterprise


def test_explanation_is_the_cell_rate_and_shrinkage_of_the_stored_run(
    stored_run, page_as, db, world
) -> None:
    run = stored_run()
    actor = _actor(db, world, "inspector_krg")
    rows, _, latest = views.enterprise_signal_page(
        db=db, actor=actor, params=PageParams(size=200), region="KZ-35", section="B"
    )
    assert latest is not None and latest.id == run.run_id
    top = next(r for r in rows if r.signal.enterprise_id == run.enterprises["Қарағанды Көмір ЖШС"])
    assert top.rate == pytest.approx(1000 * top.signal.expected / top.signal.headcount)
    # the other division-05 enterprises of Karaganda over 250 worker-years, without itself
    others = [r for r in run.signals if r[1:3] == ("KZ-35", "05") and r[0] != "Қарағанды Көмір ЖШС"]
    assert top.cell_others == len(others) and top.cell_exposure == sum(r[3] for r in others)
    assert top.cell_raw == pytest.approx(1000 * sum(r[4] for r in others) / top.cell_exposure)
    assert {r.section for r in rows} == {"B"}
    text = _text(page_as("inspector_krg").get("/concealment/enterprises?section=B").text)
    assert f"{top.rate:.2f}" in text and f"{top.cell_raw:.2f}" in text
    assert "Сарыарқа Құрылыс" not in text  # section F filtered out


def test_other_regions_inspector_and_employer_see_nothing(stored_run, page_as, world) -> None:
    run = stored_run()
    ala = page_as("inspector_ala")
    text = _text(ala.get("/concealment/enterprises").text)
    assert "Алатау Құрылыс Групп" in text and "Қарағанды Көмір" not in text
    assert "Қарағанды Көмір" not in _text(ala.get("/concealment/enterprises?region=KZ-35").text)
    est = ala.get("/concealment/estimates?region=KZ-35").text
    assert "72</strong>" not in est and 'class="head">KZ-35' not in est
    assert "27</strong>" in ala.get("/concealment/estimates").text
    for key in ("osh_krg", "worker_krg", "hospital", "insurer"):
        c = page_as(key)
        for path in ("/concealment/enterprises", "/concealment/estimates"):
            r = c.get(path)
            assert r.status_code in (403, 404), (key, path, r.status_code)
            assert run.names[run.enterprises["Қарағанды Көмір ЖШС"]] not in r.text
    # the akimat reads aggregates only
    akimat = page_as("akimat_krg")
    assert akimat.get("/concealment/enterprises").status_code == 403
    assert akimat.get("/concealment/estimates").status_code == 200


def test_estimates_page_shows_the_stored_estimates(stored_run, page_as, db, world) -> None:
    stored_run()
    actor = _actor(db, world, "analyst")
    rows = service.region_estimates(db=db, actor=actor)
    r = page_as("analyst").get("/lang/en?next=/concealment/estimates", follow_redirects=True)
    assert r.status_code == 200
    html = r.text
    for e in rows:
        row = views.estimate_row(e)
        assert f"{round(e.n_hat)}</strong>" in html
        assert f"95 % CI {round(e.ci_low)}–{round(e.ci_high)}" in html
        assert f"{e.under_reporting * 100:.0f} %" in html
        assert f"{row.under_low * 100:.0f} %–{row.under_high * 100:.0f} %" in html
    assert "A, B, C + A×B" in html and "A × (B ∪ C)" in html
    assert "Log-linear, three lists" in html and "Chapman, two lists" in html
    krg = page_as("inspector_krg").get("/concealment/estimates").text
    assert "72</strong>" in krg and "46</strong>" in krg
    assert "27</strong>" not in krg and "15</strong>" not in krg  # Almaty's rows


def test_queue_links_both_pages_and_filters_by_enterprise(stored_run, page_as, db, world) -> None:
    from datetime import date

    from qorgau.concealment.models import Case

    run = stored_run()
    ent = run.enterprises["Шахтёр-Сервис ТОО"]
    db.add(Case(key=f"t:page:{run.run_id}", kind="unreported_injury", region_code="KZ-35",
                enterprise_id=ent, event_date=date(2025, 5, 2), score=2.0, probability=0.8,
                explanation={}, evidence_ids=[]))  # fmt: skip
    db.commit()
    c = page_as("inspector_krg")
    queue = c.get("/lang/en?next=/concealment", follow_redirects=True).text
    assert 'href="/concealment/enterprises"' in queue and 'href="/concealment/estimates"' in queue
    only = c.get(f"/concealment?enterprise={ent}").text
    assert f'href="/registry/enterprises/{ent}"' in only
    ids = set(re.findall(r'href="/concealment/cases/(\d+)"', only))
    assert len(ids) == 1
    assert c.get("/concealment?enterprise=0").status_code == 422
    text = _text(c.get("/concealment/enterprises").text)
    card = text[text.index(run.names[ent]) :][:1500]
    assert "Cases (1 open, 0 confirmed)" in card


def test_an_enterprise_stored_with_no_whole_worker_year_shows_no_rate(
    stored_run, page_as, db, world
) -> None:
    from qorgau.concealment.models import EnterpriseSignal

    run = stored_run()
    sig = db.scalar(
        select(EnterpriseSignal).where(
            EnterpriseSignal.run_id == run.run_id,
            EnterpriseSignal.enterprise_id == run.enterprises["Сарыарқа Құрылыс ТОО"],
        )
    )
    sig.headcount = 0  # under half a worker-year, rounded when stored
    db.commit()
    rows, _, _ = views.enterprise_signal_page(
        db=db, actor=_actor(db, world, "analyst"), params=PageParams(size=200), section="F"
    )
    row = next(r for r in rows if r.signal.enterprise_id == sig.enterprise_id)
    assert row.rate is None and row.signal.expected > 0
    page = page_as("analyst").get("/concealment/enterprises?section=F")
    assert page.status_code == 200 and run.names[sig.enterprise_id] in page.text
