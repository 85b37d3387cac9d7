"""Sealing personal data to the district's public key: the kiosk can write it, never read it.

A visit's personal fields and raw payload are encrypted with HPKE (RFC 9180, base mode:
DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) to the district's X25519
public key before the visit is committed. Each seal has its own ephemeral key, so the
kiosk holds nothing that opens what it wrote; only the district server's private key does.
The visit's id is bound in as HPKE ``info``: a seal moved onto another visit does not open.

Why HPKE through ``cryptography`` and not libsodium's sealed boxes through PyNaCl:
both are kept by the Python Cryptographic Authority, and both seal one visit in a tenth of
a millisecond, mostly the X25519 key generation and exchange every such seal must do
(bench/seal_choice.py, here: HPKE 0.104 ms, sealed box 0.070 ms, the bare X25519 work
0.082 ms at p50; a bare SD-card commit is several milliseconds). The 0.03 ms PyNaCl saves
buys less than HPKE gives: an RFC (9180) with test vectors and implementations in every
language a district might later open seals with, a visit id bound into each seal, and no
new dependency: ``cryptography`` already ships with both products (DCC signatures, USB
files), so there is one cryptography library fewer to keep patched on every kiosk.

A fingerprint names a public key: the first 20 bytes of SHA-256 over its 32 raw bytes, in
hex. The server prints it (``keys list``/``keys export``), the kiosk checks a key loaded
by hand against it, and every seal is stored beside the fingerprint of its key so the
server knows which private key opens it after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
INFO_PREFIX = b"checkpoint-kiosk visit v1:"
FINGERPRINT_BYTES = 20


class UnusableKey(ValueError):
    """A public key or fingerprint that cannot be used (malformed, or not the expected one)."""


def fingerprint(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).digest()[:FINGERPRINT_BYTES].hex()


def grouped(fp: str) -> str:
    """A fingerprint as people compare it: groups of four."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def normalise_fingerprint(text: str) -> str:
    return "".join(ch for ch in text.lower() if not ch.isspace() and ch not in ":-")


@dataclass(frozen=True)
class DistrictKey:
    """The district's current public key as a kiosk keeps it."""

    public: X25519PublicKey
    fingerprint: str

    @classmethod
    def from_text(cls, public_b64: str, expected_fingerprint: str | None = None) -> DistrictKey:
        """Parse base64 of the 32 raw bytes; UnusableKey when malformed or not ``expected_fingerprint``."""
        try:
            raw = base64.b64decode(public_b64.strip(), validate=True)
            public = X25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise UnusableKey("not an X25519 public key") from exc
        fp = fingerprint(raw)
        if expected_fingerprint is not None and normalise_fingerprint(expected_fingerprint) != fp:
            raise UnusableKey("fingerprint does not match")
        return cls(public, fp)

    def text(self) -> str:
        return base64.b64encode(self.public.public_bytes_raw()).decode()


def _info(visit_id: str) -> bytes:
    return INFO_PREFIX + visit_id.encode()


def seal(key: DistrictKey, visit_id: str, secret: dict[str, Any]) -> bytes:
    """The JSON of ``secret`` sealed to ``key`` for the visit ``visit_id``."""
    plain = json.dumps(secret, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return SUITE.encrypt(plain, key.public, info=_info(visit_id))


def open_sealed(private: X25519PrivateKey, visit_id: str, sealed: bytes) -> dict[str, Any]:
    """What ``seal`` sealed; cryptography's InvalidTag when the key or the visit id is wrong."""
    value = json.loads(SUITE.decrypt(sealed, private, info=_info(visit_id)))
    if not isinstance(value, dict):
        raise ValueError("a seal holds a JSON object")
    return value
