"""Kiosk enrolment and device tokens: one-time codes in, revocable bearer tokens out.

A code is redeemed by a conditional UPDATE, so two kiosks racing with the same code
cannot both win. Retired tokens stay on record so their holder hears *why* they stopped
working (revoked by an admin, or replaced by a rotation) instead of a bare 401.

An answer can be lost after the server committed (the network drops on the way back).
So a kiosk sends a random nonce with the code, and the server keeps its hash: the same
code with the same nonce, while the code is still valid, gets the same device back with
a fresh token (the previous one retired as by a rotation), never a second device and
never a 409. Any other nonce, or none, is still refused, and a revoked device is never
revived. A device left behind all the same (by an older kiosk, or by an admin who gave
up and made a new code) is an *orphan* (see ``is_orphan``) and can be removed as long as
it never sent a visit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import bilingual
from server import audit
from server.db import writing
from server.errors import Conflict, NotFound, UserError
from server.places import checkpoint_row, checkpoints_query, identity
from server.schema import checkpoints, device_tokens, devices, enroll_codes, visits
from server.tokens import digest, new_enroll_code, new_token, normalise_code
from sync.protocol import EnrollPayload, EnrollResponse

TOKEN_PREFIX = "dev"


@dataclass(frozen=True)
class EnrollCode:
    code: str
    expires_at: datetime
    qr: str  # the text the QR code holds: server URL and code
    checkpoint: dict[str, str] | None = None  # code, name, commune, district, province: for the printed sheet

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


def create_enroll_code(engine: Engine, checkpoint_code: str, valid_for: timedelta, server_url: str, actor: str) -> EnrollCode:
    now = datetime.now(timezone.utc)
    code = new_enroll_code()
    with writing(engine) as conn:
        row = checkpoint_row(conn, checkpoint_code)
        if not row["active"]:
            raise UserError(
                "checkpoint_inactive",
                bilingual("checkpoint '{code}' is deactivated", code=row["code"]),
            )
        conn.execute(
            enroll_codes.insert().values(
                code_hash=digest(normalise_code(code)), checkpoint_id=row["id"], created_at=now, expires_at=now + valid_for
            )
        )
        audit.write(conn, actor, "enroll_code.create", params={"checkpoint": row["code"]})
    qr = EnrollPayload(server=server_url, code=code).to_qr_text()
    return EnrollCode(code=code, expires_at=now + valid_for, qr=qr, checkpoint=identity(row).model_dump())


def _issue_token(conn: Connection, device_id: str, now: datetime) -> str:
    token = new_token(TOKEN_PREFIX)
    conn.execute(device_tokens.insert().values(token_hash=digest(token), device_id=device_id, issued_at=now))
    return token


def redeem(engine: Engine, code: str, nonce: str | None = None, signing_key: str | None = None) -> EnrollResponse:
    """Exchange an enrolment code for a new device and its token; each code works once.

    Once, except for the kiosk that redeemed it: the same ``nonce`` again, before the code
    expires, answers with the same device and a new token (see ``_enrolled_again``).
    ``signing_key`` is the kiosk's Ed25519 public key (base64): its USB exports must then be
    signed with it (server/usb_import.py).
    """
    now = datetime.now(timezone.utc)
    code_hash = digest(normalise_code(code))
    nonce_hash = digest(nonce) if nonce else None
    device_id = str(uuid.uuid4())
    with writing(engine) as conn:
        taken = conn.execute(
            enroll_codes.update()
            .where(
                enroll_codes.c.code_hash == code_hash,
                enroll_codes.c.used_at.is_(None),
                enroll_codes.c.expires_at > now,
            )
            .values(used_at=now, nonce_hash=nonce_hash)
            .returning(enroll_codes.c.checkpoint_id)
        ).first()
        if taken is None:
            again = _enrolled_again(conn, code_hash, nonce_hash, now) if nonce_hash else None
            if again is None:
                raise _why_refused(conn, code_hash, nonce_hash, now)
            return again
        conn.execute(
            devices.insert().values(
                id=device_id,
                checkpoint_id=taken.checkpoint_id,
                enrolled_at=now,
                **({"signing_key": signing_key} if signing_key else {}),  # a kiosk from before device keys sends none
            )
        )
        conn.execute(enroll_codes.update().where(enroll_codes.c.code_hash == code_hash).values(device_id=device_id))
        token = _issue_token(conn, device_id, now)
        row = conn.execute(checkpoints_query().where(checkpoints.c.id == taken.checkpoint_id)).mappings().one()
        audit.write(conn, f"device:{device_id}", "device.enroll", params={"checkpoint": row["code"]})
    return EnrollResponse(device_id=device_id, token=token, checkpoint=identity(row), server_time=now)


def _enrolled_again(conn: Connection, code_hash: str, nonce_hash: str, now: datetime) -> EnrollResponse | None:
    """The device this code and nonce made, with a fresh token; None when there is none to give.

    The code's row and then the device's are locked (FOR UPDATE; SQLite's writer lock
    already serialises), so two retries queue and a revocation cannot slip in between.
    """
    code_row = conn.execute(
        sa.select(enroll_codes.c.device_id, enroll_codes.c.checkpoint_id)
        .where(
            enroll_codes.c.code_hash == code_hash,
            enroll_codes.c.nonce_hash == nonce_hash,
            enroll_codes.c.used_at.is_not(None),
            enroll_codes.c.expires_at > now,
            enroll_codes.c.device_id.is_not(None),
        )
        .with_for_update()
    ).first()
    if code_row is None:
        return None
    device = conn.execute(
        sa.select(devices.c.id, devices.c.revoked_at).where(devices.c.id == code_row.device_id).with_for_update()
    ).first()
    if device is None or device.revoked_at is not None:  # removed or revoked: never revived
        return None
    _retire_tokens(conn, device.id, "rotated", now)
    token = _issue_token(conn, device.id, now)
    row = conn.execute(checkpoints_query().where(checkpoints.c.id == code_row.checkpoint_id)).mappings().one()
    audit.write(conn, f"device:{device.id}", "device.enroll_again", params={"checkpoint": row["code"]})
    return EnrollResponse(device_id=device.id, token=token, checkpoint=identity(row), server_time=now)


def _why_refused(conn: Connection, code_hash: str, nonce_hash: str | None, now: datetime) -> UserError:
    """404 for a code never issued, 409 for one that was used or ran out (the ``error`` code tells which).

    A used code is ``enroll_code_used`` to anyone but the kiosk that used it; that kiosk
    (same nonce) hears ``enroll_code_expired`` once the code ran out, and ``enroll_code_used``
    when its device was revoked or removed.
    """
    row = conn.execute(
        sa.select(enroll_codes.c.used_at, enroll_codes.c.expires_at, enroll_codes.c.nonce_hash).where(
            enroll_codes.c.code_hash == code_hash
        )
    ).first()
    if row is None:
        return NotFound("enroll_code_unknown", bilingual("unknown enrolment code"))
    ours = nonce_hash is not None and row.nonce_hash == nonce_hash
    if row.used_at is not None and (not ours or row.expires_at > now):
        return Conflict("enroll_code_used", bilingual("enrolment code already used"))
    return Conflict("enroll_code_expired", bilingual("enrolment code expired; ask for a new one"))


def authenticate(conn: Connection, token: str) -> DeviceAuth:
    """The device a bearer token belongs to, or DeviceAuthError saying why not."""
    row = conn.execute(
        sa.select(devices.c.id, devices.c.checkpoint_id, devices.c.revoked_at, checkpoints.c.code, device_tokens.c.retired_because)
        .select_from(device_tokens.join(devices).join(checkpoints, devices.c.checkpoint_id == checkpoints.c.id))
        .where(device_tokens.c.token_hash == digest(token))
    ).first()
    if row is None:
        raise DeviceAuthError("token_unknown", bilingual("unknown device token"))
    if row.revoked_at is not None or row.retired_because == "revoked":
        raise DeviceAuthError(
            "token_revoked",
            bilingual("this device's token was revoked; enrol the kiosk again"),
        )
    if row.retired_because is not None:
        raise DeviceAuthError("token_rotated", bilingual("this device token was replaced by a newer one"))
    return DeviceAuth(device_id=row.id, checkpoint_id=row.checkpoint_id, checkpoint_code=row.code)


def _device(conn: Connection, device_id: str) -> Any:
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id.strip())).first()
    if row is None:
        raise NotFound("device_not_found", bilingual("no device '{device}'", device=device_id))
    return row


def _retire_tokens(conn: Connection, device_id: str, because: str, now: datetime) -> None:
    conn.execute(
        device_tokens.update()
        .where(device_tokens.c.device_id == device_id, device_tokens.c.retired_at.is_(None))
        .values(retired_at=now, retired_because=because)
    )


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
            raise UserError(
                "device_revoked",
                bilingual("device is revoked; enrol it again with a new code"),
            )
        _retire_tokens(conn, device.id, "rotated", now)
        token = _issue_token(conn, device.id, now)
        audit.write(conn, actor, "device.rotate", params={"device": device.id})
    return token


DeviceState = Literal["active", "orphan", "revoked"]


def is_orphan(
    *,
    last_seen_at: datetime | None,
    revoked_at: datetime | None,
    enrolled_at: datetime,
    code_valid_for: timedelta,
    later_device_at_checkpoint: bool,
    now: datetime,
) -> bool:
    """A device nobody will ever use: a live token handed out for nothing.

    The rule: not revoked, never seen (``last_seen_at`` is empty: no batch and no USB
    import ever came from it), and either its checkpoint has a device enrolled after it
    (the admin enrolled again with a new code) or it has been unseen for longer than its
    code was valid (enrolled_at + the code's validity; by then the code has expired, so no
    retry with its nonce can claim it any more). A revoked device is not an orphan: its
    token is dead already. A kiosk enrolled but not yet used (no visit to send) looks the
    same, so this is a hint for the admin, not a verdict; ``remove_device`` refuses a
    device that sent visits either way.
    """
    if revoked_at is not None or last_seen_at is not None:
        return False
    return later_device_at_checkpoint or now - enrolled_at > code_valid_for


def list_devices(
    engine: Engine,
    checkpoint_code: str | None = None,
    *,
    orphans_only: bool = False,
    now: datetime | None = None,
    default_valid_for: timedelta = timedelta(hours=24),
) -> list[dict[str, Any]]:
    """Devices by checkpoint and enrolment time, each with ``synced`` (ever seen), ``orphan``,
    ``state`` (active, orphan or revoked) and ``time_unknown``: how many of its visits came
    with a time that cannot have happened (a kiosk clock to fix; server/ingest.py).
    ``default_valid_for`` stands in for a device without a code on record."""
    now = now or datetime.now(timezone.utc)
    unknown = (
        sa.select(visits.c.device_id, sa.func.count().label("n"))
        .where(visits.c.time_unknown)
        .group_by(visits.c.device_id)
        .subquery()
    )
    query = sa.select(
        devices.c.id,
        devices.c.checkpoint_id,
        checkpoints.c.code.label("checkpoint"),
        devices.c.enrolled_at,
        devices.c.last_seen_at,
        devices.c.revoked_at,
        enroll_codes.c.created_at.label("code_created_at"),
        enroll_codes.c.expires_at.label("code_expires_at"),
        sa.func.coalesce(unknown.c.n, 0).label("time_unknown"),
    ).select_from(
        devices.join(checkpoints)
        .outerjoin(enroll_codes, enroll_codes.c.device_id == devices.c.id)
        .outerjoin(unknown, unknown.c.device_id == devices.c.id)
    )
    if checkpoint_code:
        query = query.where(checkpoints.c.code == checkpoint_code)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(checkpoints.c.code, devices.c.enrolled_at)).mappings()]
    latest: dict[int, datetime] = {}
    for row in rows:
        latest[row["checkpoint_id"]] = max(latest.get(row["checkpoint_id"], row["enrolled_at"]), row["enrolled_at"])
    listed = []
    for row in rows:
        valid_for = row["code_expires_at"] - row["code_created_at"] if row["code_expires_at"] is not None else default_valid_for
        orphan = is_orphan(
            last_seen_at=row["last_seen_at"],
            revoked_at=row["revoked_at"],
            enrolled_at=row["enrolled_at"],
            code_valid_for=valid_for,
            later_device_at_checkpoint=latest[row["checkpoint_id"]] > row["enrolled_at"],
            now=now,
        )
        state: DeviceState = "revoked" if row["revoked_at"] is not None else "orphan" if orphan else "active"
        if orphans_only and not orphan:
            continue
        listed.append(
            {
                "id": row["id"],
                "checkpoint": row["checkpoint"],
                "enrolled_at": row["enrolled_at"],
                "last_seen_at": row["last_seen_at"],
                "revoked_at": row["revoked_at"],
                "synced": row["last_seen_at"] is not None,
                "orphan": orphan,
                "state": state,
                "time_unknown": row["time_unknown"],
            }
        )
    return listed


def remove_device(engine: Engine, device_id: str, actor: str) -> dict[str, Any]:
    """Delete a device that never sent a visit, with its tokens; its code stays spent.

    One that did send visits keeps its row for those visits' sake: revoke it instead. The
    rows are locked first (FOR UPDATE), its code's and then its own, in the order a retry
    of its enrolment takes them (no deadlock). A batch being stored for it at that very
    moment is either seen here (and the removal refused) or fails on the vanished device,
    and its resend is refused for an unknown token; a device that is sending is no orphan.
    """
    with writing(engine) as conn:
        device = _device(conn, device_id)
        conn.execute(sa.select(enroll_codes.c.code_hash).where(enroll_codes.c.device_id == device.id).with_for_update())
        conn.execute(sa.select(devices.c.id).where(devices.c.id == device.id).with_for_update())
        sent = conn.execute(
            sa.select(sa.literal(1))
            .where(  # by checkpoint too: visits are indexed by it
                visits.c.checkpoint_id == device.checkpoint_id, visits.c.device_id == device.id
            )
            .limit(1)
        ).first()
        if sent is not None:
            raise Conflict(
                "device_has_visits",
                bilingual("device '{device}' has sent visits and cannot be removed; revoke it instead", device=device.id),
            )
        conn.execute(enroll_codes.update().where(enroll_codes.c.device_id == device.id).values(device_id=None))
        conn.execute(device_tokens.delete().where(device_tokens.c.device_id == device.id))
        conn.execute(devices.delete().where(devices.c.id == device.id))
        checkpoint = conn.execute(sa.select(checkpoints.c.code).where(checkpoints.c.id == device.checkpoint_id)).scalar_one()
        removed = {
            "device": device.id,
            "checkpoint": checkpoint,
            "enrolled_at": device.enrolled_at.isoformat(),
            "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
        }
        audit.write(conn, actor, "device.remove", params=removed)
    return removed
