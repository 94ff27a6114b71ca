"""docs/reference.md is generated from the code and must not drift from it."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference", ROOT / "scripts" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_page_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == generator().render(), "run: python scripts/reference.py > docs/reference.md"


def test_every_public_method_has_a_docstring() -> None:
    reference = generator()
    missing = [f"{prefix}.{name}" for prefix, cls in reference.AREAS
               for name, function in reference._methods(cls) if not inspect.getdoc(function)]
    assert missing == []
