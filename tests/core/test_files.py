"""core.files: the one upload path (size limit, type read from the bytes, digest, durable write)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from qorgau.core import files
from qorgau.core.config import get_settings
from qorgau.core.errors import RuleViolation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
EXE = b"MZ\x90\x00" + b"\x00" * 60
PHOTOS = {"image/jpeg", "image/png", "image/webp"}


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    return tmp_path


def test_accepted_file_is_stored_under_its_digest(var_dir: Path) -> None:
    stored = files.store(PNG, "../../etc/pic.png", folder="files/x", types=PHOTOS)
    digest = hashlib.sha256(PNG).hexdigest()
    assert stored.sha256 == digest and stored.mime == "image/png" and stored.size == len(PNG)
    assert Path(stored.path) == var_dir / "files/x" / digest[:2] / digest
    assert Path(stored.path).read_bytes() == PNG
    assert stored.name == "pic.png"  # no directories from the client's name
    assert stored.as_dict() == {
        "name": "pic.png",
        "mime": "image/png",
        "size": 72,
        "sha256": digest,
    }


def test_sha256_is_stable_and_same_bytes_are_kept_once(var_dir: Path) -> None:
    a = files.store(PDF, "a.pdf", folder="f", types={"application/pdf"})
    b = files.store(PDF, "b.pdf", folder="f", types={"application/pdf"})
    assert a.sha256 == b.sha256 == files.sha256(PDF) == hashlib.sha256(PDF).hexdigest()
    assert a.path == b.path
    assert [p.name for p in (var_dir / "f").rglob("*") if p.is_file()] == [a.sha256]


def test_oversize_refused_before_anything_is_written(var_dir: Path) -> None:
    with pytest.raises(RuleViolation) as err:
        files.store(PNG, "p.png", folder="f", types=PHOTOS, field="photos", max_bytes=len(PNG) - 1)
    assert err.value.field == "photos" and "larger than" in err.value.message
    assert not (var_dir / "f").exists()
    # Without an explicit limit the configured upload limit applies.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(get_settings(), "max_upload_bytes", 10)
        with pytest.raises(RuleViolation, match="larger than 10 bytes"):
            files.check(PNG, "p.png", types=PHOTOS)


def test_empty_file_refused() -> None:
    with pytest.raises(RuleViolation, match="empty") as err:
        files.check(b"", "p.png", types=PHOTOS, field="act")
    assert err.value.field == "act"


@pytest.mark.parametrize(
    ("content", "found"), [(EXE, "application/x-msdownload"), (PDF, "application/pdf")]
)
def test_wrong_type_refused_naming_the_field(var_dir: Path, content: bytes, found: str) -> None:
    with pytest.raises(RuleViolation) as err:
        files.store(content, "photo.png", folder="f", types=PHOTOS, field="photos")
    assert err.value.field == "photos"
    assert err.value.to_dict()["detail"][0]["loc"] == ["body", "photos"]
    assert found in err.value.message and "JPEG, PNG, WebP" in err.value.message
    assert not (var_dir / "f").exists()


def test_extension_must_agree_with_content_when_asked() -> None:
    # Bytes of an accepted type behind another type's name: refused only when matching is on.
    assert files.check(PNG, "photo.jpg", types=PHOTOS) == "image/png"
    with pytest.raises(RuleViolation, match=r"named \.jpg but its content is image/png"):
        files.check(PNG, "photo.jpg", types=PHOTOS, match_extension=True)
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    for name in ("p.jpg", "p.JPEG", "photo"):
        assert files.check(jpeg, name, types=PHOTOS, match_extension=True) == "image/jpeg"


def test_write_is_durable(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file's data and the folder entry are both fsynced, and no temporary file remains."""
    synced: list[os.stat_result] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.fstat(fd))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    stored = files.store(PDF, "act.pdf", folder="f", types={"application/pdf"})
    target = Path(stored.path)
    inodes = {(s.st_dev, s.st_ino) for s in synced}
    for path in (target, target.parent):
        st = path.stat()
        assert (st.st_dev, st.st_ino) in inodes, f"{path} was not fsynced"
    assert list(target.parent.iterdir()) == [target]


def test_failed_write_leaves_nothing(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        files.store(PDF, "act.pdf", folder="f", types={"application/pdf"})
    digest = files.sha256(PDF)
    assert list((var_dir / "f" / digest[:2]).iterdir()) == []
