"""Who is calling a map read endpoint, remembered for a moment.

The map page asks `/api/v1/map/clusters` on every pan and zoom. Resolving the session costs two
SELECTs plus the pool's ping, BEGIN and ROLLBACK: five round trips to PostgreSQL, each a
context switch that on a busy 2-core server can wait several ms for a CPU (SQLite answers in
the process; that was the whole 5× gap of docs/map.md). The map's read endpoints therefore
remember a resolved bearer or cookie session for `SESSION_SECONDS` — the same window as the
index freshness check — so a request that hits needs no database at all. A revoked session, a
deactivated user or a changed role reaches these endpoints within that window (every other
route at once); expiry is checked on every request. API keys are not remembered: their rate
limit counts every request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime

from fastapi import Request

from qorgau.accounts import service as accounts
from qorgau.core.db import utcnow
from qorgau.core.deps import SESSION_COOKIE, DbDep, current_actor, optional_actor
from qorgau.core.errors import Unauthenticated
from qorgau.core.security import Actor, token_digest

SESSION_SECONDS = 2.0
MAX_ENTRIES = 4096


class _Entry:
    __slots__ = ("actor", "csrf", "expires", "seen")

    def __init__(self, actor: Actor, csrf: str, expires: datetime, seen: float) -> None:
        self.actor, self.csrf, self.expires, self.seen = actor, csrf, expires, seen


_entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
_lock = threading.Lock()


def forget() -> None:
    """Drop every remembered session (tests)."""
    with _lock:
        _entries.clear()


def _token(request: Request) -> tuple[str, str] | None:
    """(kind, token) in `optional_actor`'s order: bearer, then cookie; None for API keys."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return "bearer", auth[7:].strip()
    if request.headers.get("x-api-key"):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("authentication required")
    return "cookie", token


def map_actor(request: Request, db: DbDep) -> Actor:
    """`ActorDep` for GET map reads, with the session remembered for `SESSION_SECONDS`."""
    found = _token(request)
    if found is None:
        return current_actor(optional_actor(request, db))
    kind, token = found
    key = (kind, token_digest(token))
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
    if hit is not None and now - hit.seen < SESSION_SECONDS and hit.expires > utcnow():
        request.state.csrf = hit.csrf
        return hit.actor
    actor, row = accounts.resolve_session(db, token=token, kind=kind)
    request.state.csrf = row.csrf
    with _lock:
        _entries[key] = _Entry(actor, row.csrf, row.expires_at, now)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return actor
