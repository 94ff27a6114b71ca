"""Rules import-linter cannot see: the domain never reads the clock or does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "custmgmt" / "domain"
CLOCK_AND_IO = {"now", "utcnow", "today", "time", "monotonic", "open", "print", "input",
                "urandom", "uuid4", "random"}


def calls(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            target = node.func
            if isinstance(target, ast.Attribute):
                names.append(target.attr)
            elif isinstance(target, ast.Name):
                names.append(target.id)
    return names


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_modules_take_time_and_ids_as_arguments(module: Path) -> None:
    assert sorted(set(calls(module)) & CLOCK_AND_IO) == []


def test_the_check_sees_a_clock_read() -> None:
    sample = DOMAIN.parent / "adapters" / "system.py"
    assert "now" in calls(sample)
