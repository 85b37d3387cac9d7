"""Daily visit counts for reports that do not grow with history; rate limits shared by workers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Reports read ``daily_visits`` (kept by ingest in the same transaction as the visits,
server/daily_counts.py) instead of scanning ``visits``. An existing database gets its
counts built here from the visits it holds, in the same transaction as the new table, so
the counts equal a full recount from the first moment (``checkpoint-server check-counts``).

``rate_buckets`` holds the per-device token buckets on PostgreSQL, so every worker of
``serve --workers N`` draws from the same one (server/ratelimit.py); SQLite gets the table
too, so both databases have one schema, but its single worker keeps buckets in memory.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# The local (Asia/Ho_Chi_Minh) day of each visit, as server/daily_counts.py computes it;
# written out here so this migration keeps meaning what it meant when the code moves on.
LOCAL_DAY = {
    "postgresql": "(occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date",
    "sqlite": "date(occurred_at, '+7 hours')",  # UTC+7 all year since 1975, no summer time
}
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_visits",
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("visits", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoints.id"], name="fk_daily_visits_checkpoint_id_checkpoints"),
        sa.PrimaryKeyConstraint("checkpoint_id", "day", "direction", "kind", name="pk_daily_visits"),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_buckets"),
    )
    day = LOCAL_DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO daily_visits (checkpoint_id, day, direction, kind, visits) "
        f"SELECT checkpoint_id, {day}, direction, kind, count(*) FROM visits GROUP BY checkpoint_id, {day}, direction, kind"
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    op.drop_table("daily_visits")
