"""Docs that run: every example script, every Python block in docs/ and the README, the demo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    result = run(str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example should tell its story"


def test_there_is_an_example_per_area() -> None:
    assert [p.name for p in EXAMPLES][:3] == [
        "01_prospects.py", "02_followups.py", "03_samples.py"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_python_in_each_page_runs_top_to_bottom(page: Path) -> None:
    blocks = PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


def test_the_demo_runs_from_the_command_line(tmp_path: Path) -> None:
    result = run("-m", "custmgmt", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "custmgmt demo on sqlite" in result.stdout
    assert "first registration" in result.stdout
    assert "contract_signed" in result.stdout
    assert "visit points" in result.stdout
    assert "tampered" in result.stdout and "IntegrityError" in result.stdout
    assert "not more than half of the whole panel" in result.stdout
    assert "3 of 5, sealed" in result.stdout and "reads phone None" in result.stdout
    assert "escalates 1 deadline(s) to the duty manager, the next sweep 0" in result.stdout


def test_the_demo_runs_twice_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run("-m", "custmgmt", "demo", "--url", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run("-m", "custmgmt", "demo", "--url", url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "run 2 on this store" in second.stdout
    assert "contract_signed" in second.stdout and "IntegrityError" in second.stdout
