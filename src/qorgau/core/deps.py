"""FastAPI dependencies: database session and the caller, as readable type aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.core.db import get_sessionmaker
from qorgau.core.errors import Forbidden, Unauthenticated
from qorgau.core.ratelimit import check_rate
from qorgau.core.security import Actor

SESSION_COOKIE = "qorgau_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_db() -> Iterator[Session]:
    with get_sessionmaker()() as db:
        yield db


DbDep = Annotated[Session, Depends(get_db)]


def _from_cookie(request: Request, db: Session) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    actor, row = accounts.resolve_session(db, token=token, kind="cookie")
    request.state.csrf = row.csrf
    if request.method in UNSAFE and request.headers.get("x-csrf-token") != row.csrf:
        # API calls made by our own pages carry the token in a header; forms go through pages.
        raise Forbidden("missing or wrong CSRF token")
    return actor


def optional_actor(request: Request, db: DbDep) -> Actor | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return accounts.resolve_session(db, token=auth[7:].strip(), kind="bearer")[0]
    key = request.headers.get("x-api-key")
    if key:
        actor = accounts.resolve_api_key(db, key=key)
        check_rate(f"key:{actor.id}", int(actor.extra["rate_per_minute"]))
        return actor
    return _from_cookie(request, db)


def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise Unauthenticated("authentication required")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
