"""The admin PIN: stored only as a salted scrypt hash, with a lockout that survives restarts.

The kiosk stands in a public place all day; whoever guesses the PIN can export every
visit to a USB stick. So the hash is slow (scrypt), the file is readable by the kiosk
user only, and after ``attempts`` wrong PINs in a row the admin screen stays shut for a
while that doubles with each further miss, written to disk so pulling the plug does not
reset it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PIN_FILE = "admin-pin.json"
PIN_MIN, PIN_MAX = 4, 12
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # ≈ 50 ms and 16 MiB here: fine for a person, slow for a guesser
MAX_LOCKOUT_S = 3600.0


class PinError(ValueError):
    """A PIN that cannot be set (wrong length, not digits); ``code`` names the problem."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Check:
    """The outcome of one PIN entry: ok, or wrong with attempts left, or locked for a while."""

    ok: bool
    attempts_left: int = 0
    locked_s: float = 0.0


def valid_pin(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX


def _hash(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


class PinStore:
    """The PIN file in the kiosk's data directory (mode 0600); ``now`` is wall-clock seconds."""

    def __init__(self, data_dir: Path, *, attempts: int = 5, lockout_s: float = 60.0, now: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / PIN_FILE
        self.attempts = attempts
        self.lockout_s = lockout_s
        self.now = now

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {"corrupt": True}  # never "no PIN": a damaged file must not open the admin screen

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @property
    def is_set(self) -> bool:
        data = self._read()
        return "hash" in data or "corrupt" in data

    def set_pin(self, pin: str) -> None:
        """Store a new PIN (4-12 digits); clears any lockout."""
        if not valid_pin(pin):
            raise PinError("pin_format")
        salt = secrets.token_bytes(16)
        digest = _hash(pin, salt, **SCRYPT)
        self._write({"scheme": "scrypt", **SCRYPT, "salt": salt.hex(), "hash": digest.hex(), "failures": 0, "locked_until": 0.0})

    def locked_for(self) -> float:
        """Seconds until the next PIN may be tried (0: now)."""
        data = self._read()
        remaining = float(data.get("locked_until", 0.0)) - self.now()
        return min(max(remaining, 0.0), MAX_LOCKOUT_S)  # a clock set back must not lock for days

    def check(self, pin: str) -> Check:
        """Verify a PIN entry, counting failures and locking out after too many."""
        data = self._read()
        if "hash" not in data:
            return Check(ok=False, attempts_left=0, locked_s=MAX_LOCKOUT_S if "corrupt" in data else 0.0)
        locked = self.locked_for()
        if locked > 0:
            return Check(ok=False, locked_s=locked)
        digest = _hash(pin, bytes.fromhex(data["salt"]), data["n"], data["r"], data["p"])
        if hmac.compare_digest(digest.hex(), data["hash"]):
            if data.get("failures"):
                self._write({**data, "failures": 0, "locked_until": 0.0})
            return Check(ok=True)
        failures = int(data.get("failures", 0)) + 1
        over = failures - self.attempts
        locked_s = min(self.lockout_s * 2**over, MAX_LOCKOUT_S) if over >= 0 else 0.0
        self._write({**data, "failures": failures, "locked_until": self.now() + locked_s if locked_s else 0.0})
        return Check(ok=False, attempts_left=max(self.attempts - failures, 0), locked_s=locked_s)
