"""Shadow predictions: the challenger's scores of live applications during a shadow period
(logged, never returned).

Written to match Alembic's autogenerate output for riskloop.store.shadow;
tests/store/test_migrations.py checks that head equals the code's schema.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shadow_predictions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["predictions.application_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "application_id", "model_version", name="uq_shadow_application_version"
        ),
    )
    op.create_index(
        op.f("ix_shadow_predictions_application_id"),
        "shadow_predictions",
        ["application_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shadow_predictions_application_id"), table_name="shadow_predictions")
    op.drop_table("shadow_predictions")
