"""The reference pages cover every public name, as the built site shows them.

The site is built (``mkdocs build --strict``, offline) once per session, or read
from ``$CUSTMGMT_DOCS_SITE`` when scripts/test has just built it. mkdocstrings
writes ``objects.inv``: every object it rendered, by its dotted path. The public
names are found independently, by importing the package; each must be rendered.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import custmgmt

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
REFERENCE_PAGES = [ROOT / "docs" / "reference.md", *sorted(REFERENCE.glob("*.md"))]

# Modules that are no part of the public API, and why.
INTERNAL = {
    "custmgmt.adapters": "chosen by URL and settings through plugins; see docs/storage.md",
    "custmgmt.cli": "the command line, documented in docs/index.md",
    "custmgmt.demo": "the demo story behind `custmgmt demo`",
    "custmgmt.__main__": "python -m custmgmt",
    "custmgmt.services.context": "what services share; not called by applications",
    "custmgmt.services.inputs": "input checks shared by services",
    "custmgmt.services.trails": "where an audit trail starts; docs/integrity.md says it",
    "custmgmt.services.collector": "how import_many tunes the garbage collector; docs/storage.md",
    "custmgmt.services.import_ahead": "how import_many writes ahead on PostgreSQL; docs/storage.md",
    "custmgmt.domain.validation": "attrs validators shared by the domain",
    "custmgmt.testing.": "contract pieces: the public ones are in custmgmt.testing.__all__",
}

# Where a new module of each layer is documented.
PAGE_FOR = {
    "custmgmt.services.": "docs/reference/services.md",
    "custmgmt.domain.": "docs/reference/domain.md",
    "custmgmt.ports.": "docs/reference/ports.md",
}


def internal(module: str) -> bool:
    return any(module == name or module.startswith(name if name.endswith(".") else name + ".")
               for name in INTERNAL)


def public_modules() -> Iterator[ModuleType]:
    yield custmgmt
    for info in pkgutil.walk_packages(custmgmt.__path__, "custmgmt."):
        if internal(info.name) or any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if info.ispkg and not hasattr(module, "__all__"):
            continue  # a namespace folder: its modules are what is documented
        yield module


def _own_names(module: ModuleType) -> list[str]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == module.__name__]


def _members(cls: type) -> Iterator[str]:
    for name, value in vars(cls).items():
        if name.startswith(("_", "test_")):
            continue
        if isinstance(value, staticmethod | classmethod | property) or inspect.isfunction(value):
            yield name


def public_names() -> dict[str, tuple[str, ...]]:
    """Each public name -> the dotted paths the reference may show it under."""
    names: dict[str, tuple[str, ...]] = {}
    for module in public_modules():
        names[module.__name__] = (module.__name__,)
        for name in _own_names(module):
            value = getattr(module, name)
            exported = f"{module.__name__}.{name}"
            if inspect.ismodule(value):
                names[exported] = (exported, value.__name__)
                continue
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            canonical = f"{value.__module__}.{value.__qualname__}"
            names[exported] = (exported, canonical)
            if inspect.isclass(value):
                for member in _members(value):
                    names[f"{exported}.{member}"] = (f"{exported}.{member}",
                                                     f"{canonical}.{member}")
    return names


def inventory(site: Path) -> set[str]:
    """The objects the site rendered (priority 1 in mkdocstrings' objects.inv)."""
    data = (site / "objects.inv").read_bytes()
    marker = b"zlib.\n"
    body = zlib.decompress(data[data.index(marker) + len(marker):]).decode()
    rendered = set()
    for line in body.splitlines():
        match = re.match(r"(\S+) py:\w+ (-?\d+) ", line)
        if match and match.group(2) == "1":
            rendered.add(match.group(1))
    return rendered


def directives() -> set[str]:
    return {match.group(1) for page in REFERENCE_PAGES
            for match in re.finditer(r"^::: (\S+)", page.read_text(encoding="utf-8"), re.M)}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CUSTMGMT_DOCS_SITE")
    if given:
        return Path(given)
    folder = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_build.py"),
                             "--site-dir", str(folder)], capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def advice(name: str, documented: set[str]) -> str:
    owner = name
    while "." in owner and not _is_module(owner):
        owner = owner.rsplit(".", 1)[0]
    if owner not in documented:
        page = next((p for prefix, p in PAGE_FOR.items() if owner.startswith(prefix)),
                    "a page in docs/reference/ (and list that page under Reference in "
                    "mkdocs.yml's nav)")
        return (f"module {owner} is on no reference page. Add the line "
                f"`::: {owner}` to {page}; or, if the module is internal, add it to "
                f"INTERNAL in {Path(__file__).relative_to(ROOT)} with the reason")
    return (f"{name}: `::: {owner}` does not render it. Define it in the module's source "
            "(mkdocstrings reads the source, not runtime attributes) or export it in "
            "__all__; an underscore makes it private")


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def test_the_reference_renders_every_public_name(site: Path) -> None:
    rendered = inventory(site)
    documented = directives()
    missing = sorted({advice(name, documented)
                      for name, paths in public_names().items()
                      if not any(path in rendered for path in paths)})
    assert not missing, "the API reference misses public names:\n  " + "\n  ".join(missing)


