"""This kiosk's enrolment: the server it sends to, its device id and token, its checkpoint.

The sync client writes it when an enrolment code is redeemed; the core reads it so that
visits carry the checkpoint the server enrolled this device for, and so that ``status``
can say where visits go. It holds the device token, so the file is created readable by
the kiosk's user only (0600) and replaced atomically: a power cut leaves the old one or
the new one, never half of either.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ENROLMENT_FILE = "enrolment.json"


@dataclass(frozen=True)
class Enrolment:
    server: str
    device_id: str
    token: str
    checkpoint: dict[str, str]  # code, name, commune, district, province, as the server knows them
    enrolled_at: datetime

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"enrolled_at": self.enrolled_at.isoformat()}


def enrolment_path(data_dir: Path) -> Path:
    return Path(data_dir) / ENROLMENT_FILE


def read_enrolment(data_dir: Path) -> Enrolment | None:
    """The enrolment, or None when the kiosk was never enrolled (or the file is unusable)."""
    try:
        data = json.loads(enrolment_path(data_dir).read_text(encoding="utf-8"))
        return Enrolment(
            server=data["server"],
            device_id=data["device_id"],
            token=data["token"],
            checkpoint=dict(data["checkpoint"]),
            enrolled_at=datetime.fromisoformat(data["enrolled_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_enrolment(data_dir: Path, enrolment: Enrolment) -> Path:
    """Replace the enrolment file atomically, mode 0600 from its first byte."""
    path = enrolment_path(data_dir)
    write_private_json(path, enrolment.to_json())
    return path


def write_private_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON atomically and durably, mode 0600 from its first
    byte (directory 0700): what only the kiosk's user may read (a token, an enrolment nonce)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        durable_replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def durable_replace(temporary: Path, path: Path) -> None:
    """Rename a written and fsync'd file into place, and make the rename itself survive a power
    cut or a pulled USB stick (best effort where the filesystem cannot fsync a directory)."""
    os.replace(temporary, path)
    try:
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)
