"""Enrolment nonce: ``enroll_codes.nonce_hash``, so a kiosk whose answer was lost can redeem
its code again and get the same device back instead of an orphan and a 409.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

A frozen record like 0001: it spells out its column instead of importing server.schema.
A nullable column needs no default, so existing codes (redeemed without a nonce) stay as
they were; SQLite gets it through a batch (copy-and-move) alteration, PostgreSQL through
a plain ALTER TABLE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enroll_codes") as batch:
        batch.add_column(sa.Column("nonce_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enroll_codes") as batch:
        batch.drop_column("nonce_hash")
