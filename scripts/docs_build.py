"""Build the documentation site as CI does: ``mkdocs build --strict``, with no network.

    python scripts/docs_build.py [--site-dir DIR]

Every outgoing socket connection is refused while mkdocs runs, so a theme feature
or plugin that fetches something at build time (web fonts, social cards, remote
object inventories) fails the build here instead of quietly needing the network.
Extra arguments go to ``mkdocs build`` (not ``--quiet``: it hides the warnings
that ``--strict`` counts, and the build then passes with them).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise OSError("the documentation build may not use the network")


def offline() -> None:
    """Make every attempt to reach another host fail loudly."""
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse


def main(argv: list[str]) -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner is not our warning
    offline()
    from mkdocs.__main__ import cli  # noqa: PLC0415 - after the network is off

    if "-q" in argv or "--quiet" in argv:
        print("--quiet would hide the warnings --strict fails on", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    try:
        cli.main(args=["build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), *argv],
                 prog_name="mkdocs", standalone_mode=False)
    except SystemExit as stop:
        return int(stop.code or 0)
    except Exception as error:  # click's own errors and an aborted build
        print(f"mkdocs build failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
