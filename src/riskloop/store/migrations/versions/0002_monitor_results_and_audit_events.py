"""Monitor results (one value per model version, window and metric) and the audit journal.

Written to match Alembic's autogenerate output for riskloop.store.monitor_results;
tests/store/test_migrations.py checks that head equals the code's schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("window_id", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_monitor_results_window_id"), "monitor_results", ["window_id"], unique=False
    )
    op.create_index(
        op.f("ix_monitor_results_computed_at"), "monitor_results", ["computed_at"], unique=False
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_audit_events_kind"), "audit_events", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_kind"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_monitor_results_computed_at"), table_name="monitor_results")
    op.drop_index(op.f("ix_monitor_results_window_id"), table_name="monitor_results")
    op.drop_table("monitor_results")
