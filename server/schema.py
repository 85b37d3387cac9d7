"""The district database, as SQLAlchemy Core tables (the Alembic migrations build the same).

Times are stored in UTC on both databases (``UtcDateTime``), so a report window computed
in Asia/Ho_Chi_Minh compares the same on SQLite and PostgreSQL. Personal data lives only
in ``visits`` (``id_number``, ``phone``, ``person_name``, ``fields``) and is cleared by purge.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every dialect (SQLite has no zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


provinces = sa.Table(
    "provinces",
    metadata,
    _id(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
)

districts = sa.Table(
    "districts",
    metadata,
    _id(),
    sa.Column("province_id", sa.Integer, sa.ForeignKey("provinces.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.UniqueConstraint("province_id", "name"),
)

communes = sa.Table(
    "communes",
    metadata,
    _id(),
    sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.UniqueConstraint("district_id", "name"),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("commune_id", sa.Integer, sa.ForeignKey("communes.id"), nullable=False, index=True),
    sa.Column("created_on", sa.Date, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("checkpoints.id"), nullable=False, index=True),
    sa.Column("enrolled_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
    sa.Column("health", sa.JSON),  # the kiosk's last KioskHealth (sync/protocol.py), as sent
    sa.Column("health_at", UtcDateTime),
    sa.Column("signing_key", sa.String(44)),  # the kiosk's Ed25519 public key (base64): signs its USB exports
)

# Every token a device ever had: a retired one still tells its holder why it stopped working.
device_tokens = sa.Table(
    "device_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False, index=True),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("retired_at", UtcDateTime),
    sa.Column("retired_because", sa.String(16)),  # "revoked" or "rotated"
)

enroll_codes = sa.Table(
    "enroll_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("checkpoints.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id")),
    # SHA-256 of the kiosk's nonce: the same code and nonce again (a lost answer) get the same device back
    sa.Column("nonce_hash", sa.String(64)),
)

visits = sa.Table(
    "visits",
    metadata,
    # the key a distributed PostgreSQL (Citus) shards by, and the month partition's column:
    # every unique key on visits includes both (docs/scale.md); a visit id's own uniqueness
    # within its district is kept by visit_keys
    sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id"), nullable=False),
    sa.Column("id", sa.Uuid, nullable=False),
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("checkpoints.id"), nullable=False),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    # clock evidence from the kiosk, and the time reports use (corrected if it was corrected);
    # a time that cannot have happened is never stored as a time (server/ingest.py): then
    # scanned_at is NULL with the kiosk's text kept, and occurred_at is when it was received
    sa.Column("scanned_at", UtcDateTime),
    sa.Column("scanned_at_text", sa.String(64)),
    sa.Column("corrected_at", UtcDateTime),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("time_unknown", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("clock_synchronised", sa.Boolean, nullable=False),
    sa.Column("monotonic_ns", sa.BigInteger),
    sa.Column("boot_id", sa.String(64)),
    sa.Column("received_at", UtcDateTime, nullable=False),
    # personal data, for tracing only; purge sets these to NULL and stamps purged_at
    sa.Column("id_number", sa.String(12)),
    sa.Column("phone", sa.String(11)),  # mobiles 10 digits, landlines 11
    sa.Column("person_name", sa.String(200)),
    sa.Column("card_number", sa.BigInteger),  # a district card's number (kind "card"), for tracing
    sa.Column("fields", sa.JSON),
    sa.Column("operator", sa.String(100)),
    sa.Column("purged_at", UtcDateTime),
    sa.PrimaryKeyConstraint("district_id", "id", "occurred_at"),
    sa.Index(None, "occurred_at", "checkpoint_id"),
    sa.Index(None, "checkpoint_id", "occurred_at"),
    sa.Index(None, "id_number"),
    sa.Index(None, "phone"),
    sa.Index(None, "card_number"),
    sa.Index("ix_visits_time_unknown", "device_id", postgresql_where=sa.text("time_unknown"), sqlite_where=sa.text("time_unknown")),
    # PostgreSQL: one partition per local month, created ahead by the server (server/partitions.py)
    postgresql_partition_by="RANGE (occurred_at)",
)

# One row per stored visit id, unpartitioned: what makes a visit id unique within its district
# (a partitioned table's unique keys must include its partition column, so visits cannot).
# Ingest inserts here first (server/ingest.py); retention deletes the keys of the visits it drops.
visit_keys = sa.Table(
    "visit_keys",
    metadata,
    sa.Column("district_id", sa.Integer, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("device_id", sa.String(36), nullable=False),  # who sent it first: another device is a conflict
    sa.Column("occurred_at", UtcDateTime, nullable=False, index=True),
)

# The district's disease-control cards (server/cards.py): one row per printed card. A new
# card for the same person gets a new number and revokes the old one (``replaced_by``).
cards = sa.Table(
    "cards",
    metadata,
    sa.Column("number", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("commune_id", sa.Integer, sa.ForeignKey("communes.id"), nullable=False, index=True),
    sa.Column("person_name", sa.String(200), nullable=False),
    sa.Column("birth_year", sa.Integer, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("key_id", sa.String(8), nullable=False),  # hex of kiosk.cards.key_id: which key signed it
    sa.Column("payload", sa.String(400), nullable=False),  # the QR text, so a re-print is the same card
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime),
    sa.Column("replaced_by", sa.BigInteger),
)

# Visits per checkpoint, local (Vietnam) day, direction and kind, kept by ingest in the same
# transaction as the visits (server/daily_counts.py): reports read these, not the visits.
# On PostgreSQL the primary key carries the count (INCLUDE), so a report's SUM is an
# index-only scan and never visits the heap (bench/server_report.py, issue 17).
daily_visits = sa.Table(
    "daily_visits",
    metadata,
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("checkpoints.id"), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("visits", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.PrimaryKeyConstraint("checkpoint_id", "day", "direction", "kind", postgresql_include=["visits"]),
)

# The same counts rolled up by local month (``month`` is its first day), kept by ingest in
# the same transaction from the same rows: a year-to-date reads whole months here and only
# the days of the current month from daily_visits (server/daily_counts.py).
monthly_visits = sa.Table(
    "monthly_visits",
    metadata,
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("checkpoints.id"), nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("visits", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.PrimaryKeyConstraint("checkpoint_id", "month", "direction", "kind", postgresql_include=["visits"]),
)

# Token buckets of the per-device rate limit on PostgreSQL, shared by every worker (server/ratelimit.py).
rate_buckets = sa.Table(
    "rate_buckets",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("refilled_at", sa.Float, nullable=False),  # seconds since the epoch
    sa.Column("granted", sa.Boolean, nullable=False),  # whether the last request took a token
)

officials = sa.Table(
    "officials",
    metadata,
    _id(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime),
    # what they may see (server/roles.py): district (NULL: every district), commune, tracer
    sa.Column("role", sa.String(16), nullable=False, server_default="district"),
    sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id")),
    sa.Column("commune_id", sa.Integer, sa.ForeignKey("communes.id")),
    sa.Column("password_hash", sa.String(200)),  # argon2id (server/passwords.py); NULL: API token only
    sa.Column("token_expires_at", UtcDateTime),
    sa.Column("last_sign_in_at", UtcDateTime),  # the console's last successful sign-in
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),  # reset by someone else
)

# The console's signed-in browsers (server/sessions.py): in the database, so every worker knows them.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("official_id", sa.Integer, sa.ForeignKey("officials.id"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# Failed sign-ins per login name (folded), whether or not such an official exists.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("login", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failed_at", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("params", sa.JSON),
    sa.Column("result_count", sa.Integer),
)
