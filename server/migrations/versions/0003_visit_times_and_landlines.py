"""Visits whose time cannot have happened are kept with the time unknown; landline phones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A kiosk's clock can be wrong beyond correction (a Raspberry Pi has no real-time clock),
and a device could send a year 9999 that later broke officials' queries. Ingest now
range-checks every time: ``scanned_at`` becomes nullable (NULL when impossible, the
kiosk's text kept in ``scanned_at_text``), ``time_unknown`` marks such visits (counted on
the day they were received), with a partial index to count them per device. ``phone``
grows to 11 characters: Vietnamese landlines (02x…) are valid numbers for a person
without a mobile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("scanned_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch.add_column(sa.Column("scanned_at_text", sa.String(64), nullable=True))
        batch.add_column(sa.Column("time_unknown", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.alter_column("phone", existing_type=sa.String(10), type_=sa.String(11), existing_nullable=True)
    op.create_index(
        "ix_visits_time_unknown",
        "visits",
        ["device_id"],
        postgresql_where=sa.text("time_unknown"),
        sqlite_where=sa.text("time_unknown"),
    )


def downgrade() -> None:
    op.drop_index("ix_visits_time_unknown", "visits")
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("phone", existing_type=sa.String(11), type_=sa.String(10), existing_nullable=True)
        batch.drop_column("time_unknown")
        batch.drop_column("scanned_at_text")
        batch.alter_column("scanned_at", existing_type=sa.DateTime(timezone=True), nullable=False)
