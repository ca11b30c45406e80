"""Prediction rows keep the client's X-Request-ID and the trace id beside their own id.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default and no index: adding them rewrites no row, and the write path
    # pays for two short strings only (a lookup by either narrows by endpoint and time first).
    op.add_column("predictions", sa.Column("client_request_id", sa.String(128), nullable=True))
    op.add_column("predictions", sa.Column("trace_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("trace_id")
        batch.drop_column("client_request_id")
