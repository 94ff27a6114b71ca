"""A watch over the whole test run for one planted person's data (a pytest plugin).

``SENTINEL`` is a person nobody else uses: a name, a phone, an e-mail and an
address. ``tests/unit/test_pii_sentinel.py`` runs that person through every area
(and the hostile-input suite feeds the same values to every public method), while
this plugin, loaded by ``tests/conftest.py`` for the whole session, looks at:

- every log record any logger emits (custmgmt's loggers at DEBUG and up), its
  message and its formatted exception;
- the text of every ``custmgmt.errors`` exception created, and of every exception
  a test ends with;
- every audit entry and every domain event written to any storage (memory and
  SQL: the repositories' ``append`` methods are wrapped);

and fails the session if any of them holds one of the sentinel's values in any of
the forms they are written in (as given, digits only, E.164, lower-case). Where a
test plants a leak on purpose (to show the watch sees it), ``WATCH.expecting()``
takes those sightings out of the count.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from attrs import frozen

from custmgmt.domain.integrity import plain
from custmgmt.errors import CustmgmtError
from custmgmt.serialization import event_to_dict, make_converter


@frozen
class Sentinel:
    name: str = "Qiu Shaobing-Sentinel"
    phone: str = "139 0013 7731"
    email: str = "Qiu.Sentinel@pii-watch.example"
    address: str = "99 Sentinel Lane, Chaoyang"
    needs: str = "sentinel-needs: a loan for Qiu's bakery"

    def needles(self) -> tuple[str, ...]:
        """Every form the values may be written in, lower-case."""
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        return tuple(sorted({self.name.lower(), "qiu shaobing", digits, f"+86{digits}",
                             self.phone.lower(), self.email.lower(), self.address.lower(),
                             "sentinel lane", self.needs.lower()}))


SENTINEL = Sentinel()


class Watch:
    """Where the sentinel was seen. ``scan`` is called from every watched place."""

    def __init__(self, needles: tuple[str, ...]) -> None:
        self.needles = needles
        self.sightings: list[str] = []
        self.looked = 0

    def scan(self, where: str, text: str) -> None:
        self.looked += 1
        lowered = text.lower()
        for needle in self.needles:
            if needle in lowered:
                self.sightings.append(f"{where}: {needle!r}")

    @contextmanager
    def expecting(self) -> Iterator[list[str]]:
        """Sightings inside the block are handed to the caller, not counted."""
        before = len(self.sightings)
        seen: list[str] = []
        try:
            yield seen
        finally:
            seen.extend(self.sightings[before:])
            del self.sightings[before:]


WATCH = Watch(SENTINEL.needles())


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is the test's business
            text = str(record.msg)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        WATCH.scan(f"log {record.name}", text)


_CONVERTER = make_converter()


def _scan_audit(entries: Any) -> None:
    for entry in entries:
        WATCH.scan(f"audit entry {entry.resource_kind}",
                   json.dumps(plain(entry), ensure_ascii=False))


def _scan_events(events: Any) -> None:
    for event in events:
        WATCH.scan(f"event {type(event).__name__}",
                   json.dumps(event_to_dict(_CONVERTER, event), ensure_ascii=False))


def _wrap(cls: type, name: str, scan: Callable[[Any], None], many: bool) -> None:
    original = getattr(cls, name)

    def watched(self: Any, items: Any, *args: Any, **kwargs: Any) -> Any:
        scan(list(items) if many else [items])
        return original(self, items, *args, **kwargs)

    watched.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(cls, name, watched)


def _watch_errors() -> None:
    original = CustmgmtError.__init__

    def init(self: CustmgmtError, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        WATCH.scan(f"error {type(self).__name__}", " ".join(map(str, args)) + str(kwargs))

    CustmgmtError.__init__ = init  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    from custmgmt.adapters.memory.delivery import MemoryEvents
    from custmgmt.adapters.memory.records import MemoryAudit
    from custmgmt.adapters.sql.delivery import SqlEvents
    from custmgmt.adapters.sql.repositories import SqlAudit

    logging.getLogger().addHandler(_Handler(logging.NOTSET))
    logging.getLogger("custmgmt").setLevel(logging.DEBUG)
    _watch_errors()
    for cls in (MemoryAudit, SqlAudit):
        _wrap(cls, "append", _scan_audit, many=False)
        _wrap(cls, "append_many", _scan_audit, many=True)
    for cls in (MemoryEvents, SqlEvents):
        _wrap(cls, "append", _scan_events, many=False)
        _wrap(cls, "append_many", _scan_events, many=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    if call.excinfo is not None:
        WATCH.scan(f"exception ending {item.nodeid}", str(call.excinfo.value))
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if WATCH.sightings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WATCH.sightings:
        terminalreporter.section("personal data seen", red=True)
        for sighting in sorted(set(WATCH.sightings)):
            terminalreporter.line(sighting)
        terminalreporter.line(f"{len(WATCH.sightings)} sightings in {WATCH.looked} texts "
                              "looked at: the sentinel person leaked (see tests/pii_sentinel.py)")
