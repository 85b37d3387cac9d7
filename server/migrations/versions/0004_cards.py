"""District disease-control cards, and the card number of a card visit for tracing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

``cards`` holds every printed card (issue 18): number, holder, commune, the signing key's id,
the QR text (a re-print is the same card) and, once revoked or replaced, when and by which
number; kiosks receive the revoked numbers with every sync. ``visits.card_number`` lets
tracing find a person by card number with an index, like ``id_number`` and ``phone``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("number", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.Integer, sa.ForeignKey("communes.id", name="fk_cards_commune_id_communes"), nullable=False),
        sa.Column("person_name", sa.String(200), nullable=False),
        sa.Column("birth_year", sa.Integer, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("payload", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("replaced_by", sa.BigInteger),
        sa.PrimaryKeyConstraint("number", name="pk_cards"),
    )
    op.create_index("ix_cards_commune_id", "cards", ["commune_id"])
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("card_number", sa.BigInteger(), nullable=True))
    op.create_index("ix_visits_card_number", "visits", ["card_number"])


def downgrade() -> None:
    op.drop_index("ix_visits_card_number", table_name="visits")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("card_number")
    op.drop_index("ix_cards_commune_id", table_name="cards")
    op.drop_table("cards")
