"""The district's keys: an X25519 pair kiosks seal personal data to, an Ed25519 pair to sign with.

Private keys live on the server only, in files outside the database (``[server] keys_dir``,
default ``<data_dir>/keys``), each written 0600 whatever the umask (opened with that mode
and chmod'ed again), in a directory made 0700. A copy of the database therefore opens no
seal: the database holds only sealed text and public fingerprints.

Layout: ``encryption/<fingerprint>.pem`` and ``signing/<fingerprint>.pem`` (PKCS#8 PEM),
plus ``encryption/current`` and ``signing/current`` naming the fingerprint in use.
``rotate`` makes a new pair and points ``current`` at it; the old private keys stay, because
kiosks that had not heard of the rotation, and every visit already sealed, still need
them: a seal is stored with the fingerprint of its key and opened with that key.
Losing this directory loses every visit still sealed in it (docs/server.md: back it up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.seal import DistrictKey, fingerprint
from sync.protocol import DistrictKeyInfo

Purpose = Literal["encryption", "signing"]
PURPOSES: tuple[Purpose, ...] = ("encryption", "signing")
CURRENT = "current"


class KeysMissing(Exception):
    """No key of this purpose yet (``keys init`` has not run), or the one a seal names is gone."""


@dataclass(frozen=True)
class KeyInfo:
    purpose: Purpose
    fingerprint: str
    current: bool
    created_at: datetime


def _raw_public(private: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def _write_private(path: Path, pem: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away; never leave any on
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)


class Keyring:
    """The keys directory of one server."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._opening: dict[str, X25519PrivateKey] = {}  # by fingerprint: a key file never changes

    def exists(self) -> bool:
        return all((self.directory / p / CURRENT).exists() for p in PURPOSES)

    def init(self) -> list[KeyInfo]:
        """The first pair of each purpose; one already there is kept (init twice is harmless)."""
        made = []
        for purpose in PURPOSES:
            if not (self.directory / purpose / CURRENT).exists():
                made.append(self._new(purpose))
        return made

    def rotate(self, purposes: tuple[Purpose, ...] = ("encryption",)) -> list[KeyInfo]:
        return [self._new(p) for p in purposes]

    def _new(self, purpose: Purpose) -> KeyInfo:
        folder = self.directory / purpose
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        os.chmod(folder, 0o700)
        private = X25519PrivateKey.generate() if purpose == "encryption" else Ed25519PrivateKey.generate()
        fp = fingerprint(_raw_public(private))
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _write_private(folder / f"{fp}.pem", pem)
        pointer = folder / f"{CURRENT}.new"
        pointer.write_text(fp + "\n", encoding="ascii")
        os.replace(pointer, folder / CURRENT)
        return self._info(purpose, fp, fp)

    def _current_fp(self, purpose: Purpose) -> str:
        try:
            return (self.directory / purpose / CURRENT).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise KeysMissing(purpose) from None

    def _info(self, purpose: Purpose, fp: str, current: str) -> KeyInfo:
        made = (self.directory / purpose / f"{fp}.pem").stat().st_mtime
        return KeyInfo(purpose, fp, fp == current, datetime.fromtimestamp(made, timezone.utc))

    def list(self) -> list[KeyInfo]:
        """Every key kept, current first within each purpose, then newest first."""
        found = []
        for purpose in PURPOSES:
            folder = self.directory / purpose
            if not folder.is_dir():
                continue
            current = self._current_fp(purpose) if (folder / CURRENT).exists() else ""
            infos = [self._info(purpose, p.stem, current) for p in folder.glob("*.pem")]
            found += sorted(infos, key=lambda k: (not k.current, -k.created_at.timestamp()))
        return found

    def _load(self, purpose: Purpose, fp: str) -> X25519PrivateKey | Ed25519PrivateKey:
        path = self.directory / purpose / f"{fp}.pem"
        if not fp.isalnum() or not path.exists():
            raise KeysMissing(f"{purpose} {fp}")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, X25519PrivateKey | Ed25519PrivateKey):
            raise KeysMissing(f"{purpose} {fp}: not a key of this purpose")
        return key

    def opening_key(self, fp: str) -> X25519PrivateKey:
        """The private key that opens seals made to the public key ``fp``."""
        if fp not in self._opening:
            key = self._load("encryption", fp)
            assert isinstance(key, X25519PrivateKey)
            self._opening[fp] = key
        return self._opening[fp]

    def announced(self) -> DistrictKeyInfo | None:
        """What enrolment and sync answers carry: the current public key; None before ``keys init``."""
        try:
            key = self.district_key()
        except KeysMissing:
            return None
        return DistrictKeyInfo(public_key=key.text(), fingerprint=key.fingerprint)

    def district_key(self) -> DistrictKey:
        """The current public key, as kiosks receive it."""
        key = self.opening_key(self._current_fp("encryption"))
        return DistrictKey(key.public_key(), self._current_fp("encryption"))

    def signing_key(self) -> Ed25519PrivateKey:
        """The current signing private key (district-signed cards, issue 18)."""
        key = self._load("signing", self._current_fp("signing"))
        assert isinstance(key, Ed25519PrivateKey)
        return key
