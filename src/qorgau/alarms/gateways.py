"""Gateways' credentials: one per gateway, its key returned once and kept only as hashes (a
SHA-256 digest for HTTP ingest, a Mosquitto hash for the broker's password file)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms.models import Gateway
from qorgau.alarms.schemas import GatewayIn
from qorgau.alarms.service import body_site
from qorgau.core import audit
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped, token_digest

NAME_MAX = 64  # alarm_gateway.name
key_digest = token_digest  # gateway keys are stored like every other secret: SHA-256 digest


def _issue_key(gw: Gateway) -> str:
    """A new key for the gateway: kept only as its SHA-256 digest (HTTP ingest) and its
    Mosquitto hash (broker password file); the plaintext is returned once."""
    from qorgau.alarms.ingest.mqtt import mosquitto_hash

    key = secrets.token_urlsafe(24)
    gw.key_digest, gw.broker_hash = key_digest(key), mosquitto_hash(key)
    return key


def account_name(site_id: int, name: str) -> str:
    """The gateway's account (MQTT username, X-Gateway): in its site's own namespace, so a
    name can only be taken by a gateway of the same site (a global name would tell one tenant
    which names another's gateways have). A name already in the namespace is kept as given."""
    prefix = f"s{site_id}-"
    return name if name.startswith(prefix) else prefix + name


def create_gateway(*, db: Session, actor: Actor, data: GatewayIn) -> tuple[Gateway, str]:
    """A gateway credential; the key is returned once and stored only as hashes."""
    actor.require(C.CONFIGURE)
    site = body_site(db, actor, data.site_id)
    name = account_name(site.id, data.name)
    if len(name) > NAME_MAX:  # the site's prefix counts
        raise RuleViolation(f"at most {NAME_MAX - len(name) + len(data.name)} characters",
                            field="name")
    if db.scalar(select(Gateway.id).where(Gateway.name == name)):
        raise Conflict("gateway name taken")
    gw = Gateway(site_id=site.id, enterprise_id=site.enterprise_id, region_code=site.region_code,
                 name=name, created_by=actor.label)
    key = _issue_key(gw)
    db.add(gw)
    db.flush()
    audit.record(db, actor=actor, action="alarms.gateway.create", object_type="alarm_gateway",
                 object_id=gw.id, after={"name": gw.name, "site_id": gw.site_id})
    db.commit()
    return gw, key


def list_gateways(*, db: Session, actor: Actor, site_id: int) -> list[Gateway]:
    actor.require(C.READ)
    site = body_site(db, actor, site_id)
    return list(db.scalars(scoped(select(Gateway), Gateway, actor).where(
        Gateway.site_id == site.id).order_by(Gateway.name)))


def rotate_gateway_key(*, db: Session, actor: Actor, gateway_id: int) -> tuple[Gateway, str]:
    """A new key, returned once: the old one stops at once for HTTP ingest and on the broker
    when its configuration is next written and reloaded (`qorgau alarms broker-config`)."""
    actor.require(C.CONFIGURE)
    gw = db.get(Gateway, gateway_id)
    if gw is None or not in_scope(gw, actor):
        raise NotFound("gateway not found")
    key = _issue_key(gw)
    audit.record(db, actor=actor, action="alarms.gateway.rotate", object_type="alarm_gateway",
                 object_id=gw.id, after={"name": gw.name, "site_id": gw.site_id})
    db.commit()
    return gw, key


def broker_accounts(db: Session) -> tuple[list[tuple[str, str, int]], list[str]]:
    """For the broker configuration (an operator's command, every site): the gateways'
    (name, Mosquitto hash, site) and the names of those without a hash (keys issued before
    the hash was kept: rotate them)."""
    rows = db.execute(select(Gateway.name, Gateway.broker_hash, Gateway.site_id)
                      .order_by(Gateway.name)).all()
    return ([(n, h, site) for n, h, site in rows if h], [n for n, h, _ in rows if not h])


def gateway_for(db: Session, *, name: str, key: str) -> Gateway | None:
    gw = db.scalar(select(Gateway).where(Gateway.name == name))
    if gw is None or not secrets.compare_digest(gw.key_digest, key_digest(key)):
        return None
    return gw
