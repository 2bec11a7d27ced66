"""Domain exceptions shared by every domain, mapped to HTTP in one place (app.py)."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        loc = ["body", self.field] if self.field else []
        return {"detail": [{"loc": loc, "msg": self.message, "type": self.code}]}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class RuleViolation(DomainError):
    """Input that is well-formed but breaks a domain rule; always names the field."""

    status_code = 422
    code = "rule_violation"


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"


class Unavailable(DomainError):
    """Nothing was done and the same request may succeed shortly."""

    status_code = 503
    code = "unavailable"
