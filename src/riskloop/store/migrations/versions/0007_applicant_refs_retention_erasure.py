"""Personal data: the prediction log's pseudonymous applicant reference, when retention purged
a row's inputs, the decision a rectified one corrects, and the tombstones of erased decisions.

Written to match Alembic's autogenerate output for riskloop.store.tables;
tests/store/test_migrations.py checks that head equals the code's schema. Rows logged before
this revision have no applicant reference (none was ever stored).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("erased_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_erased_decisions_erased_at"), "erased_decisions", ["erased_at"], unique=False
    )
    op.add_column("predictions", sa.Column("applicant_ref", sa.String(length=64), nullable=True))
    op.add_column(
        "predictions", sa.Column("inputs_purged_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("predictions", sa.Column("rectifies", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_predictions_applicant_ref"), "predictions", ["applicant_ref"], unique=False
    )
    op.create_index(op.f("ix_predictions_rectifies"), "predictions", ["rectifies"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_predictions_rectifies"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_applicant_ref"), table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("rectifies")
        batch.drop_column("inputs_purged_at")
        batch.drop_column("applicant_ref")
    op.drop_index(op.f("ix_erased_decisions_erased_at"), table_name="erased_decisions")
    op.drop_table("erased_decisions")
