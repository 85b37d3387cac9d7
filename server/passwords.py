"""Officials' console passwords, hashed with argon2id (argon2-cffi).

Unlike tokens (256 random bits, a SHA-256 is enough: server/tokens.py), passwords are
chosen by people and guessable, so a stolen database must make each guess expensive.
argon2id is memory-hard (a GPU farm gains little) and is OWASP's first choice;
argon2-cffi's ``PasswordHasher`` keeps its parameters inside the hash, so raising them
later rehashes each password at its next sign-in (``needs_rehash``). hashlib.scrypt would
need no dependency but leaves encoding, parameters and constant-time checks to us.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk.catalog import bilingual
from server.errors import UserError

MIN_LENGTH = 10
MAX_LENGTH = 200
_hasher = PasswordHasher()  # argon2id, RFC 9106's low-memory profile (64 MiB, 3 passes)


@cache
def _dummy() -> str:
    """Verified against when no official has the name, so an unknown name costs as much time
    as a wrong password and a timing does not tell which names exist. Made at first use, not
    at import: a hash costs 64 MiB and a noticeable moment, which a server start need not pay."""
    return _hasher.hash("not anyone's password")


def check_strength(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise UserError(
            "password_weak",
            bilingual(
                "the password must be {MIN_LENGTH} to {MAX_LENGTH} characters long", MIN_LENGTH=MIN_LENGTH, MAX_LENGTH=MAX_LENGTH
            ),
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no password set, checked all the same)."""
    try:
        return _hasher.verify(stored or _dummy(), password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
