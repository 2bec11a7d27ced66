"""Shared helper for benchmark scripts: print one headline figure and record it in
docs/benchmarks.md (a table per script, one row per run, with date and machine)."""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import inspect
import os
import platform
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Headline figures, one script per figure under `benchmarks/`. Each run prints
`figure: value unit (baseline: value, ratio ×N)` and appends a row below, under the script's
heading, with the date (UTC) and the machine it ran on. Figures from shared or loaded machines
are noisy: compare rows from the same machine.
"""
HEADER = "| date (UTC) | figure | value | baseline | ratio | machine |\n|---|---|---|---|---|---|\n"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def memory_walk_ns(n: int = 300_000) -> float:
    """Nanoseconds per step of a walk over n small objects in random order (best of 3): how
    fast this boot of the machine reaches memory. On the 2-core VM a slow boot took ~800-900
    ns a step, and with it every figure that allocates or walks Python objects (the ORM, the
    collector) moved 4-5×, while a tight arithmetic loop hardly moved."""
    cells = [[k] for k in range(n)]
    random.Random(1).shuffle(cells)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for c in cells:
            c[0] += 1
        best = min(best, time.perf_counter() - t)
    return best / n * 1e9


def machine() -> str:
    return (f"{platform.node()}, {cpu_model()}, {os.cpu_count()} cores, "
            f"memory walk {memory_walk_ns():.0f} ns")


def _fmt(x: float) -> str:
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def report(figure: str, value: float, unit: str, baseline_value: float, baseline_unit: str,
           *, script: str | None = None, doc: Path | None = None) -> str:
    """Print the figure beside its baseline and append a row under the script's heading."""
    ratio = value / baseline_value if baseline_value else float("inf")
    rtxt = f"{ratio:,.0f}" if abs(ratio) >= 100 else f"{ratio:.3g}"
    line = (f"{figure}: {_fmt(value)} {unit} "
            f"(baseline: {_fmt(baseline_value)} {baseline_unit}, ratio ×{rtxt})")
    print(line)
    if script is None:
        script = Path(inspect.stack()[1].filename).stem
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    row = (f"| {now} | {figure} | {_fmt(value)} {unit} | {_fmt(baseline_value)} {baseline_unit}"
           f" | ×{rtxt} | {machine()} |\n")
    _append_row(doc or DOC, script, row)
    return line


def _append_row(doc: Path, script: str, row: str) -> None:
    doc.parent.mkdir(parents=True, exist_ok=True)
    with open(doc, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # other benchmark scripts may write at the same time
        fh.seek(0)
        text = fh.read()
        if not text.lstrip().startswith("# "):
            text = INTRO + ("\n" + text.lstrip("\n") if text.strip() else "")
        fh.seek(0)
        fh.truncate()
        fh.write(_insert(text, f"## {script}", row))


def _insert(text: str, heading: str, row: str) -> str:
    """Add the row at the end of the heading's table, creating section and table if needed."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == heading)
    except StopIteration:
        return text.rstrip("\n") + f"\n\n{heading}\n\n{HEADER}{row}"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    rows = [i for i in range(start + 1, end) if lines[i].startswith("|")]
    if not rows:
        lines.insert(start + 1, f"\n{HEADER}{row}")
    else:
        lines.insert(rows[-1] + 1, row)
    return "".join(lines)
