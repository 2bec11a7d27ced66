"""Prometheus metrics: HTTP requests here; domains register their own (ingest, alarm latency,
queue depth, feed freshness) on the same registry with `counter()`, `gauge()`, `histogram()`."""

from __future__ import annotations

import gc

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import REGISTRY

REQUESTS = Counter("qorgau_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "qorgau_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# a serving or worker process freezes its start-up heap (`alarms.worker.settle_heap`): what is
# frozen here is left out of every full collection, which would otherwise pause the process
FROZEN = Gauge("qorgau_gc_frozen_objects", "Objects frozen out of the collector's reach")
FROZEN.set_function(gc.get_freeze_count)

_made: dict[str, object] = {}


def _get_or_make(kind: type, name: str, doc: str, labels: tuple[str, ...], **kw: object) -> object:
    """Idempotent: a module imported twice (tests, reloads) gets the same metric back."""
    if name not in _made:
        _made[name] = kind(name, doc, list(labels), **kw)
    return _made[name]


def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    return _get_or_make(Counter, name, doc, labels)  # type: ignore[return-value]


def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return _get_or_make(Gauge, name, doc, labels)  # type: ignore[return-value]


def histogram(name: str, doc: str, labels: tuple[str, ...] = (),
              buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS) -> Histogram:
    return _get_or_make(Histogram, name, doc, labels, buckets=buckets)  # type: ignore[return-value]


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
