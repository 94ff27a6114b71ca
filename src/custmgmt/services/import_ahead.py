"""Writing an import's next batch while the one before it commits.

On a storage that ``writes_in_parallel`` (PostgreSQL: a server process a connection), a
batch's rows go to the server while the batch before it is still being written, so
the client's work on one batch and the server's on the other overlap. The import's
trail still grows one batch after another: a batch written ahead links its audit
entry to the entry of the batch before it, and commits only once that batch committed
as planned and its progress was reported (its gate passed). Otherwise the batch
written ahead is rolled back and written again the usual way, which reports each row
it refuses. Only a plain batch is written ahead: rows that repeat a key, or share one
with the batch before it, and an import that has met a holder go the usual way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import NamedTuple

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.registrations import KeySet
from custmgmt.services.collector import fewer_young_collections
from custmgmt.services.prospect_import import (
    Batch,
    Candidates,
    ImportReport,
    Planned,
    Progress,
    ProspectImport,
    RejectedRow,
    batches_of,
)

WAIT_SECONDS = 10.0
"""How long a batch written ahead holds its transaction open (its rows' keys taken)
waiting for the batch before it to be settled, a slow ``on_progress`` for one; then it
is rolled back and written the usual way."""

Written = tuple[int, list[DomainEvent]] | None


class Gate:
    """Opens once, when a batch is settled: passed if it committed as planned."""

    def __init__(self) -> None:
        self._settled = threading.Event()
        self._passed = False

    def open(self, passed: bool) -> None:
        if not self._settled.is_set():
            self._passed = passed
            self._settled.set()

    def passed(self) -> bool:
        """Whether the batch committed as planned, waiting up to ``WAIT_SECONDS``."""
        return self._settled.wait(WAIT_SECONDS) and self._passed


class Flight(NamedTuple):
    """A batch being written ahead: its rows, the rows its parse refused (reported when
    it is settled, in the order of the input), its plan, its keys, the write, and its
    gate."""

    candidates: Candidates
    refused: list[RejectedRow]
    planned: Planned
    keys: KeySet
    written: Future[Written]
    gate: Gate


class WriteAhead:
    """One run of an import whose batches are written one ahead (see the module).

    The caller's thread writes nothing while a batch of its own is in flight (but for
    ``on_progress``): a batch that could not be written ahead is written the usual way
    only once the batch after it, which links to it, has rolled back. So an import never
    waits for a transaction that waits for the import's own batch in flight."""

    def __init__(self, run: ProspectImport, on_progress: Progress | None) -> None:
        self._run, self._on_progress = run, on_progress

    def run(self, rows: Iterable[object], batch_size: int, first_line: int) -> ImportReport:
        """Like ``ProspectImport.run``, one batch written while the one before commits."""
        batches = batches_of(rows, batch_size, first_line)
        self._run.start()
        flying: Flight | None = None
        with fewer_young_collections(), ThreadPoolExecutor(
                2, thread_name_prefix="custmgmt-import") as pool:
            try:
                while (step := self._step(pool, batches, flying)) is not None:
                    candidates, refused, flight = step
                    settled = flying is None or self._settle(flying, flight)
                    if flight is not None and not settled:
                        self._settle(flight, None)  # it links to a batch not written as planned
                        flight = None
                    elif flight is None:
                        self._run.rejected.extend(refused)
                        self._run.store(candidates)
                        self._run.progress(self._on_progress)
                    flying = flight
                if flying is not None:
                    self._settle(flying, None)
            finally:
                if flying is not None:  # not settled: the batch after it must not wait
                    flying.gate.open(False)
        return self._run.report()

    def _step(
        self, pool: ThreadPoolExecutor, batches: Iterator[Batch], flying: Flight | None
    ) -> tuple[Candidates, list[RejectedRow], Flight | None] | None:
        """The next batch read, parsed and launched if it can be written ahead (with the
        rows its parse refused); None after the last. If any of that fails (the input, a
        plugin, an interrupt), the batch in flight is settled first, as batch after batch
        would have settled it before reading on."""
        try:
            batch = next(batches, None)
            if batch is None:
                return None
            candidates, refused = self._parsed(batch)
            return candidates, refused, self._launch(pool, candidates, refused, flying)
        except BaseException:
            if flying is not None:
                self._settle(flying, None)
            raise

    def _parsed(self, batch: Batch) -> tuple[Candidates, list[RejectedRow]]:
        """The batch's good rows, and the rows its parse refused, kept aside from the
        report until the batches before it are settled."""
        rejected = self._run.rejected
        before = len(rejected)
        candidates = self._run.parsed(batch)
        refused = rejected[before:]
        del rejected[before:]
        return candidates, refused

    def _launch(
        self, pool: ThreadPoolExecutor, candidates: Candidates, refused: list[RejectedRow],
        before: Flight | None,
    ) -> Flight | None:
        """The batch's write, started while ``before`` is written; None if the batch must
        be written the usual way, after ``before`` is settled."""
        run = self._run
        head, who = (run.last_head, run.last_who) if before is None else (
            before.planned.after, before.planned.who)
        if who is None or run.looks_up_holders or not candidates.lines:
            return None
        keys = KeySet(candidates.keys)
        if keys.repeated or (before is not None and not keys.isdisjoint(before.keys)):
            return None  # the usual way tells which row repeats which
        planned = run.registration(who, candidates, head)
        ready = (lambda: True) if before is None else before.gate.passed
        written = pool.submit(run.write_ahead, planned, keys, ready)
        return Flight(candidates, refused, planned, keys, written, Gate())

    def _settle(self, flight: Flight, after: Flight | None) -> bool:
        """Count the batch, or write it the usual way if it could not be written ahead
        (once ``after``, which links to it, has rolled back), report progress, then
        open its gate for the batch after it: whether it was written as planned."""
        committed = False
        try:
            written = flight.written.result()
            self._run.rejected.extend(flight.refused)
            if written is None:
                flight.gate.open(False)
                if after is not None:
                    wait([after.written])
                self._run.store(flight.candidates)
            else:
                self._run.stored_ahead(flight.planned, *written)
            self._run.progress(self._on_progress)
            committed = written is not None
        finally:
            flight.gate.open(committed)
        return committed

