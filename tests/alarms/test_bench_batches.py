"""The end-to-end benchmark's load generator writes rows and columns batches into byte
templates (benchmarks/_batches.py): what it sends must read back as the batch it stands for,
or the benchmark would measure another load than it reports."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _batches import ColumnsBatches, RowsBatches

CODES = [f"CH4-{k}" for k in range(37)] + ["Ж-1", 'q"uote', "x" * 64]
BATCHES = RowsBatches(7, CODES)
BOTH = [BATCHES, ColumnsBatches(7, CODES, value=-0.25)]


@settings(max_examples=200, deadline=None)
@given(which=st.sampled_from([0, 1]), start=st.integers(0, len(CODES) - 1),
       n=st.integers(1, len(CODES)), base=st.integers(0, 10**15), step=st.integers(0, 3),
       now=st.floats(1.0e9, 2.5e9, allow_nan=False))
def test_a_templated_batch_reads_back_as_its_document(which, start, n, base, step, now):
    seqs = base + step * np.arange(n, dtype=np.int64)
    raw = BOTH[which].message(start, seqs, now)
    want = BOTH[which].body(start, seqs, now)
    if raw is None:  # left to orjson: only when the numbers' digit counts differ
        assert len({len(str(q)) for q in seqs.tolist()}) > 1
        return
    assert orjson.loads(raw) == want
    assert raw == _compact(want)  # byte for byte what orjson writes, but the time's decimals


def _compact(doc: dict) -> bytes:
    """`orjson.dumps(doc)` with each time written with six decimals, as the template does."""
    t = doc["readings"][0]["t"] if "readings" in doc else doc["t"][0]
    fixed = b"%.6f" % t
    if "readings" in doc:
        return orjson.dumps(doc).replace(b'"t":' + orjson.dumps(t) + b",", b'"t":' + fixed + b",")
    times = orjson.dumps(doc["t"])
    return orjson.dumps(doc).replace(b'"t":' + times, b'"t":[' + b",".join([fixed] * len(doc["t"]))
                                     + b"]")


def test_the_ring_wraps_and_refuses_what_it_cannot_write():
    seqs = np.arange(100, 100 + len(CODES), dtype=np.int64)
    got = orjson.loads(BATCHES.message(len(CODES) - 1, seqs, 1.8e9))
    assert [r["d"] for r in got["readings"]][:2] == [CODES[-1], CODES[0]]
    got = orjson.loads(BOTH[1].message(len(CODES) - 1, seqs, 1.8e9))
    assert got["d"][:2] == [CODES[-1], CODES[0]] and got["s"] == seqs.tolist()
    for b in BOTH:
        assert b.message(0, np.arange(len(CODES) + 1), 1.8e9) is None  # more than devices
        assert b.message(0, np.array([9, 10]), 1.8e9) is None  # mixed digit counts
        assert b.message(0, np.array([-1]), 1.8e9) is None


def test_the_publishers_start_check_fails_on_a_wrong_template(monkeypatch):
    BATCHES.check(0, 10**6 + np.arange(len(CODES)), 1.8e9)
    monkeypatch.setattr(BATCHES, "value", 4.0)  # the document now says 4.0, the bytes 3.0
    with pytest.raises(AssertionError):
        BATCHES.check(0, 10**6 + np.arange(len(CODES)), 1.8e9)
