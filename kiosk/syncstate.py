"""What the core can tell about delivery to the district server, without importing sync/.

The sync client keeps its state in the store's ``meta`` table under these keys (in the
same transaction as a batch's results) and the enrolment in the data directory; ``status``
and screens read both from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config import Config
from kiosk.enrolment import Enrolment, read_enrolment
from kiosk.messages import render
from kiosk.store import VisitStore

LAST_SUCCESS = "sync.last_success_at"  # end of the last pass that left no error
LAST_ERROR = "sync.last_error"  # a message code (kiosk.messages), or absent
LAST_ERROR_PARAMS = "sync.last_error_params"  # JSON: what the message names (server, HTTP status)
LAST_ERROR_AT = "sync.last_error_at"
NEEDS_REENROLMENT = "sync.needs_reenrolment"  # "1" after the server refused the token


@dataclass(frozen=True)
class SyncState:
    server: str | None
    enrolled: bool
    device_id: str | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_params: dict[str, Any]
    last_error_at: datetime | None
    needs_reenrolment: bool
    exported: int  # pending visits already on a USB stick, awaiting confirmation

    def error_message(self, lang: str = "vi") -> str | None:
        return render(self.last_error, lang, **self.last_error_params) if self.last_error else None

    def to_dict(self, now: datetime) -> dict[str, Any]:
        age = (now - self.last_success_at).total_seconds() if self.last_success_at else None
        return {
            "server": self.server,
            "enrolled": self.enrolled,
            "device_id": self.device_id,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_success_age_s": round(age) if age is not None else None,
            "last_error": self.last_error,
            "last_error_message": self.error_message(),
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "needs_reenrolment": self.needs_reenrolment,
            "exported_awaiting_confirmation": self.exported,
        }


def server_url(config: Config, enrolment: Enrolment | None) -> str | None:
    """``[server] url`` when set (a moved server needs no new enrolment), else the enrolment's."""
    return (config.server.url or (enrolment.server if enrolment else "")).rstrip("/") or None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def read_sync_state(config: Config, store: VisitStore) -> SyncState:
    enrolment = read_enrolment(config.data_dir)
    meta = store.meta("sync.")
    return SyncState(
        server=server_url(config, enrolment),
        enrolled=enrolment is not None,
        device_id=enrolment.device_id if enrolment else None,
        last_success_at=_moment(meta.get(LAST_SUCCESS)),
        last_error=meta.get(LAST_ERROR),
        last_error_params=json.loads(meta.get(LAST_ERROR_PARAMS) or "{}"),
        last_error_at=_moment(meta.get(LAST_ERROR_AT)),
        needs_reenrolment=meta.get(NEEDS_REENROLMENT) == "1",
        exported=store.count_exported(),
    )
