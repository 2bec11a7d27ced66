"""Account operations: authentication with throttling, sessions, tokens, users and API keys."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.accounts.exceptions import BadCredentials, LockedOut
from qorgau.accounts.models import ApiKey, AuthSession, LoginAttempt, Organisation, User
from qorgau.accounts.schemas import ApiKeyIn, UserIn
from qorgau.core import audit
from qorgau.core.config import get_settings
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation, Unauthenticated
from qorgau.core.roles import MANAGE_USERS, ORG_KINDS, Role
from qorgau.core.security import Actor, hash_password, token_digest, verify_password


def actor_for_user(user: User) -> Actor:
    org = user.organisation
    return Actor(
        kind="user",
        id=user.id,
        name=user.username,
        role=Role(user.role),
        organisation_id=org.id,
        region=org.region_code,
        enterprise_id=org.enterprise_id,
        extra={"full_name": user.full_name, "language": user.language, "org_name": org.name},
    )


def _recent_failures(db: Session, *, username: str, since: datetime) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.username == username, LoginAttempt.at >= since, ~LoginAttempt.ok)
        )
        or 0
    )


def authenticate(db: Session, *, username: str, password: str, client: str) -> User:
    """Check a password; throttle per username; say nothing about which part was wrong."""
    s = get_settings()
    now = utcnow()
    window = now - timedelta(minutes=s.login_window_minutes)
    if _recent_failures(db, username=username, since=window) >= s.login_max_failures:
        raise LockedOut(s.login_lockout_minutes)
    user = db.scalar(select(User).where(User.username == username, User.active))
    ok = verify_password(user.password_hash if user else None, password)
    db.add(LoginAttempt(username=username[:80], client=client[:64], at=now, ok=ok))
    db.commit()
    if not ok or user is None:
        raise BadCredentials()
    return user


def open_session(db: Session, *, user: User, kind: str) -> tuple[str, AuthSession]:
    s = get_settings()
    token = secrets.token_urlsafe(32)
    hours = s.session_hours if kind == "cookie" else s.token_hours
    now = utcnow()
    row = AuthSession(
        digest=token_digest(token),
        kind=kind,
        user_id=user.id,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.add(row)
    db.commit()
    return token, row


def resolve_session(db: Session, *, token: str, kind: str) -> tuple[Actor, AuthSession]:
    row = db.scalar(select(AuthSession).where(AuthSession.digest == token_digest(token)))
    if row is None or row.kind != kind or row.revoked or row.expires_at < utcnow():
        raise Unauthenticated("session expired or invalid")
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("session expired or invalid")
    return actor_for_user(user), row


def close_session(db: Session, *, token: str) -> None:
    row = db.scalar(select(AuthSession).where(AuthSession.digest == token_digest(token)))
    if row is not None:
        row.revoked = True
        db.commit()


def create_user(db: Session, *, actor: Actor, data: UserIn) -> User:
    actor.require(MANAGE_USERS)
    org = db.get(Organisation, data.organisation_id)
    if org is None:
        raise RuleViolation("unknown organisation", field="organisation_id")
    if data.role not in ORG_KINDS.get(org.kind, set()):
        raise RuleViolation(
            f"role {data.role} does not fit a {org.kind} organisation", field="role"
        )
    if db.scalar(select(User.id).where(User.username == data.username)):
        raise Conflict("username already taken", field="username")
    user = User(
        username=data.username,
        full_name=data.full_name,
        password_hash=hash_password(data.password),
        role=data.role.value,
        organisation_id=org.id,
        language=data.language,
        created_by=actor.label,
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        after={"username": user.username, "role": user.role, "organisation_id": org.id},
    )
    db.commit()
    return user


def _key_parts(key: str) -> tuple[str, str]:
    try:
        _, prefix, secret = key.split("_", 2)
    except ValueError:
        raise Unauthenticated("malformed API key") from None
    return prefix, secret


def create_api_key(db: Session, *, actor: Actor, data: ApiKeyIn) -> tuple[str, ApiKey]:
    actor.require(MANAGE_USERS)
    org = db.get(Organisation, data.organisation_id)
    if org is None:
        raise RuleViolation("unknown organisation", field="organisation_id")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(
        prefix=prefix,
        digest=token_digest(secret),
        name=data.name,
        organisation_id=org.id,
        feed=data.feed,
        rate_per_minute=data.rate_per_minute,
        created_by=actor.label,
        expires_at=utcnow() + timedelta(days=data.valid_days),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="api_key.create",
        object_type="api_key",
        object_id=row.id,
        after={"prefix": prefix, "feed": data.feed, "org": org.id},
    )
    db.commit()
    return f"qk_{prefix}_{secret}", row


def revoke_api_key(db: Session, *, actor: Actor, key_id: int) -> ApiKey:
    actor.require(MANAGE_USERS)
    row = db.get(ApiKey, key_id)
    if row is None:
        raise NotFound("API key not found")
    row.revoked_at = utcnow()
    audit.record(db, actor=actor, action="api_key.revoke", object_type="api_key", object_id=row.id)
    db.commit()
    return row


def rotate_api_key(db: Session, *, actor: Actor, key_id: int) -> tuple[str, ApiKey]:
    """Issue a new key with the same feed and organisation and revoke the old one at once."""
    old = revoke_api_key(db, actor=actor, key_id=key_id)
    days = max(1, ((old.expires_at or utcnow()) - utcnow()).days)
    data = ApiKeyIn(
        name=old.name,
        organisation_id=old.organisation_id,
        feed=old.feed,
        rate_per_minute=old.rate_per_minute,
        valid_days=days,
    )
    return create_api_key(db, actor=actor, data=data)


def resolve_api_key(db: Session, *, key: str) -> Actor:
    prefix, secret = _key_parts(key)
    row = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    now = utcnow()
    if row is None or row.digest != token_digest(secret):
        raise Unauthenticated("unknown API key")
    if row.revoked_at is not None or (row.expires_at and row.expires_at < now):
        raise Unauthenticated("API key expired or revoked")
    return _key_actor(row)


def get_user_actor(db: Session, *, user_id: int) -> Actor | None:
    """The actor of an active user (scheduled work runs with its owner's scope)."""
    user = db.get(User, user_id)
    return actor_for_user(user) if user is not None and user.active else None


def get_organisation(db: Session, *, organisation_id: int) -> Organisation | None:
    """An organisation by id (other domains use it to decide what an organisation may see)."""
    return db.get(Organisation, organisation_id)


def region_user_ids(db: Session, *, region_code: str, role: Role) -> list[int]:
    """Active users with `role` in organisations of the region, oldest account first (e.g. the
    labour inspectors an accident in the region is assigned to)."""
    stmt = (
        select(User.id)
        .join(Organisation, User.organisation_id == Organisation.id)
        .where(
            User.role == role.value,
            User.active.is_(True),
            Organisation.region_code == region_code,
        )
        .order_by(User.id)
    )
    return list(db.scalars(stmt))


def enterprise_users(db: Session, *, enterprise_id: int, role: Role) -> list[tuple[int, str, str]]:
    """(id, username, full name) of active users with `role` in the enterprise's organisations
    (e.g. the worker accounts an OSH officer links to registry workers)."""
    stmt = (
        select(User.id, User.username, User.full_name)
        .join(Organisation, User.organisation_id == Organisation.id)
        .where(
            User.role == role.value,
            User.active.is_(True),
            Organisation.enterprise_id == enterprise_id,
        )
        .order_by(User.full_name, User.id)
    )
    return [(int(i), u, n) for i, u, n in db.execute(stmt).all()]


def actor_for_api_key(db: Session, *, key_id: int) -> Actor:
    """The system actor of a stored key (background jobs act for the key that sent the data)."""
    row = db.get(ApiKey, key_id)
    if row is None:
        raise NotFound("API key not found")
    return _key_actor(row)


def _key_actor(row: ApiKey) -> Actor:
    org = row.organisation
    return Actor(
        kind="system",
        id=row.id,
        name=row.name,
        role=Role.SYSTEM,
        organisation_id=org.id,
        region=org.region_code,
        enterprise_id=org.enterprise_id,
        feed=row.feed,
        extra={"rate_per_minute": row.rate_per_minute, "org_name": org.name,
               "org_kind": org.kind},
    )
