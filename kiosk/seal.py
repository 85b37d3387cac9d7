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

How a seal is made on the scan path (kiosk/store.py): HPKE's encapsulation (a fresh
ephemeral X25519 key pair, its exchange with the district key, the KEM's and the key
schedule's message-independent HKDF steps) does not depend on the visit, and the rest of
the key schedule depends only on the visit's id, a random UUID that may as well be drawn
ahead. So a ``SealPool`` prepares a few visit ids with their seals' keys while the scan
thread is idle, in memory only, and hands each out exactly once; the scan then pays only
for the JSON and the ChaCha20-Poly1305 encryption. ``cryptography``'s HPKE API encrypts in one call
and cannot split the encapsulation off, so base mode is composed here from its own
primitives (X25519, HMAC-SHA256, ChaCha20Poly1305), exactly as RFC 9180 writes it: the
output is byte for byte what ``cryptography``'s ``Suite.encrypt`` gives and what
``open_sealed`` (the server) opens, checked against RFC 9180's test vectors (A.2.1) and
against that opener (tests/test_seal_pool.py). Measured by bench/scan_latency.py: sealing
alone 0.09 ms at p50 with ``Suite.encrypt``, 0.014 ms from an encapsulation made ahead,
less with the key schedule made ahead too. When the pool is
empty (a burst faster than it refills) a seal encapsulates on the spot: slower, never
shared.

A fingerprint names a public key: the first 20 bytes of SHA-256 over its 32 raw bytes, in
hex. The server prints it (``keys list``/``keys export``), the kiosk checks a key loaded
by hand against it, and every seal is stored beside the fingerprint of its key so the
server knows which private key opens it after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
INFO_PREFIX = b"checkpoint-kiosk visit v1:"
# The district key's QR code (checkpoint-server keys export --qr, checkpoint-kiosk district-key
# --qr): letters and digits only, so a keyboard-wedge reader types it right on any layout
# (symbols such as + / = : move with the layout; a reader's caps-lock state flips the letters'
# case, so they are read in either), and QR's alphanumeric mode keeps the code small.
KEY_QR_PREFIX = "DK1"
_KEY_QR = re.compile(KEY_QR_PREFIX + r"([0-9A-F]{64})")
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

    def qr_text(self) -> str:
        """The key as the district's printed QR code carries it (``KEY_QR_PREFIX`` + 64 hex digits)."""
        return KEY_QR_PREFIX + self.public.public_bytes_raw().hex().upper()

    @classmethod
    def from_qr(cls, text: str, expected_fingerprint: str | None = None) -> DistrictKey:
        """Parse what a reader typed from that QR code (any letter case, surrounding blanks and
        line ends ignored); UnusableKey when it is not one, or not ``expected_fingerprint``."""
        found = _KEY_QR.fullmatch(text.strip().upper())
        if found is None:
            raise UnusableKey("not a district key QR code")
        return cls.from_text(base64.b64encode(bytes.fromhex(found.group(1))).decode(), expected_fingerprint)


def _info(visit_id: str) -> bytes:
    return INFO_PREFIX + visit_id.encode()


def seal(key: DistrictKey, visit_id: str, secret: dict[str, Any]) -> bytes:
    """The JSON of ``secret`` sealed to ``key`` for the visit ``visit_id``."""
    return SUITE.encrypt(_plain(secret), key.public, info=_info(visit_id))


# RFC 9180 base mode for SUITE, from its primitives (section numbers are the RFC's).
_KEM_SUITE_ID = b"KEM" + (0x0020).to_bytes(2, "big")  # DHKEM(X25519, HKDF-SHA256), 4.1
_HPKE_SUITE_ID = b"HPKE" + (0x0020).to_bytes(2, "big") + (0x0001).to_bytes(2, "big") + (0x0003).to_bytes(2, "big")  # 5.1
_MODE_BASE = b"\x00"


