"""The connector shape shared by every source: drivers (file, HTTP), mapping, apply."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from qorgau.core.errors import RuleViolation
from qorgau.core.security import Actor
from qorgau.integration.bulk import Applied, FeedHandler
from qorgau.integration.schemas import RowError

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
Record = dict[str, Any]


class PassThroughRow(BaseModel):
    """Rows validated by the owning domain's service (which reports row, field and reason)."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Connector:
    feed: str
    source_format: str  # "csv" (semicolon-separated, UTF-8, header row) | "jsonl"
    sample: str  # file name under integration/samples/
    to_row: Callable[[Record], Record]  # source record → our API row
    to_source: Callable[[Record], Record]  # our row → source record (round-trip contract)
    handler: FeedHandler

    # --- drivers ------------------------------------------------------------------------
    def parse(self, text: str) -> list[Record]:
        if self.source_format == "csv":
            return [dict(r) for r in csv.DictReader(io.StringIO(text), delimiter=";")]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def render(self, records: list[Record]) -> str:
        if self.source_format == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(
                buf, fieldnames=list(records[0]), delimiter=";", lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows(records)
            return buf.getvalue()
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)

    def read_file(self, path: Path) -> list[Record]:
        """File driver: a file dropped by the source system (SFTP / shared folder)."""
        return self.parse(Path(path).read_text(encoding="utf-8-sig"))

    def fetch_http(
        self, client: httpx.Client, url: str, *, since: str | None = None
    ) -> list[Record]:
        """HTTP driver: GET the source's export; JSON pages `{"items": [...], "next": url}`
        are followed, CSV / JSON-lines bodies are parsed like files."""
        records: list[Record] = []
        next_url: str | None = url
        params = {"since": since} if since else None
        while next_url:
            resp = client.get(next_url, params=params)
            resp.raise_for_status()
            params = None  # the next link carries its own query
            if "json" in resp.headers.get("content-type", "") and resp.text.lstrip()[:1] == "{":
                page = resp.json()
                records += page.get("items", [])
                next_url = page.get("next")
            else:
                records += self.parse(resp.text)
                next_url = None
        return records

    def rows(self, records: list[Record]) -> list[Record]:
        return [self.to_row(r) for r in records]

    def sample_path(self) -> Path:
        return SAMPLES / self.sample


def blank(value: Any) -> Any:
    return None if value in ("", None) else value


def via_service(
    call: Callable[[Session, Actor, list[Record]], list[str]],
) -> Callable[[Session, Actor, list[Any], str], Applied]:
    """Wrap another domain's batch intake: its row errors become ours, nothing half-applied."""

    def apply(db: Session, actor: Actor, rows: list[Any], delivery_id: str) -> Applied:
        dicts = [r.model_dump() if isinstance(r, BaseModel) else r for r in rows]
        try:
            return Applied(call(db, actor, dicts), [])
        except RuleViolation as exc:
            errors = getattr(exc, "errors", None)
            if not errors:
                raise
            return Applied([], [_row_error(e) for e in errors])

    return apply


def _row_error(e: Any) -> RowError:
    if isinstance(e, dict):
        return RowError(
            row=e.get("index", e.get("row", 0)),
            field=str(e.get("field", "")),
            reason=str(e.get("reason", e.get("msg", ""))),
        )
    return RowError(row=e.row, field=e.field, reason=getattr(e, "msg", str(e)))


def evidence_apply(source: str) -> Callable[[Session, Actor, list[Any], str], Applied]:
    """Concealment evidence intake (trauma visits, sick leave, insurance claims)."""

    def call(db: Session, actor: Actor, rows: list[Record]) -> list[str]:
        from qorgau.concealment import service as concealment

        out = concealment.submit_evidence(db=db, actor=actor, source=source, rows=rows)
        # concealment answers created / duplicate; a duplicate is our "unchanged"
        return [{"duplicate": "unchanged"}.get(r["status"], r["status"]) for r in out["rows"]]

    return via_service(call)
