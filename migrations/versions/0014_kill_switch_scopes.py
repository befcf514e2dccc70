"""The kill switch per venue: one row per scope, ``*`` (every daemon: ``stockbot kill``) or a venue (``krx``,
``upbit``: ``stockbot kill --venue upbit``, and what a daemon sets itself, such as its daily loss stop). A daemon
honours the ``*`` switch and its own venue's.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02

The single row (``id = 1``) becomes the ``*`` row. The old table is renamed aside (its constraints too, on
PostgreSQL, whose constraint names are schema-wide), the new one created under the final names, the row copied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sa.DateTime(timezone=True)
_ACTIONS = "action IN ('halt','cancel_open','flatten')"
_COPIED = "active, reason, set_by, ts_changed, action"


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _set_aside(constraints: Sequence[str]) -> None:
    op.rename_table("kill_switch", "kill_switch_before")
    if _postgresql():
        for name in constraints:
            op.execute(f"ALTER TABLE kill_switch_before RENAME CONSTRAINT {name} TO {name}_before")


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("set_by", sa.String(64), server_default="", nullable=False),
        sa.Column("ts_changed", _UTC, nullable=False),
        sa.Column("action", sa.String(16), server_default="halt", nullable=False),
    ]


def upgrade() -> None:
    _set_aside(("pk_kill_switch", "ck_kill_switch_single_row", "ck_kill_switch_action"))
    op.create_table(
        "kill_switch",
        sa.Column("scope", sa.String(16), nullable=False),
        *_columns(),
        sa.CheckConstraint(_ACTIONS, name=op.f("ck_kill_switch_action")),
        sa.CheckConstraint("scope IN ('*','krx','upbit')", name=op.f("ck_kill_switch_scope")),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_kill_switch")),
    )
    op.execute(f"INSERT INTO kill_switch (scope, {_COPIED}) SELECT '*', {_COPIED} FROM kill_switch_before")
    op.drop_table("kill_switch_before")


def downgrade() -> None:
    _set_aside(("pk_kill_switch", "ck_kill_switch_action", "ck_kill_switch_scope"))
    op.create_table(
        "kill_switch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        *_columns(),
        sa.CheckConstraint("id = 1", name=op.f("ck_kill_switch_single_row")),
        sa.CheckConstraint(_ACTIONS, name=op.f("ck_kill_switch_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kill_switch")),
    )
    op.execute(f"INSERT INTO kill_switch (id, {_COPIED}) SELECT 1, {_COPIED} FROM kill_switch_before WHERE scope = '*'")
    op.drop_table("kill_switch_before")
