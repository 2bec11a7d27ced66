"""Shell pages: home per role, login/logout, language switch, error page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qorgau.accounts import service as accounts
from qorgau.accounts.exceptions import BadCredentials, LockedOut
from qorgau.core import i18n
from qorgau.core.config import get_settings
from qorgau.core.deps import SESSION_COOKIE, DbDep
from qorgau.core.i18n import _
from qorgau.core.web import FormActorDep, OptionalPageActorDep, PageActorDep, render
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form is not an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target if not urlparse(target).netloc else "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    summary = registry.home_summary(db=db, actor=actor)
    return render(request, "core/home.html", {"summary": summary}, actor=actor)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: OptionalPageActorDep, next: str = "/") -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "core/login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DbDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    client = request.client.host if request.client else "?"
    try:
        user = accounts.authenticate(db, username=username, password=password, client=client)
    except (BadCredentials, LockedOut) as exc:
        message = (
            _("Invalid username or password.")
            if isinstance(exc, BadCredentials)
            else _("Too many failed attempts. Try again later.")
        )
        status = 429 if isinstance(exc, LockedOut) else 401
        ctx = {"next": _safe_next(next), "error": message}
        return render(request, "core/login.html", ctx, status_code=status)
    token, _row = accounts.open_session(db, user=user, kind="cookie")
    response = RedirectResponse(_safe_next(next), status_code=303)
    s = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=s.session_hours * 3600,
        httponly=True,
        secure=s.cookie_secure,
        samesite="lax",
    )
    if "lang" not in request.cookies:
        response.set_cookie(
            "lang", user.language, max_age=365 * 86400, samesite="lax", secure=s.cookie_secure
        )
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep, actor: FormActorDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.close_session(db, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            "lang", code, max_age=365 * 86400, samesite="lax", secure=get_settings().cookie_secure
        )
    return response


def error_page(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    messages = [str(d.get("msg", "")) for d in body.get("detail", [])]
    return render(
        request, "core/error.html", {"status": status, "messages": messages}, status_code=status
    )