def test_every_service_on_the_facade_is_in_the_reference(site: Path) -> None:
    rendered = inventory(site)
    with custmgmt.open("memory://") as app:
        services = {name: type(value) for name, value in vars(app).items()
                    if not name.startswith("_")
                    and type(value).__module__.startswith("custmgmt.services.")}
    assert {"prospects", "followups", "samples", "reports", "pool"} <= services.keys()
    missing = []
    for name, cls in sorted(services.items()):
        if f"custmgmt.app.CustomerManagement.{name}" not in rendered:
            missing.append(f"app.{name}: declare it in CustomerManagement's class body as "
                           f"`{name}: {cls.__name__}` followed by a one-line docstring")
        if f"{cls.__module__}.{cls.__qualname__}" not in rendered:
            missing.append(f"app.{name}: its class {cls.__module__}.{cls.__qualname__} is not "
                           "rendered; add `::: " + cls.__module__ + "` to "
                           "docs/reference/services.md")
    assert not missing, "\n".join(missing)


def test_every_reference_page_is_generated_from_the_code() -> None:
    pages = sorted(REFERENCE.glob("*.md"))
    assert pages, "docs/reference/ holds the generated reference pages"
    for page in pages:
        assert re.search(r"^::: custmgmt", page.read_text(encoding="utf-8"), re.M), page.name


def test_the_old_hand_made_reference_is_gone() -> None:
    assert not (ROOT / "scripts" / "reference.py").exists()


def test_what_applications_and_plugins_call_has_a_docstring() -> None:
    """The facade, services, ports, errors, plugins, serialization and the testing kit.

    (Domain types are rendered with their fields and signatures either way.)
    """
    missing = []
    for module in public_modules():
        if module.__name__.startswith("custmgmt.domain."):
            continue
        for name in _own_names(module):
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)) \
                    or value.__module__.startswith("custmgmt.domain."):
                continue
            path = f"{value.__module__}.{value.__qualname__}"
            if not value.__doc__:
                missing.append(path)
            if inspect.isclass(value) and value.__module__.startswith(
                    ("custmgmt.app", "custmgmt.services.")):
                missing += [f"{path}.{member}" for member in _members(value)
                            if not inspect.getdoc(getattr(value, member))]
    assert not missing, "add a docstring to: " + ", ".join(sorted(set(missing)))


def test_the_advice_says_what_to_add() -> None:
    assert "add the line `::: custmgmt.worker` to a page" in advice(
        "custmgmt.worker.Round", {"custmgmt"}).lower()
    assert "docs/reference/services.md" in advice("custmgmt.services.pool.PoolService", set())
    assert "does not render it" in advice("custmgmt.services.pool.PoolService",
                                          {"custmgmt.services.pool"})
