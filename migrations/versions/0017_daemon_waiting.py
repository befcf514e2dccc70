"""A daemon waiting between sessions: ``daemon_state.ts_next_session``, the start of the session it waits for
(its first order phase: the KRX pre-open), shown by ``stockbot status`` as ``WAITING for <time, KST>``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

``trading_state`` (String(10)) takes the new value ``WAITING`` as it is; it has no CHECK constraint.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("daemon_state") as batch:
        batch.add_column(sa.Column("ts_next_session", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("daemon_state") as batch:
        batch.drop_column("ts_next_session")
