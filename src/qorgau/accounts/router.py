"""Authentication and account administration API."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qorgau.accounts import service
from qorgau.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    MeOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from qorgau.core.deps import ActorDep, DbDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenOut)
def issue_token(data: TokenIn, request: Request, db: DbDep) -> TokenOut:
    """Exchange a username and password for a bearer token (throttled on failures)."""
    client = request.client.host if request.client else "?"
    user = service.authenticate(db, username=data.username, password=data.password, client=client)
    token, row = service.open_session(db, user=user, kind="bearer")
    return TokenOut(access_token=token, expires_at=row.expires_at)


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    return MeOut(
        username=actor.name,
        name=str(actor.extra.get("full_name", actor.name)),
        role=actor.role.value,
        organisation_id=actor.organisation_id,
        region=actor.region,
        enterprise_id=actor.enterprise_id,
    )


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(data: UserIn, db: DbDep, actor: ActorDep) -> UserOut:
    return UserOut.model_validate(service.create_user(db, actor=actor, data=data))


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(data: ApiKeyIn, db: DbDep, actor: ActorDep) -> ApiKeyCreated:
    key, row = service.create_api_key(db, actor=actor, data=data)
    return ApiKeyCreated(key=key, **ApiKeyOut.model_validate(row).model_dump())


@router.post("/api-keys/{key_id}/rotate", response_model=ApiKeyCreated)
def rotate_api_key(key_id: int, db: DbDep, actor: ActorDep) -> ApiKeyCreated:
    key, row = service.rotate_api_key(db, actor=actor, key_id=key_id)
    return ApiKeyCreated(key=key, **ApiKeyOut.model_validate(row).model_dump())


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut)
def revoke_api_key(key_id: int, db: DbDep, actor: ActorDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(service.revoke_api_key(db, actor=actor, key_id=key_id))
