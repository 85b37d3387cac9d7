"""Initial schema: places, checkpoints, devices and their tokens, enrolment codes, visits,
officials, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

A migration is a frozen record of one step: it spells out its columns instead of
importing server.schema, so later edits to the tables cannot rewrite history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, UTC_TIME, nullable=nullable)


def _serial(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=True, nullable=False)


def _fk(column: str, table: str, target: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.{target}"], name=op.f(f"fk_{table}_{column}_{referred}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "provinces",
        _serial(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provinces")),
        sa.UniqueConstraint("name", name=op.f("uq_provinces_name")),
    )
    op.create_table(
        "districts",
        _serial(),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _fk("province_id", "districts", "id", "provinces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("province_id", "name", name=op.f("uq_districts_province_id_name")),
    )
    op.create_table(
        "communes",
        _serial(),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _fk("district_id", "communes", "id", "districts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communes")),
        sa.UniqueConstraint("district_id", "name", name=op.f("uq_communes_district_id_name")),
    )
    op.create_table(
        "checkpoints",
        _serial(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _fk("commune_id", "checkpoints", "id", "communes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("code", name=op.f("uq_checkpoints_code")),
    )
    _index("checkpoints", "commune_id")
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        _time("enrolled_at", nullable=False),
        _time("last_seen_at"),
        _time("revoked_at"),
        _fk("checkpoint_id", "devices", "id", "checkpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    _index("devices", "checkpoint_id")
    op.create_table(
        "device_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        _time("issued_at", nullable=False),
        _time("retired_at"),
        sa.Column("retired_because", sa.String(16), nullable=True),
        _fk("device_id", "device_tokens", "id", "devices"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_device_tokens")),
    )
    _index("device_tokens", "device_id")
    op.create_table(
        "enroll_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        _time("created_at", nullable=False),
        _time("expires_at", nullable=False),
        _time("used_at"),
        sa.Column("device_id", sa.String(36), nullable=True),
        _fk("checkpoint_id", "enroll_codes", "id", "checkpoints"),
        _fk("device_id", "enroll_codes", "id", "devices"),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_enroll_codes")),
    )
    op.create_table(
        "visits",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        _time("scanned_at", nullable=False),
        _time("corrected_at"),
        _time("occurred_at", nullable=False),
        sa.Column("clock_synchronised", sa.Boolean(), nullable=False),
        sa.Column("monotonic_ns", sa.BigInteger(), nullable=True),
        sa.Column("boot_id", sa.String(64), nullable=True),
        _time("received_at", nullable=False),
        sa.Column("id_number", sa.String(12), nullable=True),
        sa.Column("phone", sa.String(10), nullable=True),
        sa.Column("person_name", sa.String(200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("operator", sa.String(100), nullable=True),
        _time("purged_at"),
        _fk("checkpoint_id", "visits", "id", "checkpoints"),
        _fk("device_id", "visits", "id", "devices"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_visits")),
        sa.UniqueConstraint("id", name=op.f("uq_visits_id")),
    )
    _index("visits", "occurred_at", "checkpoint_id")
    _index("visits", "checkpoint_id", "occurred_at")
    _index("visits", "id_number")
    _index("visits", "phone")
    op.create_table(
        "officials",
        _serial(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _time("created_at", nullable=False),
        _time("revoked_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officials")),
        sa.UniqueConstraint("name", name=op.f("uq_officials_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_officials_token_hash")),
    )
    op.create_table(
        "audit_log",
        _serial(),
        _time("at", nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("result_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "at")


def downgrade() -> None:
    for table in (
        "audit_log",
        "officials",
        "visits",
        "enroll_codes",
        "device_tokens",
        "devices",
        "checkpoints",
        "communes",
        "districts",
        "provinces",
    ):
        op.drop_table(table)
