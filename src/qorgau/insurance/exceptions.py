"""Insurance errors: a rejected batch lists every bad row (row index and field)."""

from __future__ import annotations

from dataclasses import dataclass

from qorgau.core.errors import NotFound, RuleViolation


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    msg: str


class BatchRejected(RuleViolation):
    """Nothing was applied; each problem names its row (0-based) and field."""

    def __init__(self, errors: list[RowError], *, collection: str = "contracts") -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was applied", field=collection)
        self.errors = sorted(errors, key=lambda e: (e.row, e.field))
        self.collection = collection

    def to_dict(self) -> dict[str, object]:
        return {
            "detail": [
                {"loc": ["body", self.collection, e.row, e.field], "msg": e.msg, "type": self.code}
                for e in self.errors
            ]
        }


class ContractNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("contract not found")
