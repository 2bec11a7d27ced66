"""Organisations, users, sessions/tokens, API keys and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec


class Organisation(CreatedMixin, Base):
    __tablename__ = "organisation"
    __scope__ = ScopeSpec(region="region_code", organisation="id")
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(300))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.iso"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)


class User(CreatedMixin, Base):
    __tablename__ = "app_user"
    __scope__ = ScopeSpec(organisation="organisation_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="ru")
    active: Mapped[bool] = mapped_column(default=True)
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class AuthSession(Base):
    """A cookie session (pages) or a bearer token (API); only the digest is stored."""

    __tablename__ = "auth_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # cookie | bearer
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


class ApiKey(CreatedMixin, Base):
    """A system account's key, scoped to one feed of one organisation."""

    __tablename__ = "api_key"
    __scope__ = ScopeSpec(organisation="organisation_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    feed: Mapped[str] = mapped_column(String(60))
    scopes: Mapped[str] = mapped_column(String(400), default="")
    rate_per_minute: Mapped[int] = mapped_column(default=600)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class LoginAttempt(Base):
    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)
    ok: Mapped[bool]
