"""Monthly visit counts for year-to-date; the counts' primary keys cover the count on PostgreSQL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``monthly_visits`` rolls the daily counts up by local month (kept by ingest in the same
transaction, server/daily_counts.py), so a year-to-date reads whole months there and only
the current month's days from ``daily_visits``. An existing database gets its months built
here from its daily counts, in the same transaction as the new table, so they are equal
from the first moment (``checkpoint-server check-counts`` compares them with the days and
with a full recount of the visits).

On PostgreSQL both primary keys ``INCLUDE (visits)``, so a SUM over the counts is an
index-only scan rather than one heap page read per row: 9.7 M daily rows for 10 M visits
in the city bench, where the heap reads made the year-to-date 2.3 s (bench/server_report.py,
docs/scale.md). An index-only scan skips the heap only for pages the visibility map marks
all-visible, which VACUUM sets; the counts are written all day (today's rows are updated by
every batch), so autovacuum is told to visit these two tables after 1 % of their rows
changed or were inserted instead of the default 20 %. SQLite (one district) keeps its plain
keys: no INCLUDE there, and its tables are small.

Written out here rather than imported from server/daily_counts.py, so this migration keeps
meaning what it meant when the code moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The first day of a daily count's month, on each database.
MONTH_OF_DAY = {
    "postgresql": "date_trunc('month', day::timestamp)::date",
    "sqlite": "date(day, 'start of month')",
}
KEY = ("checkpoint_id", "day", "direction", "kind")
AUTOVACUUM = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "monthly_visits",
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("visits", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoints.id"], name="fk_monthly_visits_checkpoint_id_checkpoints"),
        sa.PrimaryKeyConstraint(
            "checkpoint_id", "month", "direction", "kind", name="pk_monthly_visits", postgresql_include=["visits"]
        ),
    )
    month = MONTH_OF_DAY[dialect]
    op.execute(
        "INSERT INTO monthly_visits (checkpoint_id, month, direction, kind, visits) "
        f"SELECT checkpoint_id, {month}, direction, kind, sum(visits) FROM daily_visits "
        f"GROUP BY checkpoint_id, {month}, direction, kind"
    )
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE daily_visits DROP CONSTRAINT pk_daily_visits, "
            f"ADD CONSTRAINT pk_daily_visits PRIMARY KEY ({', '.join(KEY)}) INCLUDE (visits)"
        )
        for table in ("daily_visits", "monthly_visits"):
            op.execute(f"ALTER TABLE {table} SET ({AUTOVACUUM})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE daily_visits RESET ({AUTOVACUUM.replace(' = 0.01', '')})")
        op.execute(
            "ALTER TABLE daily_visits DROP CONSTRAINT pk_daily_visits, "
            f"ADD CONSTRAINT pk_daily_visits PRIMARY KEY ({', '.join(KEY)})"
        )
    op.drop_table("monthly_visits")
