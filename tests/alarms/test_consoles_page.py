"""The shared alarm consoles page (/alarms/consoles): lists the consoles in the caller's scope as
edit forms, creates and saves them through the service (validated by field, audited), keeps
other tenants out, and the site routing page says when its site is on a shared console."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import func, select

from qorgau.alarms import consoles
from qorgau.alarms.models import Console
from qorgau.alarms.schemas import ConsoleIn
from qorgau.core.audit import AuditEntry

from .test_pages import _login

URL = "/alarms/consoles"


def _name(what: str) -> str:
    """A console name of its own (the world's enterprise is shared by the whole session)."""
    return f"{what} {secrets.token_hex(3)}"


def _console(db, as_, site_ids: list[int], operators: int = 2) -> dict:
    return consoles.create(db=db, actor=as_("osh_krg"), data=ConsoleIn(
        name=_name("Dispatch room"), site_ids=site_ids, operators=operators,
        reason="one room for both mines"))


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _ticked(page: str, site_id: int, form_action: str) -> bool:
    """Whether the site's box is ticked in the form posting to form_action."""
    form = page.split(f'action="{form_action}"', 1)[1].split("</form>", 1)[0]
    box = re.search(rf'<input type="checkbox" name="site_ids" value="{site_id}"([^>]*)>', form)
    assert box, (site_id, form_action)
    return "checked" in box.group(1)


def test_page_lists_a_console_made_through_the_service(client, db, world, as_, new_mines):
    m1, m2, m3 = new_mines(), new_mines(), new_mines()
    c = _console(db, as_, [m1.site_id, m2.site_id])
    _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={URL}")
    r = client.get(URL)
    assert r.status_code == 200
    page = r.text
    assert "Shared alarm consoles" in page and f"<h2>{c['name']}</h2>" in page
    action = f"{URL}/{c['id']}"
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    assert f'name="revision" value="{c["revision"]}"' in page
    assert re.search(r'name="operators" inputmode="numeric" value="2"', form)
    assert _ticked(page, m1.site_id, action) and _ticked(page, m2.site_id, action)
    assert not _ticked(page, m3.site_id, action)  # the enterprise's other alarm site: offered
    # in the new console's form the console's sites say where they are now
    assert f"now on {c['name']}; ticking moves it here" in page.split('id="new-console"')[1]
    assert "A site not on a shared console keeps its own console" in page
    assert client.get("/alarms").text.count(f'href="{URL}"') == 1  # linked from the overview


def test_the_form_creates_a_console_and_it_is_audited(client, db, world, as_, new_mines):
    m1, m2 = new_mines(), new_mines()
    csrf = _login(client, world, "osh_krg")
    name = _name("Central dispatch")
    r = client.post(URL, data={"name": f"  {name} ", "operators": " 3 ",
                               "site_ids": [str(m1.site_id), str(m2.site_id)],
                               "reason": "one dispatch room", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{URL}?saved=1"
    console = db.scalar(select(Console).where(Console.name == name))
    assert (console.operators, console.revision) == (3, 1)
    assert consoles.current(db, [m1.site_id, m2.site_id]) == {m1.site_id: console.id,
                                                              m2.site_id: console.id}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "alarms.console.create",
                                               AuditEntry.object_id == str(console.id)))
    assert entry.actor == as_("osh_krg").label and entry.object_type == "alarm_console"
    assert entry.diff["after"]["operators"] == 3
    assert entry.diff["after"]["reason"] == "one dispatch room"
    assert [s["id"] for s in entry.diff["after"]["sites"]] == sorted([m1.site_id, m2.site_id])
    client.get(f"/lang/en?next={URL}")
    page = client.get(f"{URL}?saved=1").text
    assert 'class="notice ok" role="status"' in page and "«one dispatch room»" in page


@pytest.mark.parametrize(("typed", "message", "kk"), [
    ("0", "Must be at least 1", "Кемінде 1"),
    ("2.5", "Enter a whole number", "Бүтін сан енгізіңіз"),
    ("21", "Must be at most 20", "Көп дегенде 20"),
])
def test_a_bad_operator_number_comes_back_by_field_and_creates_nothing(
        client, db, world, new_mines, typed, message, kk):
    m1 = new_mines()
    csrf = _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={URL}")
    name = _name("Not made")
    audits = _count(db, AuditEntry, AuditEntry.action == "alarms.console.create")
    form = {"name": name, "operators": typed, "site_ids": [str(m1.site_id)],
            "reason": "one dispatch room", "csrf_token": csrf}
    r = client.post(URL, data=form)
    assert r.status_code == 422
    assert re.search(r'<span class="field-error" id="e-operators">' + re.escape(message),
                     r.text)
    new = r.text.split('id="new-console"', 1)[1]
    assert f'name="operators" inputmode="numeric" value="{typed}"' in new
    assert f'name="name" value="{name}"' in new and 'value="one dispatch room"' in new
    assert _ticked(r.text, m1.site_id, URL)
    assert 'aria-invalid="true" aria-describedby="e-operators"' in new
    client.get(f"/lang/kk?next={URL}")
    assert kk in client.post(URL, data=form).text
    assert _count(db, Console, Console.name == name) == 0
    assert _count(db, AuditEntry, AuditEntry.action == "alarms.console.create") == audits
    assert consoles.current(db, [m1.site_id]) == {}


def test_a_form_without_sites_or_name_is_refused_by_field(client, db, world):
    csrf = _login(client, world, "osh_krg")
    client.get(f"/lang/ru?next={URL}")
    r = client.post(URL, data={"name": "  ", "operators": "2", "reason": "why",
                               "csrf_token": csrf})
    assert r.status_code == 422
    assert re.search(r'id="e-name">Дайте пульту название', r.text)
    # no site ticked is said with the other fields' errors, not after they are put right
    assert re.search(r'id="e-site_ids">Отметьте хотя бы один объект', r.text)
    r = client.post(URL, data={"name": _name("Empty"), "operators": "2", "reason": "why",
                               "csrf_token": csrf})
    assert r.status_code == 422
    assert re.search(r'id="e-site_ids">Отметьте хотя бы один объект', r.text)


def test_saving_moves_sites_and_a_stale_revision_is_a_409(client, db, world, as_, new_mines):
    m1, m2, m3 = new_mines(), new_mines(), new_mines()
    c = _console(db, as_, [m1.site_id, m2.site_id])
    csrf = _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={URL}")
    form = {"name": c["name"], "operators": "4", "site_ids": [str(m2.site_id), str(m3.site_id)],
            "revision": str(c["revision"]), "reason": "m1 staffed again", "csrf_token": csrf}
    r = client.post(f"{URL}/{c['id']}", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert consoles.current(db, [m1.site_id, m2.site_id, m3.site_id]) == {
        m2.site_id: c["id"], m3.site_id: c["id"]}
    assert consoles.get(db=db, actor=as_("osh_krg"), console_id=c["id"])["operators"] == 4
    r = client.post(f"{URL}/{c['id']}", data={**form, "operators": "5"})  # the old revision
    assert r.status_code == 409
    assert "Someone changed this console while you were editing it" in r.text
    assert 'id="e-revision"' in r.text and 'value="5"' in r.text  # typed value kept
    assert consoles.get(db=db, actor=as_("osh_krg"), console_id=c["id"])["operators"] == 4


def test_other_tenants_neither_see_nor_change_a_console(client, db, world, as_, new_mines):
    m1 = new_mines()
    c = _console(db, as_, [m1.site_id])
    form = {"name": "taken over", "operators": "1", "site_ids": [str(m1.site_id)],
            "revision": str(c["revision"]), "reason": "not mine"}
    csrf = _login(client, world, "osh_ala")
    page = client.get(URL)
    assert page.status_code == 200 and c["name"] not in page.text
    assert f'value="{m1.site_id}"' not in page.text
    assert client.post(f"{URL}/{c['id']}", data={**form, "csrf_token": csrf}).status_code == 404
    assert client.post(f"{URL}/{c['id']}", data={**form, "operators": "0",
                                                 "csrf_token": csrf}).status_code == 404
    r = client.post(URL, data={**form, "csrf_token": csrf})  # another enterprise's site
    assert r.status_code == 422 and 'id="e-site_ids"' in r.text
    assert _count(db, Console, Console.name == "taken over") == 0
    # a reader of the enterprise sees the console without a way to change it
    csrf = _login(client, world, "inspector_krg")
    page = client.get(URL).text
    form_html = page.split(f'action="{URL}/{c["id"]}"', 1)[1].split("</form>", 1)[0]
    assert c["name"] in page and 'id="new-console"' not in page
    assert re.search(r'name="operators" inputmode="numeric" value="2" maxlength="3"\s+disabled',
                     form_html)
    assert 'name="reason"' not in form_html
    assert client.post(f"{URL}/{c['id']}", data={**form, "csrf_token": csrf}).status_code == 403
    assert consoles.get(db=db, actor=as_("osh_krg"), console_id=c["id"]) == c


def test_routing_page_says_when_the_site_is_on_a_shared_console(client, db, world, as_,
                                                               new_mines):
    m1, m2 = new_mines(), new_mines()
    c = _console(db, as_, [m1.site_id], operators=4)
    _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={URL}")
    page = client.get(f"/alarms/sites/{m1.site_id}/routing").text
    note = (f"This site's alarms go to the shared console {c['name']} (4 operators on duty); "
            "the number here counts only when it leaves it.")
    assert note in page
    assert f'<a href="{URL}#console-{c["id"]}">Shared alarm consoles</a>' in page
    assert 'aria-describedby="shared-console"' in page
    other = client.get(f"/alarms/sites/{m2.site_id}/routing").text
    assert 'id="shared-console"' not in other and f'href="{URL}"' in other
    client.get(f"/lang/ru?next={URL}")
    assert f"на общий пульт «{c['name']}» (4 оператора на дежурстве)" in client.get(
        f"/alarms/sites/{m1.site_id}/routing").text


def test_a_name_with_its_own_quotes_is_not_quoted_again(client, db, world, as_, new_mines):
    m1, m2 = new_mines(), new_mines()
    name = f"«Шахтинская» ДП {secrets.token_hex(3)}"
    c = consoles.create(db=db, actor=as_("osh_krg"), data=ConsoleIn(
        name=name, site_ids=[m1.site_id], operators=3, reason="dispatch room"))
    _login(client, world, "osh_krg")
    for lang, routing, hint in [
            ("ru", f"на общий пульт {name} (3 оператора", f"сейчас на пульте {name};"),
            ("kk", f"дабылдары {name} ортақ пультіне", f"қазір {name} пультінде;"),
            ("en", f"the shared console {name} (3 operators", f"now on {name};")]:
        client.get(f"/lang/{lang}?next={URL}")
        page = client.get(f"/alarms/sites/{m1.site_id}/routing").text
        assert routing in page and "««" not in page, lang
        form = client.get(URL).text.split('id="new-console"')[1]
        assert hint in form and "««" not in form, lang
    assert c["name"] == name  # the name itself is kept as typed
    plain = _console(db, as_, [m2.site_id])
    client.get(f"/lang/kk?next={URL}")
    assert f"«{plain['name']}» ортақ пультіне" in client.get(
        f"/alarms/sites/{m2.site_id}/routing").text


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_new_console_in_kazakh_on_a_phone(db_url, db, world, mine) -> None:
    from livesite import ARTIFACTS, live_server, phone_page

    ARTIFACTS.mkdir(exist_ok=True)
    name = _name("Телефон пульті")
    with live_server() as live, phone_page(live, "osh.mine") as page:
        page.goto(f"{live}/lang/kk?next={URL}")
        form = page.locator(f'form[action="{URL}"]')
        form.locator("input[name=name]").fill(name)
        form.locator(f'input[name=site_ids][value="{mine.site_id}"]').check()
        form.locator("input[name=operators]").fill("0")
        form.locator("input[name=reason]").fill("бір диспетчерлік")
        form.locator("button[type=submit]").click()
        error = page.locator(f'form[action="{URL}"] #e-operators')
        assert error.is_visible() and error.inner_text() == "Кемінде 1"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "alarms-consoles-error-phone-kk.png"),
                        full_page=True)
        form = page.locator(f'form[action="{URL}"]')
        assert form.locator("input[name=name]").input_value() == name  # kept as typed
        form.locator("input[name=operators]").fill("2")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{live}{URL}?saved=1")
        assert name in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "alarms-consoles-phone-kk.png"), full_page=True)
    made = db.scalar(select(Console).where(Console.name == name))
    assert made is not None and made.operators == 2
    assert consoles.current(db, [mine.site_id]) == {mine.site_id: made.id}


def test_a_site_taken_by_another_console_shows_in_the_history_of_the_one_it_left(
        client, db, world, as_, new_mines):
    m1, m2 = new_mines(), new_mines()
    first = _console(db, as_, [m1.site_id, m2.site_id])
    second = _console(db, as_, [m2.site_id])  # takes m2 from the first
    _login(client, world, "osh_krg")
    client.get(f"/lang/en?next={URL}")
    page = client.get(URL).text
    m2_name = consoles.get(db=db, actor=as_("osh_krg"), console_id=second["id"])[
        "sites"][0]["name"]
    entry = re.search(rf'<strong>{re.escape(first["name"])}</strong>\s*'
                      r'<strong class="small">released</strong>(.*?)</li>', page, re.S)
    assert entry is not None
    assert re.search(rf"Sites: [^<]*{re.escape(m2_name)}[^<]*→", entry[1])
