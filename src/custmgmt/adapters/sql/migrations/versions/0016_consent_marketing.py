"""consent history, campaigns and touches (issue 16)

Reserved so that work landing in parallel keeps one linear chain; the issue's
work fills it in.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
