"""This kiosk's own signing key (Ed25519): what its USB exports are signed with.

Made at the first enrolment and kept in the data directory (``device-signing.pem``, 0600
whatever the umask); its public half goes to the server in the enrolment request and is
stored with the device. The server then accepts a USB export from this device only with a
valid signature (server/usb_import.py): a copy of the server's database, which holds only
token hashes and public keys, can no longer make a file the server takes as this kiosk's.
A thief with this kiosk's SD card can sign as this kiosk (as they could send with its
token): revoking the device on the server stops both.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "device-signing.pem"


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The kiosk's key, made now if it has none (an unreadable file is replaced: only exports need it)."""
    path = Path(data_dir) / KEY_FILE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            return key
    except (OSError, ValueError):
        pass
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    partial = path.with_name(f".{KEY_FILE}.part")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    return key


def public_text(key: Ed25519PrivateKey) -> str:
    """What the enrolment request carries: base64 of the 32 raw public bytes."""
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()
