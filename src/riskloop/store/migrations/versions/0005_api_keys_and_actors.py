"""API keys (only a hash of each secret), and who acted: the caller's name on every logged
prediction and on every audit event.

Written to match Alembic's autogenerate output for riskloop.store.api_keys and the ``actor``
columns of riskloop.store.tables; tests/store/test_migrations.py checks that head equals the
code's schema. Rows written before this revision keep ``actor`` NULL (nobody was asked).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_api_keys_key_id"), "api_keys", ["key_id"], unique=True)
    op.create_index(op.f("ix_api_keys_name"), "api_keys", ["name"], unique=True)
    op.add_column("predictions", sa.Column("actor", sa.String(length=200), nullable=True))
    op.add_column("audit_events", sa.Column("actor", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("actor")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("actor")
    op.drop_index(op.f("ix_api_keys_name"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_key_id"), table_name="api_keys")
    op.drop_table("api_keys")
