"""``custmgmt`` on the command line (also ``python -m custmgmt``).

    custmgmt --version                              the installed version
    custmgmt demo [--url URL]                       tell the demo story (SQLite by default)
    custmgmt db upgrade URL                         create or upgrade custmgmt's tables
    custmgmt db rekey URL                           seal identity keys with $CUSTMGMT_KEY_PEPPER
    custmgmt principal add ID --role R [--team T] --url URL   (bootstrap: see below)
    custmgmt import prospects FILE.csv --as USER --url URL [--encoding gb18030]
    custmgmt report visit-points --month YYYY-MM --as USER --url URL
    custmgmt report funnel --from YYYY-MM-DD --to YYYY-MM-DD --as USER --url URL
    custmgmt followups remind --as USER --url URL   queue overdue reminders
    custmgmt notify dispatch --as USER --url URL    deliver one batch of the outbox
    custmgmt notify run --as USER --url URL [--until-idle]   the delivery worker
    custmgmt notify dead --as USER --url URL        list dead letters
    custmgmt notify retry ID --as USER --url URL    send a dead letter again
    custmgmt worker --as USER --url URL [--settings MOD:NAME] [--every SECONDS] [--once]

Every ``notify`` command takes ``--notifier NAME`` (default: logging),
``--option ADAPTER.KEY=VALUE`` (repeatable: ``--option smtp.host=mail.local``)
and ``--plugin MODULE`` (repeatable: register an importable module as a plugin).

Whoever can run these commands against a database URL holds its credentials and
is trusted as the host application: ``principal add`` writes grants directly (the
bootstrap for a fresh store). Unknown role names are refused. The other commands
act as the principal named by ``--as``, with that principal's stored grants.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import hashlib
import importlib
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from custmgmt import __version__, demo, worker
from custmgmt.app import CustomerManagement
from custmgmt.app import open as open_app
from custmgmt.errors import CustmgmtError, PermissionDenied, ValidationError
from custmgmt.ports.auth import Principal
from custmgmt.ports.options import OptionValue
from custmgmt.ports.settings import Settings
from custmgmt.services.notifications import DispatchReport
from custmgmt.services.prospect_import import COLUMNS, DEFAULT_BATCH_SIZE

PEPPER_VARIABLE = "CUSTMGMT_KEY_PEPPER"
"""The environment variable holding ``Settings.key_pepper`` (as text) for every command."""

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be")
MAX_FIELD = 100_000
"""A CSV cell longer than this (characters) is refused."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custmgmt", description="custmgmt command line")
    parser.add_argument("--version", action="version", version=f"custmgmt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run_demo = commands.add_parser("demo", help="tell a short story against a fresh store")
    run_demo.add_argument("--url", help="storage URL (default: a new SQLite file in a "
                          "temporary folder)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade custmgmt's tables")
    upgrade.add_argument("url")
    rekey = db_commands.add_parser("rekey", help=f"seal identity keys again with the pepper "
                                   f"in ${PEPPER_VARIABLE} (after setting or changing it)")
    rekey.add_argument("url")

    principal = commands.add_parser("principal", help="principals and their roles")
    principal_commands = principal.add_subparsers(dest="principal_command", required=True)
    add = principal_commands.add_parser("add", help="create or replace a principal")
    add.add_argument("id")
    add.add_argument("--role", action="append", default=[],
                     help="a role the authorizer knows, e.g. salesperson (repeatable)")
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
    prospects.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    prospects.add_argument("--encoding", default="utf-8-sig", choices=ENCODINGS,
                           help="the file's text encoding (default utf-8-sig: UTF-8 with or "
                           "without a BOM; gb18030 or gbk for Chinese spreadsheets)")

    report = commands.add_parser("report", help="reports as text tables")
    reports = report.add_subparsers(dest="report", required=True)
    points = reports.add_parser("visit-points", help="visit points of one month")
    points.add_argument("--month", required=True, help="YYYY-MM")
    funnel = reports.add_parser("funnel", help="the pipeline funnel of a period")
    funnel.add_argument("--from", dest="start", required=True, type=_date, help="YYYY-MM-DD")
    funnel.add_argument("--to", dest="end", required=True, type=_date, help="YYYY-MM-DD")
    for sub in (points, funnel):
        sub.add_argument("--as", dest="actor", required=True, help="whose view")
        sub.add_argument("--url", required=True, help="storage URL")

    followups = commands.add_parser("followups", help="follow-up housekeeping")
    followup_commands = followups.add_subparsers(dest="followups", required=True)
    remind = followup_commands.add_parser("remind", help="queue overdue reminders")
    remind.add_argument("--as", dest="actor", required=True, help="a sales manager or admin")
    remind.add_argument("--url", required=True, help="storage URL")

    _notify_parser(commands)
    _add_worker(commands)
    return parser


def _notify_parser(commands: Any) -> None:
    notify = commands.add_parser("notify", help="the notification outbox")
    notify_commands = notify.add_subparsers(dest="notify", required=True)
    dispatch = notify_commands.add_parser("dispatch", help="deliver one batch of due "
                                          "notifications")
    dispatch.add_argument("--limit", type=int, default=100, help="batch size (default 100)")
    run = notify_commands.add_parser("run", help="the delivery worker: deliver due "
                                     "notifications and feed event observers until stopped")
    run.add_argument("--batch", type=int, default=100, help="items per claim (default 100)")
    run.add_argument("--poll", type=float, default=2.0,
                     help="seconds to wait when nothing is due (default 2)")
    run.add_argument("--until-idle", action="store_true",
                     help="stop once a round finds nothing due")
    dead = notify_commands.add_parser("dead", help="list dead letters")
    retry = notify_commands.add_parser("retry", help="send a dead letter again")
    retry.add_argument("id", help="the notification id")
    for sub in (dispatch, run, dead, retry):
        sub.add_argument("--as", dest="actor", required=True,
                         help="a principal with the notification.dispatch right")
        sub.add_argument("--url", required=True, help="storage URL")
        sub.add_argument("--notifier", default="logging",
                         help="notifier to deliver with (default: logging)")
        sub.add_argument("--option", action="append", default=[], metavar="ADAPTER.KEY=VALUE",
                         help="an adapter option, e.g. smtp.host=mail.local (repeatable)")
        sub.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                         help="import MODULE and register it as a plugin (repeatable)")
        sub.add_argument("--lease-seconds", type=int, default=None,
                         help="how long a claim holds its items (default: 300)")


