"""Offset pagination with a hard upper bound on page size."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


class PageParams(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(25, ge=1, le=200)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


def paginate(db: Session, stmt: Select[Any], params: PageParams) -> tuple[list[Any], int]:
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(stmt.limit(params.size).offset((params.page - 1) * params.size)).all()
    return list(rows), total


def page_of(
    rows: Iterable[Any], total: int, params: PageParams, out: Callable[[Any], T]
) -> Page[T]:
    """A list endpoint's answer: each row through `out` (e.g. `SomeOut.model_validate`)."""
    return Page(items=[out(r) for r in rows], total=total, page=params.page, size=params.size)
