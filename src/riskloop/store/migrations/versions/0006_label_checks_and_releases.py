"""Labels are evidence: each outcome's check status, its source and the quarantined batch
holding it; a quarantined batch's evidence and its release by a person.

Written to match Alembic's autogenerate output for riskloop.store.tables;
tests/store/test_migrations.py checks that head equals the code's schema. Outcomes stored
before this revision become "unchecked": the next retrain checks them before using them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "labels",
        sa.Column("status", sa.String(length=16), server_default="unchecked", nullable=False),
    )
    op.add_column("labels", sa.Column("source", sa.String(length=500), nullable=True))
    op.add_column("labels", sa.Column("batch_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_labels_status"), "labels", ["status"], unique=False)
    op.add_column("quarantined_batches", sa.Column("evidence", sa.JSON(), nullable=True))
    op.add_column(
        "quarantined_batches",
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "quarantined_batches", sa.Column("released_by", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "quarantined_batches",
        sa.Column("release_reason", sa.String(length=1000), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("quarantined_batches") as batch:
        batch.drop_column("release_reason")
        batch.drop_column("released_by")
        batch.drop_column("released_at")
        batch.drop_column("evidence")
    op.drop_index(op.f("ix_labels_status"), table_name="labels")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("batch_id")
        batch.drop_column("source")
        batch.drop_column("status")
