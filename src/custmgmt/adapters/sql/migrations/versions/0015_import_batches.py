"""bulk import: schema for batched writes (issue 12)

Reserved so that work landing in parallel keeps one linear chain; the issue's
work fills it in.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
