"""The web shell: Jinja2 environment, navigation registry, page-level auth and CSRF."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from gettext import NullTranslations
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.core import i18n
from qorgau.core.config import get_settings
from qorgau.core.deps import SESSION_COOKIE, DbDep
from qorgau.core.errors import Forbidden, Unauthenticated
from qorgau.core.labels import label
from qorgau.core.roles import Role
from qorgau.core.security import Actor


class LoginRequired(Exception):
    """Raised by page dependencies; app.py turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


@dataclass(frozen=True)
class NavItem:
    label: str  # msgid, translated at render time
    href: str
    roles: frozenset[Role]
    order: int = 100


NAV: list[NavItem] = []


def register_nav(label: str, href: str, roles: set[Role], order: int = 100) -> None:
    if all(item.href != href for item in NAV):
        NAV.append(NavItem(label, href, frozenset(roles), order))
        NAV.sort(key=lambda item: item.order)


def nav_for(actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    return [item for item in NAV if actor.role in item.roles]


def _page_url(request: Request, page: int) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode([*items, ('page', str(page))])}"


def _back_here(request: Request) -> str:
    """Where the language switch returns to: this page, or for a page a form's POST answered
    (an error, a key just issued) the page the form was on, from the Referer of this site;
    the POST's own address, opened by a link, was a bare 405."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    ref = urlsplit(request.headers.get("referer", ""))
    if ref.netloc != request.url.netloc or not ref.path.startswith("/"):
        return "/"
    return ref.path + (f"?{ref.query}" if ref.query else "")


def _catalogue(ctx: Context) -> NullTranslations:
    """A template's translations: its domain's first (`i18n.translations`)."""
    return i18n.translations(i18n.get_language(), i18n.template_domain(ctx.name))


@pass_context
def _template_gettext(ctx: Context, message: str) -> str:
    return _catalogue(ctx).gettext(message)


@pass_context
def _template_ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(ctx).ngettext(singular, plural, n)


def _make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("qorgau", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        LANGUAGES=i18n.LANGUAGES,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        localized=i18n.localized_name,
        quote=quote,
        page_url=_page_url,
        back_here=_back_here,
        # base.html's `_`: a parent template renders with its child's context and name, so
        # its own `_` would take the child page's domain (kk "Worker" differed on alarm pages)
        core_=i18n.domain_gettext("core"),
        label=label,
    )
    env.filters["thousands"] = lambda n: f"{n:,}".replace(",", "\u202f")
    env.filters["quoted"] = i18n.quoted
    return env


ENV = _make_env()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ctx = {
        "request": request,
        "actor": actor,
        "nav": nav_for(actor),
        "lang": i18n.get_language(),
        "csrf_token": getattr(request.state, "csrf", ""),
        "settings": get_settings(),
        "path": request.url.path,
    }
    ctx.update(context or {})
    html = ENV.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)


def _page_actor(request: Request, db: Session) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        actor, row = accounts.resolve_session(db, token=token, kind="cookie")
    except Unauthenticated:
        return None
    request.state.csrf = row.csrf
    return actor


def optional_page_actor(request: Request, db: DbDep) -> Actor | None:
    return _page_actor(request, db)


def page_actor(request: Request, db: DbDep) -> Actor:
    actor = _page_actor(request, db)
    if actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return actor


async def form_actor(request: Request, db: DbDep) -> Actor:
    """For HTML form posts: a valid session and the form's CSRF token must match it."""
    actor = page_actor(request, db)
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(sent, getattr(request.state, "csrf", "")):
        raise Forbidden("missing or wrong CSRF token")
    return actor


PageActorDep = Annotated[Actor, Depends(page_actor)]
OptionalPageActorDep = Annotated[Actor | None, Depends(optional_page_actor)]
FormActorDep = Annotated[Actor, Depends(form_actor)]
