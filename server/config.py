"""District server settings: a TOML file, then command-line flags, then built-in defaults,
read by the one settings loader (``kiosk.settings``) the kiosk uses too.

Lookup: ``--config PATH``, ``$CHECKPOINT_SERVER_CONFIG``, ``/etc/checkpoint-server/config.toml``.
With none, the server runs on SQLite in the user's data directory, so a laptop demo
needs no file; a district sets ``db`` to its PostgreSQL URL.

The database is read from one place, in this order: ``--db``, ``$CHECKPOINT_SERVER_DB``,
``[server] db`` in the config file, the SQLite default. ``choose_database`` says which one
won, because a command that silently opens another database than the server's (an empty
SQLite file in someone's home) looks exactly like a lost district.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kiosk import settings
from kiosk.settings import ConfigError as ConfigError  # where the server's callers find it

SYSTEM_CONFIG = Path("/etc/checkpoint-server/config.toml")
ENV_VAR = "CHECKPOINT_SERVER_CONFIG"
DB_ENV_VAR = "CHECKPOINT_SERVER_DB"
LOCAL_HOSTS = ("0.0.0.0", "::", "")  # listening everywhere: this machine reaches itself at 127.0.0.1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    db: str = ""  # empty: sqlite:///<data_dir>/server.sqlite3
    data_dir: str = ""  # empty: $XDG_DATA_HOME/checkpoint-server
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = ""  # what enrolment QR codes send kiosks to; empty: http://host:port
    keys_dir: str = ""  # the district's private keys (server/keys.py); empty: <data_dir>/keys


class LimitsSection(_Section):
    device_batches_per_s: float = Field(20.0, gt=0)
    device_burst: int = Field(60, ge=1)
    batches_in_flight: int = Field(8, ge=1)  # per worker; beyond: 429 server_busy (server/admission.py)
    busy_retry_after_s: int = Field(5, ge=1)
    busy_retry_spread_s: int = Field(55, ge=0)
    max_future_s: int = Field(24 * 3600, ge=0)


class RetentionSection(_Section):
    days: int = Field(30, ge=1, le=3650)
    purge_every_s: int = Field(3600, ge=60, le=7 * 86400)  # the running server's purge timer (server/retention.py)
    # the visits themselves (purged long before) go after this many days, whole local months at a
    # time: monthly partitions dropped on PostgreSQL (server/partitions.py); counts stay
    rows_days: int = Field(400, ge=1, le=36500)


class EnrolmentSection(_Section):
    code_valid_hours: float = Field(24.0, gt=0, le=24 * 30)


class CardsSection(_Section):
    # A district signing key kept outside the keyring (PEM, PKCS#8, Ed25519, mode 0600); empty: the
    # keyring's current signing key (`checkpoint-server keys init`). server/cards.py's load_signing_key.
    signing_key: str = ""


class Settings(_Section):
    server: ServerSection = ServerSection()
    limits: LimitsSection = LimitsSection()
    retention: RetentionSection = RetentionSection()
    enrolment: EnrolmentSection = EnrolmentSection()
    cards: CardsSection = CardsSection()

    @property
    def data_dir(self) -> Path:
        if self.server.data_dir:
            return Path(self.server.data_dir).expanduser()
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "checkpoint-server"

    @property
    def keys_dir(self) -> Path:
        return Path(self.server.keys_dir).expanduser() if self.server.keys_dir else self.data_dir / "keys"

    @property
    def db_url(self) -> str:
        return self.server.db or f"sqlite:///{self.data_dir / 'server.sqlite3'}"

    @property
    def public_url(self) -> str:
        """Where enrolment QR codes send kiosks. Without ``public_url`` it is this machine's
        listening address, 127.0.0.1 when it listens everywhere (0.0.0.0 is not an address
        a kiosk can connect to); ``cli`` says such a QR code works on this machine only."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = "127.0.0.1" if self.server.host in LOCAL_HOSTS else self.server.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.server.port}"

    def with_overrides(self, **server: Any) -> Settings:
        """Flags win over the file: ``--db``, ``--host``, ``--port`` given on the command line."""
        given = {k: v for k, v in server.items() if v is not None}
        return self.model_copy(update={"server": self.server.model_copy(update=given)}) if given else self


def load_settings(path: str | Path | None = None, system_path: Path = SYSTEM_CONFIG) -> Settings:
    """The kiosk's loader (kiosk/settings.py): the same lookup and the same errors, naming the key."""
    return settings.load(Settings, path, ENV_VAR, system_path)[0]


@dataclass(frozen=True)
class Loaded:
    """Settings for one command, the file they came from and where its database came from."""

    settings: Settings
    config_file: Path | None
    db_origin: str  # "--db", "$CHECKPOINT_SERVER_DB", "<file> [server] db" or "default"


def choose_database(config_path: str | Path | None, db_flag: str | None, system_path: Path = SYSTEM_CONFIG) -> Loaded:
    """The settings with their database chosen: ``--db``, else ``$CHECKPOINT_SERVER_DB``, else
    the config file's ``[server] db``, else SQLite under ``data_dir``."""
    loaded, source = settings.load(Settings, config_path, ENV_VAR, system_path)
    from_env = os.environ.get(DB_ENV_VAR, "").strip()
    if db_flag:
        return Loaded(loaded.with_overrides(db=db_flag), source, "--db")
    if from_env:
        return Loaded(loaded.with_overrides(db=from_env), source, f"${DB_ENV_VAR}")
    if loaded.server.db:
        return Loaded(loaded, source, f"{source} [server] db")
    return Loaded(loaded, source, "default")
