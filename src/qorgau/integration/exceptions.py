"""Integration errors (all map to HTTP through qorgau.core.errors)."""

from __future__ import annotations

from qorgau.core.errors import Conflict, DomainError, Forbidden


class WrongFeed(Forbidden):
    def __init__(self, feed: str) -> None:
        super().__init__(f"this API key is not scoped to the {feed} feed")


class IdempotencyMismatch(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "Idempotency-Key was already used with a different request body",
            field="Idempotency-Key",
        )


class IdempotencyInProgress(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "a request with this Idempotency-Key is still being processed", field="Idempotency-Key"
        )


class BatchTooLarge(DomainError):
    status_code = 413
    code = "too_large"

