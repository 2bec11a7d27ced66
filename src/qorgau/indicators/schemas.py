"""Query parameters shared by the indicator API and pages."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from qorgau.indicators.service import Filters, default_filters


class FilterParams(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shared with other query params (by, on)
    start: date | None = Field(None, description="First day (default 1 January this year)")
    end: date | None = Field(None, description="Last day (default today)")
    region: str | None = Field(None, pattern=r"^KZ-\d{2}$")
    section: str | None = Field(None, pattern="^[A-U]$")
    severity: str | None = Field(None, pattern="^(minor|severe|fatal)$")
    cause: str | None = Field(None, pattern=r"^C\d{2}$")
    enterprise_id: int | None = Field(None, gt=0)

    def filters(self) -> Filters:
        d = default_filters()
        return Filters(
            start=self.start or (date(self.end.year, 1, 1) if self.end else d.start),
            end=self.end or d.end,
            region=self.region,
            section=self.section,
            severity=self.severity,
            cause=self.cause,
            enterprise_id=self.enterprise_id,
        )
