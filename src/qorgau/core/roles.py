"""Roles, their reach (national / regional / enterprise / organisation) and their permissions."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MINISTRY_ANALYST = "ministry_analyst"
    LABOUR_INSPECTOR = "labour_inspector"
    AKIMAT = "akimat"
    EMERGENCY_INSPECTOR = "emergency_inspector"
    INDUSTRY_OFFICER = "industry_officer"
    EMPLOYER_OSH = "employer_osh"
    # A mine's dispatch room: acts on the enterprise's alarms, configures nothing.
    SHIFT_DISPATCHER = "dispatcher"
    # A militarised mine rescue unit (VGSCh) serving a region's mines: life-safety alarms.
    MINE_RESCUE = "mine_rescue"
    INSURER = "insurer"
    HOSPITAL_CLERK = "hospital_clerk"
    WORKER = "worker"
    SYSTEM = "system"
    ADMIN = "admin"


class Reach(StrEnum):
    NATIONAL = "national"
    REGION = "region"
    ENTERPRISE = "enterprise"
    ORGANISATION = "organisation"


REACH: dict[Role, Reach] = {
    Role.MINISTRY_ANALYST: Reach.NATIONAL,
    Role.INDUSTRY_OFFICER: Reach.NATIONAL,
    Role.ADMIN: Reach.NATIONAL,
    Role.LABOUR_INSPECTOR: Reach.REGION,
    Role.AKIMAT: Reach.REGION,
    Role.EMERGENCY_INSPECTOR: Reach.REGION,
    Role.MINE_RESCUE: Reach.REGION,
    Role.EMPLOYER_OSH: Reach.ENTERPRISE,
    Role.SHIFT_DISPATCHER: Reach.ENTERPRISE,
    Role.WORKER: Reach.ENTERPRISE,
    Role.INSURER: Reach.ORGANISATION,
    Role.HOSPITAL_CLERK: Reach.ORGANISATION,
    Role.SYSTEM: Reach.ORGANISATION,
}

# Organisation kinds and the roles their users may hold.
ORG_KINDS: dict[str, set[Role]] = {
    "ministry": {Role.MINISTRY_ANALYST, Role.ADMIN},
    "inspectorate": {Role.LABOUR_INSPECTOR},
    "akimat": {Role.AKIMAT},
    "emergency_ministry": {Role.EMERGENCY_INSPECTOR},
    "industry_ministry": {Role.INDUSTRY_OFFICER},
    "enterprise": {Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.WORKER},
    "mine_rescue": {Role.MINE_RESCUE},
    "insurer": {Role.INSURER},
    "hospital": {Role.HOSPITAL_CLERK},
    "state_system": {Role.SYSTEM},
}

READ_REGISTRY = "registry.read"
WRITE_REGISTRY = "registry.write"
WRITE_SITES = "registry.sites.write"
READ_SITE = "registry.site.read"  # one site by id, in scope (domains add their operators)
READ_WORKERS = "registry.workers.read"
MANAGE_USERS = "accounts.manage"
READ_AUDIT = "audit.read"

_ALL_READERS = {
    Role.MINISTRY_ANALYST,
    Role.LABOUR_INSPECTOR,
    Role.AKIMAT,
    Role.EMERGENCY_INSPECTOR,
    Role.INDUSTRY_OFFICER,
    Role.EMPLOYER_OSH,
    Role.INSURER,
    Role.ADMIN,
}

# Domains add their own permissions with grant(); core only lists its own.
PERMISSIONS: dict[str, set[Role]] = {
    READ_REGISTRY: set(_ALL_READERS),
    READ_SITE: set(_ALL_READERS),
    WRITE_REGISTRY: {Role.ADMIN, Role.SYSTEM},
    WRITE_SITES: {Role.ADMIN, Role.EMPLOYER_OSH},
    READ_WORKERS: {Role.ADMIN, Role.LABOUR_INSPECTOR, Role.EMPLOYER_OSH, Role.MINISTRY_ANALYST},
    MANAGE_USERS: {Role.ADMIN},
    READ_AUDIT: {Role.ADMIN},
}


def grant(permission: str, roles: set[Role]) -> str:
    """Declare a domain permission once, at import time of the domain's constants."""
    PERMISSIONS.setdefault(permission, set()).update(roles)
    return permission


def allowed(role: Role, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, set())