def _open(url: str, options: dict[str, Any] | None = None,
          plugins: Sequence[object] = ()) -> CustomerManagement:
    """Open ``url`` with the key pepper from the environment, if set, and ``options``
    as further settings (notifier, adapter options...)."""
    pepper = os.environ.get(PEPPER_VARIABLE)
    settings = Settings(key_pepper=pepper or None, **(options or {}))
    return open_app(url, settings=settings, plugins=plugins)


def _add_worker(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run_worker = commands.add_parser(
        "worker", help="reminders, pool releases and notification dispatch on a schedule")
    run_worker.add_argument("--as", dest="actor", required=True, metavar="PRINCIPAL_ID",
                            help="who the jobs run as: an admin, or a sales manager (their "
                            "team) who also holds the dispatcher role")
    run_worker.add_argument("--url", required=True, help="storage URL")
    run_worker.add_argument("--settings", help="the application's settings, as "
                            "package.module:NAME (default: custmgmt's defaults)")
    run_worker.add_argument("--every", type=float, default=300.0,
                            help="seconds between rounds (default 300)")
    run_worker.add_argument("--once", action="store_true", help="one round, then exit (cron)")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (want YYYY-MM-DD)") from None


def _actor(app: CustomerManagement, principal_id: str) -> Principal:
    """Only the id counts: every call reads that principal's grants from storage, and
    an unknown id is PermissionDenied."""
    return Principal(id=principal_id)


def _report(args: argparse.Namespace) -> int:
    with _open(args.url) as app:
        actor = _actor(app, args.actor)
        if args.report == "visit-points":
            points = app.reports.visit_points(actor, month=args.month)
            print(f"visit points {points.month} (minimum {points.minimum})")
            print(f"{'salesperson':20} {'points':>6} {'short':>6}")
            for row in points.rows:
                flag = "  FLAGGED" if row.flagged else ""
                print(f"{row.principal_id:20} {row.points:>6} {row.shortfall:>6}{flag}")
        else:
            funnel = app.reports.funnel(actor, start=args.start, end=args.end)
            print(f"funnel {funnel.start} .. {funnel.end}: {funnel.total} prospects, "
                  f"{funnel.lost} lost")
            for step in funnel.steps:
                rate = step.conversion_to_next
                shown = "" if rate is None else f"{float(rate):.1%}"
                print(f"{step.stage.value:18} {step.reached:>6}  {shown}")
    return 0


def _remind(args: argparse.Namespace) -> int:
    with _open(args.url) as app:
        queued = app.followups.send_reminders(_actor(app, args.actor))
    print(f"{queued} reminder(s) queued")
    return 0


def _options(pairs: list[str]) -> dict[str, dict[str, OptionValue]]:
    options: dict[str, dict[str, OptionValue]] = {}
    for pair in pairs:
        name, dot, rest = pair.partition(".")
        key, equals, value = rest.partition("=")
        if not (dot and equals and name and key):
            raise ValidationError("option", f"{pair!r} is not ADAPTER.KEY=VALUE")
        options.setdefault(name, {})[key] = value
    return options


def _plugins(names: list[str]) -> list[object]:
    plugins: list[object] = []
    for name in names:
        try:
            plugins.append(importlib.import_module(name))
        except ImportError:
            raise ValidationError("plugin", f"cannot import {name!r}") from None
    return plugins


def _notify_app(args: argparse.Namespace) -> CustomerManagement:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    lease = {} if args.lease_seconds is None else {"notify_lease_seconds": args.lease_seconds}
    return _open(args.url, {"notifier": args.notifier, "plugins": _options(args.option),
                            **lease}, _plugins(args.plugin))


def _summary(report: DispatchReport) -> str:
    return (f"sent {report.sent}, failed {report.failed}, dead {report.dead}, "
            f"refused {report.refused}")


def _add(total: DispatchReport, report: DispatchReport) -> DispatchReport:
    return DispatchReport(sent=total.sent + report.sent, failed=total.failed + report.failed,
                          dead=total.dead + report.dead, refused=total.refused + report.refused)


def _run_worker(app: CustomerManagement, actor: Principal, args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    total = DispatchReport()
    while not stop.is_set():
        report = app.notifications.dispatch(actor, limit=args.batch)
        app.feed_observers()
        total = _add(total, report)
        if report.claimed == 0:
            if args.until_idle:
                break
            stop.wait(args.poll)
    print(_summary(total))
    return 0


def _notify(args: argparse.Namespace) -> int:
    with _notify_app(args) as app:
        actor = _actor(app, args.actor)
        if args.notify == "run":
            return _run_worker(app, actor, args)
        if args.notify == "dead":
            for item in app.notifications.dead(actor):
                print(f"{item.notification.id}  {item.notification.kind}  "
                      f"attempts {item.attempts}  {item.last_error}")
            return 0
        if args.notify == "retry":
            item = app.notifications.retry(actor, args.id)
            print(f"{item.notification.id}: {item.status.value}")
            return 0
        result = app.notifications.dispatch(actor, limit=args.limit)
    print(_summary(result))
    return 0 if result.failed == result.dead == 0 else 2


def _worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = Settings() if args.settings is None else worker.load_settings(args.settings)
    stop = threading.Event()
    if not args.once:
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    failed = False

    def report(done: worker.Round) -> None:
        nonlocal failed
        failed = failed or done.failed > 0 or done.dead > 0 or done.error is not None
        print(done, flush=True)

    with open_app(args.url, settings=settings) as app:
        known = app.get_principal(args.actor)   # refuse to start, rather than fail each round
        if known is None or not known.active:
            raise PermissionDenied(args.actor, "worker", "not a known, active principal")
        actor = _actor(app, args.actor)
        with contextlib.suppress(KeyboardInterrupt):   # Ctrl-C ends a running worker
            worker.run(app, actor, every=args.every, rounds=1 if args.once else None,
                       stop=stop, report=report)
    return 2 if args.once and failed else 0


def _demo(url: str | None) -> None:
    if url is not None:
        demo.run(url).close()
        return
    with tempfile.TemporaryDirectory(prefix="custmgmt-demo-") as folder:
        demo.run(f"sqlite:///{Path(folder) / 'crm.db'}").close()


def _fingerprint(path: Path, encoding: str) -> str:
    """Read the whole file once: it must decode in ``encoding``. Returns the import id
    (a hash of its bytes): re-running the same file recognises the rows already stored."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeError as error:
                where = getattr(error, "start", 0)
                raise ValidationError("file", f"is not {encoding} text (byte {offset + where}"
                                      "); choose the file's encoding with --encoding") from None
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeError:
        raise ValidationError("file", f"is not {encoding} text (it ends in the middle of a "
                              "character); choose the file's encoding with --encoding") from None
    return "csv-" + digest.hexdigest()[:32]


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str, str | None]]:
    """The data rows, after checking that the first line is a header of known columns
    (never echoing it: a file without a header starts with someone's data)."""
    try:
        header = reader.fieldnames or []
        unknown = [name for name in header if name not in COLUMNS]
        if not header or unknown or "name" not in header:
            raise ValidationError("file", "the first line must be a header of column names ("
                                  f"{', '.join(sorted(COLUMNS))}); {len(unknown)} of its "
                                  f"{len(header)} columns are not among them")
        for row in reader:
            if None in row:
                raise ValidationError("file", f"line {reader.line_num} has more cells than "
                                      "the header has columns")
            yield row
    except csv.Error as error:
        raise ValidationError("file", f"line {reader.line_num} is not valid CSV ({error})"
                              ) from None


def _import_prospects(args: argparse.Namespace) -> int:
    with _open(args.url) as app:
        actor = _actor(app, args.actor)
        import_id = _fingerprint(args.file, args.encoding)

        def progress(imported: int, rejected: int) -> None:
            print(f"\rimported {imported:>9,}  rejected {rejected:>7,}", end="", file=sys.stderr,
                  flush=True)

        csv.field_size_limit(MAX_FIELD)
        with args.file.open(newline="", encoding=args.encoding) as handle:
            report = app.prospects.import_many(
                actor, _rows(csv.DictReader(handle)), batch_size=args.batch_size,
                first_line=2, on_progress=progress, import_id=import_id)
        print(file=sys.stderr)
    already = (f", already imported {report.already_imported}" if report.already_imported
               else "")
    print(f"imported {report.imported}{already}, rejected {len(report.rejected)}")
    for row in report.rejected:
        where = f" [{row.field}]" if row.field else ""
        print(f"  line {row.line}{where}: {row.reason}")
    return 0 if not report.rejected else 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            _demo(args.url)
        elif args.command == "db" and args.db_command == "rekey":
            with _open(args.url) as app:
                done = app.rekey_identity_keys()
            print(f"identity keys sealed again: {done.prospects} prospect(s), "
                  f"{done.customers} customer(s)")
        elif args.command == "db":
            open_app(args.url, migrate=True).close()
            print("custmgmt schema is up to date")
        elif args.command == "principal":
            with _open(args.url) as app:
                app.principal(args.id, roles=args.role, team=args.team,
                              supervisor_id=args.supervisor)
            print(f"principal {args.id} saved")
        elif args.command == "import":
            return _import_prospects(args)
        elif args.command == "report":
            return _report(args)
        elif args.command == "followups":
            return _remind(args)
        elif args.command == "notify":
            return _notify(args)
        elif args.command == "worker":
            return _worker(args)
    except CustmgmtError as error:
        print(f"custmgmt: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"custmgmt: {error.strerror}: {error.filename}", file=sys.stderr)
        return 1
    except Exception as error:  # never a traceback: one line, no data from the input
        print(f"custmgmt: unexpected {type(error).__name__} (not a custmgmt error; please "
              "report it)", file=sys.stderr)
        return 1
    return 0
