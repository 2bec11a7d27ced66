"""Segment store durability: a new file's directory entry is fsync'ed before the frame counts
as stored (a file's own fsync does not make its name durable), once per file per process."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from qorgau.alarms.store import SegmentStore

T = 1_764_000_000.0  # an hour's start, so both frames below go into one file


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """Paths fsync'ed, in order (the real fsync runs)."""
    done: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        done.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return done


def _frame(store: SegmentStore, t: float, *, sync: bool = True) -> list[tuple[int, int]]:
    return store.append(7, np.array([1]), np.array([0]), np.array([t]), np.array([1.0]),
                        sync=sync)


def test_a_new_file_and_its_directories_are_fsynced_once(tmp_path: Path, synced) -> None:
    store = SegmentStore(tmp_path / "seg")
    _frame(store, T)
    path = store.path(7, T)
    assert synced == [str(path), str(path.parent), str(path.parent.parent)]
    _frame(store, T + 1)  # the same file: only the file
    assert synced[3:] == [str(path)]
    assert path.stat().st_size > 0


def test_the_fsync_beside_the_engine_syncs_a_new_files_directory(tmp_path: Path,
                                                                 synced) -> None:
    store = SegmentStore(tmp_path / "seg")
    at = _frame(store, T, sync=False)
    assert synced == []  # written, not yet on disk
    store.sync_soon(7, at).result()
    path = store.path(7, T)
    assert synced == [str(path), str(path.parent), str(path.parent.parent)]


def test_a_file_removed_meanwhile_is_made_again_with_its_directory(tmp_path: Path,
                                                                   synced) -> None:
    store = SegmentStore(tmp_path / "seg")
    _frame(store, T)
    path = store.path(7, T)
    path.unlink()
    path.parent.rmdir()  # retention took the site's last file and its directory
    synced.clear()
    _frame(store, T + 2)
    assert path.exists()
    assert synced == [str(path), str(path.parent), str(path.parent.parent)]


def test_the_files_remembered_are_bounded(tmp_path: Path, monkeypatch) -> None:
    """One file an hour a site: a worker running for a year would remember every one."""
    from qorgau.alarms import store as module

    monkeypatch.setattr(module, "ENTERED_MAX", 3)
    store = SegmentStore(tmp_path / "seg")
    for hour in range(7):
        _frame(store, T + hour * 3600)
    assert 1 <= len(store._entered) <= 3
    assert store.path(7, T + 6 * 3600) in store._entered  # the latest is kept
