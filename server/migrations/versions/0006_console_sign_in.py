"""The web console's sign-in: officials gain a role, a place, a password and an optional token
expiry; web sessions and login failures live in tables, so several server workers share them.
Devices keep the health their kiosk last reported (sync/protocol.py ``KioskHealth``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

A frozen record like 0001: it spells out its columns instead of importing server.schema.
Officials registered before roles existed could do everything: they become ``district``
officials of no particular district (every district on this server), so nothing an
existing script does stops working.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("officials") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="district"))
        batch.add_column(sa.Column("district_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("commune_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_officials_district_id_districts", "districts", ["district_id"], ["id"])
        batch.create_foreign_key("fk_officials_commune_id_communes", "communes", ["commune_id"], ["id"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("health", sa.JSON, nullable=True))
        batch.add_column(sa.Column("health_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("official_id", sa.Integer, sa.ForeignKey("officials.id"), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("login", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("health_at")
        batch.drop_column("health")
    with op.batch_alter_table("officials") as batch:
        batch.drop_constraint("fk_officials_commune_id_communes", type_="foreignkey")
        batch.drop_constraint("fk_officials_district_id_districts", type_="foreignkey")
        for column in ("token_expires_at", "password_hash", "commune_id", "district_id", "role"):
            batch.drop_column(column)
