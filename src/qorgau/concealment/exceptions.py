"""Concealment errors."""

from __future__ import annotations

from typing import Any

from qorgau.core.errors import NotFound, RuleViolation


class BatchRejected(RuleViolation):
    """A feed batch with bad rows: nothing is applied and every bad row is reported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(errors)} problem(s) in the batch; nothing was applied", field="records"
        )
        self.errors = errors

    def to_dict(self) -> dict[str, object]:
        return {
            "detail": [
                {
                    "loc": ["body", "records", e["index"], e["field"]],
                    "msg": e["reason"],
                    "type": self.code,
                    "index": e["index"],
                    "field": e["field"],
                }
                for e in self.errors
            ]
        }


class CaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("case not found")