def _labeled_extract(salt: bytes, suite_id: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.digest(salt, b"HPKE-v1" + suite_id + label + ikm, "sha256")  # an empty salt is HashLen zeros to HMAC


def _labeled_expand(prk: bytes, suite_id: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand for ``length`` up to one SHA-256 block (32 bytes), all HPKE base mode needs here."""
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
    return hmac.digest(prk, labeled + b"\x01", "sha256")[:length]


_PSK_ID_HASH = _labeled_extract(b"", _HPKE_SUITE_ID, b"psk_id_hash", b"")


class Encapsulation(NamedTuple):
    """One encapsulation to a district key: ``enc`` (the ephemeral public key, sent) and the key
    schedule's ``secret`` (RFC 9180 5.1, before the info is mixed in). Used for one seal only."""

    enc: bytes
    secret: bytes


def encapsulate(recipient: X25519PublicKey, ephemeral: X25519PrivateKey | None = None) -> Encapsulation:
    """DHKEM Encap (RFC 9180 4.1) and the message-independent part of KeySchedule (5.1), base mode."""
    ephemeral = ephemeral or X25519PrivateKey.generate()
    dh = ephemeral.exchange(recipient)  # raises on an all-zero shared secret (a low-order key)
    enc = ephemeral.public_key().public_bytes_raw()
    eae_prk = _labeled_extract(b"", _KEM_SUITE_ID, b"eae_prk", dh)
    shared = _labeled_expand(eae_prk, _KEM_SUITE_ID, b"shared_secret", enc + recipient.public_bytes_raw(), 32)
    return Encapsulation(enc, _labeled_extract(shared, _HPKE_SUITE_ID, b"secret", b""))


def _schedule(secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """The info-dependent rest of KeySchedule (RFC 9180 5.1, base mode): (key, base_nonce)."""
    info_hash = _labeled_extract(b"", _HPKE_SUITE_ID, b"info_hash", info)
    context = _MODE_BASE + _PSK_ID_HASH + info_hash
    return (
        _labeled_expand(secret, _HPKE_SUITE_ID, b"key", context, 32),
        _labeled_expand(secret, _HPKE_SUITE_ID, b"base_nonce", context, 12),
    )


def seal_with(encapsulation: Encapsulation, plaintext: bytes, info: bytes, aad: bytes = b"") -> bytes:
    """The rest of SealBase (RFC 9180 5.1, 6.1; sequence number 0): ``enc || ciphertext``, the
    layout ``Suite.encrypt`` writes and ``Suite.decrypt`` reads."""
    key, nonce = _schedule(encapsulation.secret, info)
    return encapsulation.enc + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad or None)


class Prepared(NamedTuple):
    """Everything of one visit's seal that does not depend on what it seals: the visit's id
    (a random UUID, made here instead of at the scan), the encapsulation to the district key
    ``key_id`` and the key schedule for that id. Used for one seal only."""

    visit_id: str
    key_id: str
    enc: bytes
    aead: ChaCha20Poly1305
    nonce: bytes

    def seal(self, secret: dict[str, Any]) -> bytes:
        return self.enc + self.aead.encrypt(self.nonce, _plain(secret), None)


def prepare(key: DistrictKey, visit_id: str | None = None) -> Prepared:
    """A new visit id and its seal to ``key``, all but the encryption itself."""
    visit_id = visit_id or str(uuid.uuid4())
    made = encapsulate(key.public)
    aead_key, nonce = _schedule(made.secret, _info(visit_id))
    return Prepared(visit_id, key.fingerprint, made.enc, ChaCha20Poly1305(aead_key), nonce)


class SealPool:
    """Seals to one district key, prepared ahead (``Prepared``: a visit id and its seal) in idle time.

    ``prepare_one`` is called by the scan thread itself when it has nothing to do (the
    pipeline's queue is empty, drivers/pipeline.py), never while a scan waits: a helper
    thread was tried and measured worse than no pool at all, because its X25519 work held
    the interpreter just when a scan came back from its fsync (bench/scan_latency.py,
    notes in bench/README.md). Each prepared seal lives in this process's memory only and
    is popped once under a lock (``take``), so no two seals share an encapsulation; one
    taken for a scan that ends as a repeat or is refused is dropped, its id never used. A
    forked child starts with an empty pool.
    """

    def __init__(self, key: DistrictKey, size: int = 16) -> None:
        self.key = key
        self.size = size
        self._ready: deque[Prepared] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self.made_on_the_spot = 0  # seals that had nothing prepared (bench/scan_latency.py reports it)
        _pools.add(self)

    def prepare_one(self) -> bool:
        """Prepare one seal ahead; False when the pool is full or closed (nothing to do)."""
        if self._closed or len(self._ready) >= self.size:
            return False
        made = prepare(self.key)
        with self._lock:
            if self._closed:
                return False
            self._ready.append(made)
        return True

    def take(self) -> Prepared | None:
        """A prepared seal for the next visit, gone from the pool; None when none is ready."""
        with self._lock:
            return self._ready.popleft() if self._ready else None

    def seal(self, visit_id: str, secret: dict[str, Any], prepared: Prepared | None = None) -> bytes:
        """``secret`` sealed to this pool's key for ``visit_id``: with ``prepared`` when it was taken
        for that visit and this key (a key rotated since is not this pool's), else made now."""
        if prepared is None or prepared.visit_id != visit_id or prepared.key_id != self.key.fingerprint:
            self.made_on_the_spot += 1
            prepared = prepare(self.key, visit_id)
        return prepared.seal(secret)

    def close(self) -> None:
        """Forget what was prepared; prepare nothing more."""
        with self._lock:
            self._closed = True
            self._ready.clear()

    def _forget(self) -> None:  # in a forked child: the parent's prepared seals are the parent's
        self._ready.clear()
        self._lock = threading.Lock()


_pools: weakref.WeakSet[SealPool] = weakref.WeakSet()


def _forget_all() -> None:
    for pool in list(_pools):
        pool._forget()


os.register_at_fork(after_in_child=_forget_all)


_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))  # made once, not per seal


def _plain(secret: dict[str, Any]) -> bytes:
    return _PLAIN.encode(secret).encode()


def open_sealed(private: X25519PrivateKey, visit_id: str, sealed: bytes) -> dict[str, Any]:
    """What ``seal`` sealed; cryptography's InvalidTag when the key or the visit id is wrong."""
    value = json.loads(SUITE.decrypt(sealed, private, info=_info(visit_id)))
    if not isinstance(value, dict):
        raise ValueError("a seal holds a JSON object")
    return value
