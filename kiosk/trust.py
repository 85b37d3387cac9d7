"""Signer certificates for vaccine certificates (EU DCC), loaded from a directory.

The kiosk is offline, so an admin copies the signer certificates (DSCs) onto it. Files
come from many sources: PEM or DER, any file name, several PEM certificates per file.
A broken file must not stop the kiosk from starting, but the admin must be told, so
loading never raises: each file that gives no certificate is listed in ``problems``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

MAX_FILE_BYTES = 1 << 20  # a signer certificate is ~2 KB; anything huge is a mistake
KID_LENGTH = 8

_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")


def key_id(cert: x509.Certificate) -> bytes:
    """The DCC key id: first 8 bytes of SHA-256 over the certificate's DER."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()[:KID_LENGTH]


def _parse(data: bytes) -> list[x509.Certificate]:
    """Certificates in one file: PEM (one or many), DER, or bare base64 DER."""
    if b"-----BEGIN" in data:
        return list(x509.load_pem_x509_certificates(data))
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        if not _BASE64_TEXT.match(data):
            raise
    try:  # one base64 line, as trust lists and test vectors ship them
        der = base64.b64decode(b"".join(data.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
    return [x509.load_der_x509_certificate(der)]


@dataclass
class TrustStore:
    """Signer certificates indexed by DCC key id; ``problems`` lists skipped files."""

    _by_kid: dict[bytes, x509.Certificate] = field(default_factory=dict)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @classmethod
    def empty(cls) -> TrustStore:
        """No signers: signatures are then reported as not checked."""
        return cls()

    @classmethod
    def from_dir(cls, path: Path | None) -> TrustStore:
        """Load every certificate file directly in ``path``; never raises."""
        store = cls()
        if path is None:
            return store
        path = Path(path)
        try:
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        except OSError as exc:
            store.problems.append((path, f"cannot read directory: {exc.strerror or exc}"))
            return store
        for file in entries:
            store._load_file(file)
        return store

    def _load_file(self, file: Path) -> None:
        try:
            if not file.is_file():
                return
            if file.stat().st_size > MAX_FILE_BYTES:
                self.problems.append((file, "file too large"))
                return
            data = file.read_bytes()
        except OSError as exc:
            self.problems.append((file, f"cannot read: {exc.strerror or exc}"))
            return
        try:
            certs = _parse(data)
        except Exception:  # any parser failure means "not a certificate"
            self.problems.append((file, "not a certificate (PEM or DER)"))
            return
        for cert in certs:
            try:
                cert.public_key()  # unsupported key types fail here, not at scan time
            except Exception:
                self.problems.append((file, "certificate with an unsupported key"))
                continue
            self.add(cert)

    def add(self, cert: x509.Certificate) -> bytes:
        """Add one certificate; returns its key id. The first one wins on a clash."""
        kid = key_id(cert)
        self._by_kid.setdefault(kid, cert)
        return kid

    def get(self, kid: bytes) -> x509.Certificate | None:
        """The signer certificate for a key id, if trusted."""
        return self._by_kid.get(kid)

    def __len__(self) -> int:
        return len(self._by_kid)
