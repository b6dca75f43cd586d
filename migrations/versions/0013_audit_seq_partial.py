"""``uq_audit_events_seq`` holds only sealed events (``WHERE seq IS NOT NULL``).

An event is inserted unsealed, ``seq`` NULL, in the transaction of the change it records
(two per execute); the full unique index took a page write for each of those NULLs on
the request path. Every query by ``seq`` names it (``seq IS NOT NULL``, ``seq > …``,
``seq = …``, ``seq <= …``), which both databases take to imply the index's predicate;
uniqueness of the sealed positions is unchanged (NULLs never conflicted).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = sa.text("seq IS NOT NULL")


def upgrade() -> None:
    op.drop_index("uq_audit_events_seq", table_name="audit_events")
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True,
                    sqlite_where=SEALED, postgresql_where=SEALED)


def downgrade() -> None:
    op.drop_index("uq_audit_events_seq", table_name="audit_events")
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True)
