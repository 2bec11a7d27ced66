"""The caller (Actor), password hashing, keyed IIN hashes and the one scoping helper."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, false, true
from sqlalchemy.sql import ColumnElement

from qorgau.core.config import get_settings
from qorgau.core.errors import Forbidden
from qorgau.core.roles import REACH, Reach, Role, allowed

_hasher = PasswordHasher()
# A real hash of a random password: verifying against it costs the same as a real user,
# so a wrong username takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user, a system account (API key) or an anonymous visitor."""

    kind: str
    id: int | None
    name: str
    role: Role
    organisation_id: int | None = None
    region: str | None = None
    enterprise_id: int | None = None
    feed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reach(self) -> Reach:
        return REACH[self.role]

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}:{self.name}"

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {permission}")


SYSTEM_ACTOR = Actor(kind="system", id=None, name="qorgau", role=Role.ADMIN)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Tokens and API-key secrets are stored only as SHA-256 digests."""
    return hashlib.sha256(token.encode()).hexdigest()


def iin_hash(iin: str) -> str:
    """Keyed hash used for linkage; the clear IIN is never stored (docs/privacy.md)."""
    key = get_settings().iin_pepper.get_secret_value().encode()
    return hmac.new(key, iin.encode(), hashlib.sha256).hexdigest()


def mask_iin(iin: str) -> str:
    return "•" * 8 + iin[-4:]


@dataclass(frozen=True)
class ScopeSpec:
    """Which columns of a model carry each kind of scope. Declared once per model."""

    region: str | None = None
    enterprise: str | None = None
    organisation: str | None = None
    public: bool = False


def _target(spec: ScopeSpec, actor: Actor) -> tuple[str | None, object | None]:
    """The model column and the actor's value that must match, for a non-national actor."""
    return {
        Reach.REGION: (spec.region, actor.region),
        Reach.ENTERPRISE: (spec.enterprise, actor.enterprise_id),
        Reach.ORGANISATION: (spec.organisation, actor.organisation_id),
    }[actor.reach]


def _spec(model: Any) -> ScopeSpec:
    spec: ScopeSpec | None = getattr(model, "__scope__", None)
    if spec is None:
        raise TypeError(f"{model.__name__} declares no __scope__")
    return spec


def scope_clause(model: Any, actor: Actor) -> ColumnElement[bool]:
    """The WHERE clause restricting `model` to the actor's slice; false() when no column fits."""
    spec = _spec(model)
    if spec.public or actor.reach is Reach.NATIONAL:
        return true()
    col, value = _target(spec, actor)
    if col is None or value is None:
        return false()
    return getattr(model, col) == value


def scoped(stmt: Select[Any], model: Any, actor: Actor) -> Select[Any]:
    return stmt.where(scope_clause(model, actor))


def in_scope(obj: Any, actor: Actor) -> bool:
    """The same rule as scope_clause, for one loaded object."""
    spec = _spec(type(obj))
    if spec.public or actor.reach is Reach.NATIONAL:
        return True
    col, value = _target(spec, actor)
    return col is not None and value is not None and getattr(obj, col) == value
