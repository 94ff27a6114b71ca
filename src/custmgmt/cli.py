"""``custmgmt`` on the command line (also ``python -m custmgmt``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from custmgmt import demo
from custmgmt.errors import CustmgmtError

DEFAULT_DEMO_URL = "memory://"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custmgmt", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="tell a short story against a fresh store")
    run_demo.add_argument("--url", default=DEFAULT_DEMO_URL,
                          help=f"storage URL (default {DEFAULT_DEMO_URL})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            demo.run(args.url).close()
    except CustmgmtError as error:
        print(f"custmgmt: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
