"""Each device's Ed25519 public key, registered at enrolment: its USB exports must be signed with it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

A USB export used to be trusted because it opened with a key derived from the device
token's hash, which is exactly what the server stores: a copy of the database could make a
file the server imported as any device's. Kiosks now send a public key of their own when
they enrol (sync/devicekey.py) and sign every export; the server keeps the key here and
refuses a file from such a device that is unsigned or whose signature does not check.
Devices enrolled before have none (NULL) and are read as before until they enrol again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("signing_key", sa.String(44), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("signing_key")
