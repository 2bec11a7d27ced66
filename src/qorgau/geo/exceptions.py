"""Map input errors: the engine's `GeoInputError` becomes a `RuleViolation` (HTTP 422)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qorgau.core.errors import RuleViolation
from qorgau.geo.filters import GeoInputError


class MapInputError(RuleViolation):
    """Bad viewport, filter or layer name; `field` names the query parameter."""


@contextmanager
def as_rule_violation() -> Iterator[None]:
    """Run engine calls so that their input errors reach the client as a 422 naming the field."""
    try:
        yield
    except GeoInputError as exc:
        raise MapInputError(exc.message, field=exc.field) from exc
