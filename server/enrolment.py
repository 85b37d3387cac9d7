"""Kiosk enrolment and device tokens: one-time codes in, revocable bearer tokens out.

A code is redeemed by a conditional UPDATE, so two kiosks racing with the same code
cannot both win. Retired tokens stay on record so their holder hears *why* they stopped
working (revoked by an admin, or replaced by a rotation) instead of a bare 401.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server import audit
from server.db import writing
from server.errors import Conflict, NotFound, UserError, both
from server.places import checkpoint_row, checkpoints_query, identity
from server.schema import checkpoints, device_tokens, devices, enroll_codes
from server.tokens import digest, new_enroll_code, new_token, normalise_code
from sync.protocol import EnrollPayload, EnrollResponse

TOKEN_PREFIX = "dev"


@dataclass(frozen=True)
class EnrollCode:
    code: str
    expires_at: datetime
    qr: str  # the text the QR code holds: server URL and code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "expires_at": self.expires_at.isoformat(), "qr": self.qr}


@dataclass(frozen=True)
class DeviceAuth:
    device_id: str
    checkpoint_id: int
    checkpoint_code: str


class DeviceAuthError(Exception):
    """Why a device token was refused: ``code`` is token_unknown, token_revoked or token_rotated."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def create_enroll_code(engine: Engine, checkpoint_code: str, valid_for: timedelta, server_url: str,
                       actor: str) -> EnrollCode:
    now = datetime.now(timezone.utc)
    code = new_enroll_code()
    with writing(engine) as conn:
        row = checkpoint_row(conn, checkpoint_code)
        if not row["active"]:
            raise UserError("checkpoint_inactive", both(f"Điểm kiểm soát '{row['code']}' đã ngừng hoạt động",
                                                        f"checkpoint '{row['code']}' is deactivated"))
        conn.execute(enroll_codes.insert().values(code_hash=digest(normalise_code(code)), checkpoint_id=row["id"],
                                                  created_at=now, expires_at=now + valid_for))
        audit.write(conn, actor, "enroll_code.create", params={"checkpoint": row["code"]})
    qr = EnrollPayload(server=server_url, code=code).to_qr_text()
    return EnrollCode(code=code, expires_at=now + valid_for, qr=qr)


def _issue_token(conn: Connection, device_id: str, now: datetime) -> str:
    token = new_token(TOKEN_PREFIX)
    conn.execute(device_tokens.insert().values(token_hash=digest(token), device_id=device_id, issued_at=now))
    return token


def redeem(engine: Engine, code: str) -> EnrollResponse:
    """Exchange an enrolment code for a new device and its token; each code works once."""
    now = datetime.now(timezone.utc)
    code_hash = digest(normalise_code(code))
    device_id = str(uuid.uuid4())
    with writing(engine) as conn:
        taken = conn.execute(enroll_codes.update().where(
            enroll_codes.c.code_hash == code_hash, enroll_codes.c.used_at.is_(None), enroll_codes.c.expires_at > now,
        ).values(used_at=now).returning(enroll_codes.c.checkpoint_id)).first()
        if taken is None:
            raise _why_refused(conn, code_hash)
        conn.execute(devices.insert().values(id=device_id, checkpoint_id=taken.checkpoint_id, enrolled_at=now))
        conn.execute(enroll_codes.update().where(enroll_codes.c.code_hash == code_hash).values(device_id=device_id))
        token = _issue_token(conn, device_id, now)
        row = conn.execute(checkpoints_query().where(checkpoints.c.id == taken.checkpoint_id)).mappings().one()
        audit.write(conn, f"device:{device_id}", "device.enroll", params={"checkpoint": row["code"]})
    return EnrollResponse(device_id=device_id, token=token, checkpoint=identity(row), server_time=now)


def _why_refused(conn: Connection, code_hash: str) -> UserError:
    """404 for a code never issued, 409 for one that was used or ran out (the ``error`` code tells which)."""
    row = conn.execute(sa.select(enroll_codes.c.used_at).where(enroll_codes.c.code_hash == code_hash)).first()
    if row is None:
        return NotFound("enroll_code_unknown", both("Mã đăng ký không đúng", "unknown enrolment code"))
    if row.used_at is not None:
        return Conflict("enroll_code_used", both("Mã đăng ký đã được dùng", "enrolment code already used"))
    return Conflict("enroll_code_expired",
                     both("Mã đăng ký đã hết hạn, hãy xin mã mới", "enrolment code expired; ask for a new one"))


def authenticate(conn: Connection, token: str) -> DeviceAuth:
    """The device a bearer token belongs to, or DeviceAuthError saying why not."""
    row = conn.execute(
        sa.select(devices.c.id, devices.c.checkpoint_id, devices.c.revoked_at, checkpoints.c.code,
                  device_tokens.c.retired_because)
        .select_from(device_tokens.join(devices).join(checkpoints, devices.c.checkpoint_id == checkpoints.c.id))
        .where(device_tokens.c.token_hash == digest(token))
    ).first()
    if row is None:
        raise DeviceAuthError("token_unknown", both("Mã thiết bị không hợp lệ", "unknown device token"))
    if row.revoked_at is not None or row.retired_because == "revoked":
        raise DeviceAuthError("token_revoked", both("Thiết bị đã bị thu hồi quyền gửi, cần đăng ký lại",
                                                    "this device's token was revoked; enrol the kiosk again"))
    if row.retired_because is not None:
        raise DeviceAuthError("token_rotated", both("Mã thiết bị đã được thay bằng mã mới",
                                                    "this device token was replaced by a newer one"))
    return DeviceAuth(device_id=row.id, checkpoint_id=row.checkpoint_id, checkpoint_code=row.code)


def _device(conn: Connection, device_id: str) -> Any:
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id.strip())).first()
    if row is None:
        raise NotFound("device_not_found", both(f"Không có thiết bị '{device_id}'", f"no device '{device_id}'"))
    return row


def _retire_tokens(conn: Connection, device_id: str, because: str, now: datetime) -> None:
    conn.execute(device_tokens.update().where(device_tokens.c.device_id == device_id, device_tokens.c.retired_at.is_(None))
                 .values(retired_at=now, retired_because=because))


def revoke_device(engine: Engine, device_id: str, actor: str) -> None:
    now = datetime.now(timezone.utc)
    with writing(engine) as conn:
        device = _device(conn, device_id)
        conn.execute(devices.update().where(devices.c.id == device.id).values(revoked_at=now))
        _retire_tokens(conn, device.id, "revoked", now)
        audit.write(conn, actor, "device.revoke", params={"device": device.id})


def rotate_device(engine: Engine, device_id: str, actor: str) -> str:
    """A new token for a device; the old one stops working at once."""
    now = datetime.now(timezone.utc)
    with writing(engine) as conn:
        device = _device(conn, device_id)
        if device.revoked_at is not None:
            raise UserError("device_revoked", both("Thiết bị đã bị thu hồi; hãy đăng ký lại bằng mã mới",
                                                   "device is revoked; enrol it again with a new code"))
        _retire_tokens(conn, device.id, "rotated", now)
        token = _issue_token(conn, device.id, now)
        audit.write(conn, actor, "device.rotate", params={"device": device.id})
    return token


def list_devices(engine: Engine, checkpoint_code: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(devices.c.id, checkpoints.c.code.label("checkpoint"), devices.c.enrolled_at, devices.c.last_seen_at,
                      devices.c.revoked_at).join(checkpoints)
    if checkpoint_code:
        query = query.where(checkpoints.c.code == checkpoint_code)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(checkpoints.c.code, devices.c.enrolled_at)).mappings()]
