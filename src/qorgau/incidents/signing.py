"""Detached CMS/PKCS#7 signatures behind a ``Signer`` protocol.

``DevSigner`` keeps a self-signed RSA key and certificate in ``var_dir/signing`` (made on first
use). A national-CA adapter (NCALayer / KalkanCrypt) implements the same two methods and replaces
it through ``set_signer``. Verification parses the CMS with a tiny DER reader (``asn1crypto`` is
not installed): it checks that the signed ``messageDigest`` equals SHA-256 of the document and
that the signature over the signed attributes verifies with the embedded certificate's key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from qorgau.core.config import get_settings

OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")  # 1.2.840.113549.1.9.4


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    signer: str


class Signer(Protocol):
    """What the act workflow needs from a signing backend."""

    def sign(self, document: bytes) -> bytes:
        """A DER CMS SignedData with a detached signature over ``document``."""
        ...

    def subject(self) -> str: ...


class DevSigner:
    """Development signer: self-signed RSA-2048 certificate kept in var_dir."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or get_settings().var_dir / "signing"
        self._key: rsa.RSAPrivateKey | None = None
        self._cert: x509.Certificate | None = None

    def _load(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        if self._key is None or self._cert is None:
            key_path, cert_path = self.directory / "dev-key.pem", self.directory / "dev-cert.pem"
            if not key_path.exists():
                self._create(key_path, cert_path)
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._key, self._cert = key, x509.load_pem_x509_certificate(cert_path.read_bytes())
        return self._key, self._cert

    def _create(self, key_path: Path, cert_path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qorgau development"),
                x509.NameAttribute(NameOID.COMMON_NAME, "qorgau dev act signer"),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def sign(self, document: bytes) -> bytes:
        key, cert = self._load()
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(document)
            .add_signer(cert, key, hashes.SHA256())
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )

    def subject(self) -> str:
        return self._load()[1].subject.rfc4514_string()


_signer: Signer | None = None


def get_signer() -> Signer:
    global _signer
    if _signer is None:
        _signer = DevSigner()
    return _signer


def set_signer(signer: Signer | None) -> None:
    """Install another backend (e.g. an NCALayer adapter); None restores the dev signer."""
    global _signer
    _signer = signer


# --- verification ----------------------------------------------------------------------------


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, start of value, end of value, start of this TLV) for the DER item at ``pos``."""
    tag = buf[pos]
    length = buf[pos + 1]
    head = pos + 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[head : head + n], "big")
        head += n
    return tag, head, head + length, pos


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    items, pos = [], start
    while pos < end:
        item = _tlv(buf, pos)
        items.append(item)
        pos = item[2]
    return items


@dataclass(frozen=True)
class _SignerInfo:
    signed_attrs: bytes  # DER, re-tagged as SET for verification
    message_digest: bytes
    signature: bytes
    certificate: x509.Certificate


def _parse(cms: bytes) -> _SignerInfo:
    _, v0, e0, _ = _tlv(cms, 0)  # ContentInfo
    content = _children(cms, v0, e0)[1]  # [0] EXPLICIT
    _, sv, se, _ = _tlv(cms, content[1])  # SignedData SEQUENCE
    parts = _children(cms, sv, se)
    certs = next(p for p in parts if p[0] == 0xA0)
    cert_tlv = _children(cms, certs[1], certs[2])[0]
    certificate = x509.load_der_x509_certificate(cms[cert_tlv[3] : cert_tlv[2]])
    signer_set = parts[-1]
    info = _children(cms, signer_set[1], signer_set[2])[0]
    fields = _children(cms, info[1], info[2])
    attrs = next(f for f in fields if f[0] == 0xA0)
    signature = next(f for f in fields if f[0] == 0x04)
    signed_attrs = b"\x31" + cms[attrs[3] + 1 : attrs[2]]
    digest = b""
    for attr in _children(cms, attrs[1], attrs[2]):
        oid, values = _children(cms, attr[1], attr[2])
        if cms[oid[1] : oid[2]] == OID_MESSAGE_DIGEST:
            value = _children(cms, values[1], values[2])[0]
            digest = cms[value[1] : value[2]]
    return _SignerInfo(signed_attrs, digest, cms[signature[1] : signature[2]], certificate)


def _check_signature(info: _SignerInfo) -> None:
    public = info.certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(info.signature, info.signed_attrs, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(info.signature, info.signed_attrs, ec.ECDSA(hashes.SHA256()))
    else:
        raise InvalidSignature("unsupported key type")


def verify(document: bytes, cms: bytes) -> Verification:
    """Does ``cms`` sign exactly ``document``? Never raises on malformed input."""
    try:
        info = _parse(cms)
    except (IndexError, StopIteration, ValueError, TypeError) as exc:
        return Verification(False, f"malformed signature: {exc.__class__.__name__}", "")
    signer = info.certificate.subject.rfc4514_string()
    if info.message_digest != hashlib.sha256(document).digest():
        return Verification(False, "document does not match the signed digest", signer)
    try:
        _check_signature(info)
    except InvalidSignature:
        return Verification(False, "signature does not verify with the certificate", signer)
    return Verification(True, "signature valid", signer)
