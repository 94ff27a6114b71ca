"""write path of register and the due lists (issue 12)

Reserved so that work landing in parallel keeps one linear chain; the issue's
work fills it in.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
