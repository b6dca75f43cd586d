"""PostgreSQL: a2e_refuse(), so one autocommit statement can undo a partial admission.

The admission upsert raises through this function when some but not all of an
agent's windows moved; the failed statement is rolled back as a whole, so no
window moves. SQLite admits inside a transaction instead and needs nothing here.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The SQLSTATE a2e_refuse() raises; a2e.store.queries.usage catches exactly this one.
REFUSED = "A2E01"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
CREATE FUNCTION a2e_refuse(reason text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '{REFUSED}', MESSAGE = reason;
END
$$
""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS a2e_refuse(text)")
