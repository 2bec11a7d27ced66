"""Schemathesis over the whole OpenAPI document, as several roles: no server errors, and every
response conforms to its documented schema and content type.

Bounded for CI: a few examples per operation, each sent as one of the roles (hypothesis draws
which), on SQLite; the whole test takes about a minute on two cores."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from conftest import World

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

ROLES = ["admin", "inspector_krg", "osh_krg", "insurer", "worker_krg"]
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 6
# Server-sent events never end by themselves: fuzz the stream with a bounded lifetime.
BOUNDED_STREAMS = {"/api/v1/alarms/stream": {"max_s": 0.5}}


def _fuzz_operation(operation: object, headers: list[dict[str, str]]) -> None:
    path = operation.path  # type: ignore[attr-defined]

    @given(case=operation.as_strategy(), who=st.sampled_from(headers))  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: object, who: dict[str, str]) -> None:
        if path in BOUNDED_STREAMS:
            case.query = {**(case.query or {}), **BOUNDED_STREAMS[path]}  # type: ignore[attr-defined]
        # a copy: the call adds its own headers to the dict it is given
        case.call_and_validate(headers=dict(who), checks=CHECKS)  # type: ignore[attr-defined]

    run()


def test_api_never_errors_and_matches_schema(
    app: FastAPI, world: World, client_as: Callable[[str], TestClient]
) -> None:
    headers = [{"Authorization": str(client_as(role).headers["Authorization"])} for role in ROLES]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        started = time.perf_counter()
        try:
            _fuzz_operation(operation, headers)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure at once
            failures[operation.label] = str(exc)[:3000]
        timings[operation.label] = time.perf_counter() - started
    assert len(timings) > 150, f"only {len(timings)} operations in the OpenAPI document"
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
    print("slowest operations:", ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
