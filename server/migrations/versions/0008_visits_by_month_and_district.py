"""Visits keyed by (district, visit id), partitioned by month on PostgreSQL; the key table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``visits`` gains ``district_id`` (the column a distributed PostgreSQL would shard by),
filled here from each visit's checkpoint, and its keys become (district_id, id,
occurred_at): every unique key includes the district, and on PostgreSQL the partition
column too. The serial ``seq`` goes (a partitioned table cannot keep it unique, and only
tracing's order used it, which now breaks ties by id). One visit id once per district is
kept by the new unpartitioned ``visit_keys`` (server/ingest.py inserts there first).

On PostgreSQL the new ``visits`` is partitioned by RANGE of ``occurred_at``: one partition
per local (Asia/Ho_Chi_Minh) month that holds visits, and a DEFAULT one; the server then
makes the current month and the next ones (server/partitions.py, at every migrate and
serve start). SQLite gets the plain table with the same columns and keys.

The old table is renamed, its rows copied into the new one with their district, and
dropped; the indexes are built after the copy (faster than row by row, and their names
are free again then). All in the migration's one transaction: a failure leaves 0007.
Not reversible: restore the backup taken before migrating to go back.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
COLUMNS = (
    "id, checkpoint_id, device_id, direction, source, kind, scanned_at, scanned_at_text, corrected_at, occurred_at, "
    "time_unknown, clock_synchronised, monotonic_ns, boot_id, received_at, id_number, phone, person_name, card_number, "
    "fields, operator, purged_at"
)
LOCAL_MONTH = "date_trunc('month', occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh')"  # a local timestamp


def _create_visits(partitioned: bool) -> None:
    partitioning: dict[str, Any] = {"postgresql_partition_by": "RANGE (occurred_at)"} if partitioned else {}
    op.create_table(
        "visits",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("scanned_at", UTC_TIME, nullable=True),
        sa.Column("scanned_at_text", sa.String(64), nullable=True),
        sa.Column("corrected_at", UTC_TIME, nullable=True),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("time_unknown", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("clock_synchronised", sa.Boolean(), nullable=False),
        sa.Column("monotonic_ns", sa.BigInteger(), nullable=True),
        sa.Column("boot_id", sa.String(64), nullable=True),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("id_number", sa.String(12), nullable=True),
        sa.Column("phone", sa.String(11), nullable=True),
        sa.Column("person_name", sa.String(200), nullable=True),
        sa.Column("card_number", sa.BigInteger(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("operator", sa.String(100), nullable=True),
        sa.Column("purged_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"], name="fk_visits_district_id_districts"),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoints.id"], name="fk_visits_checkpoint_id_checkpoints"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_visits_device_id_devices"),
        sa.PrimaryKeyConstraint("district_id", "id", "occurred_at", name="pk_visits"),
        **partitioning,
    )


def _month_partitions() -> None:
    """PostgreSQL: the DEFAULT partition and one per local month the old table has visits in."""
    op.execute("CREATE TABLE visits_default PARTITION OF visits DEFAULT")
    months = op.get_bind().exec_driver_sql(f"SELECT DISTINCT {LOCAL_MONTH} FROM visits_0007 WHERE occurred_at >= '2020-01-01'")
    for (start,) in months:
        end = f"{start.year + start.month // 12}-{start.month % 12 + 1:02d}-01"
        op.execute(
            f"CREATE TABLE visits_p{start.year:04d}_{start.month:02d} PARTITION OF visits "
            f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+07') TO ('{end} 00:00:00+07')"
        )


def upgrade() -> None:
    partitioned = op.get_bind().dialect.name == "postgresql"
    op.rename_table("visits", "visits_0007")
    if partitioned:  # constraint indexes are relations named in the schema: free the names
        op.execute("ALTER TABLE visits_0007 RENAME CONSTRAINT pk_visits TO pk_visits_0007")
        op.execute("ALTER TABLE visits_0007 RENAME CONSTRAINT uq_visits_id TO uq_visits_0007_id")
    _create_visits(partitioned)
    if partitioned:
        _month_partitions()
    op.execute(
        f"INSERT INTO visits (district_id, {COLUMNS}) "
        f"SELECT communes.district_id, {', '.join(f'v.{c.strip()}' for c in COLUMNS.split(','))} FROM visits_0007 v "
        "JOIN checkpoints ON checkpoints.id = v.checkpoint_id JOIN communes ON communes.id = checkpoints.commune_id"
    )
    op.create_table(
        "visit_keys",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("district_id", "id", name="pk_visit_keys"),
    )
    op.execute(
        "INSERT INTO visit_keys (district_id, id, device_id, occurred_at) "
        "SELECT district_id, id, device_id, occurred_at FROM visits"
    )
    op.drop_table("visits_0007")
    op.create_index("ix_visit_keys_occurred_at", "visit_keys", ["occurred_at"])
    op.create_index("ix_visits_occurred_at_checkpoint_id", "visits", ["occurred_at", "checkpoint_id"])
    op.create_index("ix_visits_checkpoint_id_occurred_at", "visits", ["checkpoint_id", "occurred_at"])
    op.create_index("ix_visits_id_number", "visits", ["id_number"])
    op.create_index("ix_visits_phone", "visits", ["phone"])
    op.create_index("ix_visits_card_number", "visits", ["card_number"])
    op.create_index(
        "ix_visits_time_unknown",
        "visits",
        ["device_id"],
        postgresql_where=sa.text("time_unknown"),
        sqlite_where=sa.text("time_unknown"),
    )


def downgrade() -> None:
    raise NotImplementedError("0008 is not reversible: restore the backup taken before migrating")
