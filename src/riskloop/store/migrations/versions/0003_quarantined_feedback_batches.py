"""Quarantined feedback batches: outcome files refused whole by the retraining workflow, kept
with their reasons and rows.

Written to match Alembic's autogenerate output for riskloop.store.retraining;
tests/store/test_migrations.py checks that head equals the code's schema.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantined_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_quarantined_batches_received_at"),
        "quarantined_batches",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantined_batches_received_at"), table_name="quarantined_batches")
    op.drop_table("quarantined_batches")
