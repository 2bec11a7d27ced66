"""OpenAPI declarations shared by the routers: the error body every 4xx carries, and the
media types of file downloads, so generated clients (and the schema fuzzer) know what comes back.

Usage::

    @router.get("/export.csv", response_class=Response, responses=file_responses(CSV))
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
P7S = "application/pkcs7-signature"
GEOJSON = "application/geo+json"
EVENT_STREAM = "text/event-stream"
INT_MAX = 2_147_483_647  # ids are 32-bit integer columns on PostgreSQL

Responses = dict[int | str, dict[str, Any]]


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path/header and the field")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every 4xx/503 body: one item per problem, each naming its field."""

    detail: list[ErrorItem]


# One server-sent event (HTML spec fields); OpenAPI 3.0/3.1 tools read `schema` per event.
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "id": {"type": "string"},
        "event": {"type": "string"},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer"},
    },
}


def _body_schema(media_type: str) -> dict[str, Any]:
    # JSON-based formats (GeoJSON) are objects to a client; everything else is bytes.
    if media_type == EVENT_STREAM:
        return SSE_EVENT
    if media_type.endswith("json"):
        return {"type": "object"}
    return {"type": "string", "format": "binary"}


def file_responses(*media_types: str, description: str = "The file") -> Responses:
    """A 200 whose body is a download in one of `media_types`."""
    content = {m: {"schema": _body_schema(m)} for m in media_types}
    return {200: {"description": description, "content": content}}
