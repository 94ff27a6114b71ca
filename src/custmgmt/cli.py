"""``custmgmt`` on the command line (also ``python -m custmgmt``).

    custmgmt demo [--url URL]                       tell the demo story (SQLite by default)
    custmgmt db upgrade URL                         create or upgrade custmgmt's tables
    custmgmt principal add ID --role R [--team T] --url URL
    custmgmt import prospects FILE.csv --as USER --url URL
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from custmgmt import demo
from custmgmt.app import open as open_app
from custmgmt.errors import CustmgmtError, NotFound


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custmgmt", description="custmgmt command line")
    commands = parser.add_subparsers(dest="command", required=True)

    run_demo = commands.add_parser("demo", help="tell a short story against a fresh store")
    run_demo.add_argument("--url", help="storage URL (default: a new SQLite file in a "
                          "temporary folder)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade custmgmt's tables")
    upgrade.add_argument("url")

    principal = commands.add_parser("principal", help="principals and their roles")
    principal_commands = principal.add_subparsers(dest="principal_command", required=True)
    add = principal_commands.add_parser("add", help="create or replace a principal")
    add.add_argument("id")
    add.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    add.add_argument("--team")
    add.add_argument("--supervisor")
    add.add_argument("--url", required=True, help="storage URL")

    imports = commands.add_parser("import", help="bulk import")
    what = imports.add_subparsers(dest="what", required=True)
    prospects = what.add_parser("prospects", help="import prospects from a CSV file")
    prospects.add_argument("file", type=Path, help="CSV with a header row: name, phone, "
                           "email, organization, willingness, potential_value, ...")
    prospects.add_argument("--as", dest="actor", required=True,
                           help="id of the principal who registers them")
    prospects.add_argument("--url", required=True, help="storage URL")
    prospects.add_argument("--batch-size", type=int, default=500)
    return parser


def _demo(url: str | None) -> None:
    if url is not None:
        demo.run(url).close()
        return
    with tempfile.TemporaryDirectory(prefix="custmgmt-demo-") as folder:
        demo.run(f"sqlite:///{Path(folder) / 'crm.db'}").close()


def _import_prospects(args: argparse.Namespace) -> int:
    with open_app(args.url) as app:
        actor = app.get_principal(args.actor)
        if actor is None:
            raise NotFound("principal", args.actor)

        def progress(imported: int, rejected: int) -> None:
            print(f"\rimported {imported:>9,}  rejected {rejected:>7,}", end="", file=sys.stderr,
                  flush=True)

        with args.file.open(newline="", encoding="utf-8-sig") as handle:
            report = app.prospects.import_many(
                actor, csv.DictReader(handle), batch_size=args.batch_size, first_line=2,
                on_progress=progress)
        print(file=sys.stderr)
    print(f"imported {report.imported}, rejected {len(report.rejected)}")
    for row in report.rejected:
        where = f" [{row.field}]" if row.field else ""
        print(f"  line {row.line}{where}: {row.reason}")
    return 0 if not report.rejected else 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            _demo(args.url)
        elif args.command == "db":
            open_app(args.url, migrate=True).close()
            print("custmgmt schema is up to date")
        elif args.command == "principal":
            with open_app(args.url) as app:
                app.principal(args.id, roles=args.role, team=args.team,
                              supervisor_id=args.supervisor)
            print(f"principal {args.id} saved")
        elif args.command == "import":
            return _import_prospects(args)
    except CustmgmtError as error:
        print(f"custmgmt: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"custmgmt: {error.strerror}: {error.filename}", file=sys.stderr)
        return 1
    return 0
