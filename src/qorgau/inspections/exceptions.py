"""Inspections errors."""

from __future__ import annotations

from qorgau.core.errors import NotFound, RuleViolation


class InspectionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("inspection not found")


class PrescriptionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("prescription not found")


class RowError:
    __slots__ = ("field", "msg", "row")

    def __init__(self, row: int, field: str, msg: str) -> None:
        self.row, self.field, self.msg = row, field, msg


class BatchRejected(RuleViolation):
    """Nothing was stored; each problem names its row in the list and the field."""

    def __init__(self, errors: list[RowError], *, collection: str = "answers") -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was stored", field=collection)
        self.errors, self.collection = errors, collection

    def to_dict(self) -> dict[str, object]:
        return {
            "detail": [
                {"loc": ["body", self.collection, e.row, e.field], "msg": e.msg, "type": self.code}
                for e in self.errors
            ]
        }
