"""Officials managed from the console: when each last signed in, and whether they must
choose a new password at their next sign-in (a district official reset it, so someone
else has known it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A frozen record like 0001: it spells out its columns instead of importing server.schema.
Existing officials have never signed in as far as the record goes (NULL) and keep their
password as it is (false).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("officials") as batch:
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("officials") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("last_sign_in_at")
