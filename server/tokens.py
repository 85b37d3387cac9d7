"""Secrets handed out once and stored only as hashes: device and official tokens, enrolment codes.

Tokens carry 256 random bits, so a plain SHA-256 is enough to make a stolen database
useless for impersonation (a slow password hash protects guessable secrets, not these).
"""

from __future__ import annotations

import hashlib
import secrets

from sync.protocol import normalise_enroll_code

# Crockford's base32 without I, L, O, U: an admin can read a code aloud or type it.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4  # 60 bits, e.g. 7KQ2-MX4P-9TJD


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_enroll_code() -> str:
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN)) for _ in range(CODE_GROUPS))
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """What the admin typed, scanned or pasted, in one form (the kiosk keys its enrolment nonce the same way)."""
    return normalise_enroll_code(code)
