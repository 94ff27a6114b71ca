"""Bulk import of prospects: streamed in batches, every row under the usual rules.

Each batch is one unit of work written with bulk statements. A bad row is
reported and skipped; it never costs the good rows around it. Memory stays
flat: only the current batch and the list of rejected rows are held.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import NamedTuple, TypeVar, cast

from attrs import frozen

from custmgmt.domain.audit import IMPORT_KIND, AuditEntry, import_entry
from custmgmt.domain.common import DomainEvent, Money, ProspectId, RegistrationId
from custmgmt.domain.customers import Purpose
from custmgmt.domain.grading import asked_grade
from custmgmt.domain.identity import KeyKind
from custmgmt.domain.integrity import ChainHead, audit_chain
from custmgmt.domain.prospects import (
    Grade,
    GradingPolicy,
    IdentityKey,
    Profile,
    Prospect,
    ProspectsImported,
    Willingness,
)
from custmgmt.domain.registrations import (
    FirstPlans,
    KeyColumns,
    KeySet,
    ProfileColumns,
    RegistrationBatch,
    individual_keys,
)
from custmgmt.domain.validation import own_text, type_name
from custmgmt.errors import (
    ClaimConflict,
    ConcurrencyError,
    CustmgmtError,
    StorageError,
    ValidationError,
)
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.clock import MAX_ID_LENGTH
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.collector import fewer_young_collections
from custmgmt.services.context import Context

COLUMNS = frozenset({
    "name", "phone", "email", "address", "organization", "credit_code", "industry",
    "source_channel", "needs", "willingness", "potential_value", "currency",
})


@frozen
class RejectedRow:
    """Why one input row was not imported. ``field`` is None for a conflict."""

    line: int
    field: str | None
    reason: str


@frozen
class ImportReport:
    """``imported``: rows stored now; ``rejected``: rows refused, with the reason;
    ``already_imported``: rows an earlier run with the same ``import_id`` stored."""

    imported: int
    rejected: tuple[RejectedRow, ...]
    already_imported: int = 0

    @property
    def total(self) -> int:
        """Rows read: imported, rejected and already imported."""
        return self.imported + len(self.rejected) + self.already_imported


class Planned(NamedTuple):
    """A batch ready to write: for whom, its rows, its audit entry (None: no row), and
    the head of the import's trail the entry follows."""

    who: Principal
    batch: RegistrationBatch
    entry: AuditEntry | None
    head: ChainHead | None

    @property
    def after(self) -> ChainHead | None:
        """The head of the import's trail once the batch is written."""
        return self.head if self.entry is None else _head_after(self.entry)


Batch = list[tuple[int, object]]
"""A batch of input rows, each with its line number."""


def batches_of(rows: Iterable[object], size: int, first_line: int) -> Iterator[Batch]:
    """``rows`` numbered from ``first_line``, ``size`` at a time."""
    numbered = enumerate(rows, start=first_line)
    while batch := list(islice(numbered, size)):
        yield batch


class Candidates(NamedTuple):
    """A batch's rows that passed validation, waiting for their claims to be checked: a
    column a field (no object a row), each row's line first."""

    lines: tuple[int, ...]
    profiles: ProfileColumns
    willingness: tuple[Willingness, ...]
    values: tuple[Money, ...]
    grades: tuple[Grade, ...]
    keys: KeyColumns

    def take(self, rows: Sequence[int]) -> Candidates:
        """Only ``rows`` (row numbers, in order)."""
        if len(rows) == len(self.lines):
            return self
        def pick(column: tuple[T, ...]) -> tuple[T, ...]:
            return tuple(column[n] for n in rows)
        return Candidates(pick(self.lines), ProfileColumns._make(map(pick, self.profiles)),
                          pick(self.willingness), pick(self.values), pick(self.grades),
                          KeyColumns._make(map(pick, self.keys)))


def _candidates(rows: list[tuple[int, Profile, Willingness, Money, Grade,
                                 frozenset[IdentityKey]]]) -> Candidates:
    """The candidates of rows checked one by one."""
    return Candidates(
        tuple(r[0] for r in rows), ProfileColumns.of([r[1] for r in rows]),
        tuple(r[2] for r in rows), tuple(r[3] for r in rows), tuple(r[4] for r in rows),
        KeyColumns.of([r[5] for r in rows]))


Progress = Callable[[int, int], None]
Parse = Callable[[Mapping[str, object]], tuple[Profile, Willingness, Money]]
ParseBatch = Callable[[list[object]], tuple[ProfileColumns, tuple[Willingness, ...],
                                            tuple[Money, ...]] | None]
"""Every row of a batch parsed a column at a time (profiles, willingness, values), or
None if one row is not good by the fast checks (then each is parsed by ``Parse``)."""
PlanBatch = Callable[[UnitOfWork, RegistrationBatch], None]
FirstPlansOf = Callable[[Sequence[Grade]], FirstPlans | None]
"""The first plans of a batch's rows of the given grades, for the batch to carry (then
storage writes them with the rows and ``PlanBatch`` is not called; None: it is)."""
ReleaseLost = Callable[[UnitOfWork, Principal, Iterable[Prospect]], bool]
"""Releases lost prospects among the holders whose release is due; True if any was."""


DEFAULT_BATCH_SIZE = 5000
"""Rows a unit of work of ``import_many`` writes by default. A transaction's commit writes
back every index page its rows touched, and identity keys land on random pages: fewer,
larger transactions write each page fewer times (100k rows on SQLite: about 0.8x the
time of batches of 1,000, and 0.67x-0.86x of 500 in paired runs, for about 20 MiB more
held). A batch holds SQLite's write lock while it is written: about half a second."""

WRITE_ATTEMPTS = 5
"""How often a batch is written again when another run of the same import appended to
the import's trail meanwhile (``ConcurrencyError``), before the error is raised."""

_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ -]{0,39}")
IMPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a caller may give as an import's id (``fullmatch``)."""
MAX_FIRST_LINE = 10**12
"""The largest ``first_line`` an import takes (its lines keep as many digits)."""
MADE_IMPORT_ID_LENGTH = MAX_ID_LENGTH - len(":") - len(str(MAX_FIRST_LINE))
"""The longest import id the id generator may make: each of the import's rows'
registration ids is the import's id, ``:`` and the row's line, and the id columns hold
``MAX_ID_LENGTH``."""


def clean(row: object) -> dict[str, object]:
    """Check that ``row`` is a mapping of known columns; empty cells become None. A
    column name or cell given as a ``str`` subclass is read as the text it holds (an
    object that only claims to be a ``str`` is ValidationError naming its column)."""
    if type(row) is dict and row.keys() <= COLUMNS and _all_plain(row):  # the usual case
        for value in row.values():
            if type(value) is str and not value.strip():
                break
        else:  # a plain dict without an empty cell: nothing to clean (it is read, not kept)
            return row
    else:
        row = _plain_row(row)
        _check_columns(row)
    # CSV gives "" for an empty cell: that means "not given".
    return {k: (None if type(v) is str and not v.strip() else v)
            for k, v in row.items()}  # type: ignore[attr-defined]


def _all_plain(row: dict[object, object]) -> bool:
    """Whether no column name or cell of ``row`` is a ``str`` subclass (or claims to be:
    ``isinstance`` believes a ``__class__`` property)."""
    return all(type(k) is str for k in row) and not any(
        type(v) is not str and isinstance(v, str) for v in row.values())


def _plain_row(row: object) -> object:
    """``row`` with each ``str`` subclass among its names and cells as the text it holds
    (its own ``__hash__`` and ``__eq__`` could name another column)."""
    if not isinstance(row, Mapping):
        return row  # _check_columns refuses it
    plain = {}
    for key, value in row.items():
        name = own_text("columns", key) if isinstance(key, str) else key
        # the cell's column named only if known: a header-less file's "names" are cells
        field = name if type(name) is str and name in COLUMNS else "columns"
        plain[name] = own_text(field, value) if isinstance(value, str) else value
    return plain


def _check_columns(row: object) -> None:
    if not isinstance(row, Mapping):
        raise ValidationError("row", "must be a mapping of column name to value")
    unknown = sorted(str(k) for k in row if k not in COLUMNS)
    if unknown:
        # Name a mistyped column, but never echo a cell of a file without a header.
        named = [k for k in unknown if _COLUMN_NAME.fullmatch(k)]
        if named:
            raise ValidationError(named[0], "is not a known column")
        raise ValidationError("columns", f"{len(unknown)} unknown column(s): is the first "
                              "line a header?")


V = TypeVar("V")
T = TypeVar("T")


_BY_KIND_VALUE = sorted(range(len(KeyKind)), key=lambda n: list(KeyKind)[n]._value_)
"""The key columns in the order ``_first`` takes keys: by their kind's value."""


def _remember(seen: list[dict[str, int]], row_keys: Sequence[str | None], line: int) -> None:
    """Note that ``line`` gives ``row_keys`` (one key or None of each kind)."""
    for given, key in zip(seen, row_keys, strict=True):
        if key is not None:
            given[key] = line


def _given_before(seen: list[dict[str, int]], keys: tuple[str | None, ...]) -> int | None:
    """The line of an earlier row that gave one of ``keys`` (of the first such key, as
    ``_first`` orders them), or None."""
    for n in _BY_KIND_VALUE:
        key = keys[n]
        if key is not None and key in seen[n]:
            return seen[n][key]
    return None


def _head_after(entry: AuditEntry) -> ChainHead:
    """The head of the import's trail once ``entry`` is appended."""
    return ChainHead(chain=audit_chain(entry.resource_kind), chain_id=entry.resource_id,
                     length=entry.sequence + 1, head_hash=entry.hash)


def _first(keys: frozenset[IdentityKey], found: Mapping[IdentityKey, V]) -> V | None:
    """What ``found`` maps the first of ``keys`` to (by kind, then value), or None."""
    if not found:
        return None
    hits = [k for k in keys if k in found]
    if not hits:
        return None
    return found[min(hits, key=lambda k: (k.kind.value, k.value))]


def _generated_import_id(ctx: Context) -> str:
    """A new import's id from the id generator, or StorageError (its fault, not the
    caller's) if it is longer than ``MADE_IMPORT_ID_LENGTH``: the import's rows could
    not be stored."""
    made = ctx.ids.new_id("imp")
    if len(made) > MADE_IMPORT_ID_LENGTH:
        raise StorageError(f"the id generator made an import id of more than "
                           f"{MADE_IMPORT_ID_LENGTH} characters, too long for its rows' "
                           "registration ids")
    return made


class ProspectImport:
    """One run of ``import_many``: registration ids are ``<import id>:<line>``, so a
    re-run with the same import id recognises the rows an earlier run stored.

    Each batch appends one entry to the import's own audit trail (``prospect_import``,
    by import id) naming the prospects it registered, and raises one
    ``ProspectsImported`` event; each prospect's trail starts from that entry (its head,
    of length 0, holds the entry's hash) and grows at its first change."""

    def __init__(
        self, ctx: Context, policy: GradingPolicy, actor: Principal, parse: Parse,
        plan_batch: PlanBatch,
        release_lost: ReleaseLost | None = None,
        import_id: str | None = None,
        parse_batch: ParseBatch | None = None,
        first_plans: FirstPlansOf | None = None,
    ) -> None:
        self._ctx, self._policy, self._actor = ctx, policy, actor
        self._parse, self._plan_batch, self._first_plans = parse, plan_batch, first_plans
        self._parse_batch: ParseBatch = parse_batch or (lambda rows: None)
        self._release_lost = release_lost
        self._import_id = import_id or _generated_import_id(ctx)
        # Whether a batch looks up who holds its keys before writing. The unique key
        # indexes refuse a held key anyway (ClaimConflict, the batch written again after
        # a look-up), so a batch writes first unless the one before met a holder: most
        # of an import's batches meet none, and the look-up cost about a tenth of it.
        self._look_up_holders = False
        # The import trail's head and the actor's grants as the last batch written (or
        # ``start``) left them, None before: a batch written ahead links to that head.
        self.last_head: ChainHead | None = None
        self.last_who: Principal | None = None
        self.imported = 0
        self.already_imported = 0
        self.rejected: list[RejectedRow] = []

    def run(self, rows: Iterable[object], batch_size: int, first_line: int,
            on_progress: Progress | None) -> ImportReport:
        """Import ``rows`` in batches of ``batch_size``, numbering lines from ``first_line``."""
        with fewer_young_collections():  # a batch's objects die young (see collector)
            for batch in batches_of(rows, batch_size, first_line):
                self.store(self.parsed(batch))
                self.progress(on_progress)
        return self.report()

    def start(self) -> None:
        """Read the import trail's head and the actor's grants, so that even the first
        batch can be written ahead."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self.last_who = self._ctx.authorize(uow, self._actor, Action.PROSPECT_REGISTER)
            self.last_head = uow.heads.get(audit_chain(IMPORT_KIND), self._import_id)

    def report(self) -> ImportReport:
        """What the run did so far."""
        return ImportReport(imported=self.imported, rejected=tuple(self.rejected),
                            already_imported=self.already_imported)

    def progress(self, on_progress: Progress | None) -> None:
        """Tell ``on_progress`` how far the run is (after each batch)."""
        if on_progress is not None:
            on_progress(self.imported, len(self.rejected))

    def _reject(self, line: int, field: str | None, reason: str) -> None:
        self.rejected.append(RejectedRow(line, field, reason))

    def store(self, candidates: Candidates) -> None:
        """Write a batch's candidates, each row that cannot be stored reported."""
        try:
            events = self._write(candidates)
        except (ClaimConflict, StorageError) as error:
            # Someone registered one of these between our check and our write, or the
            # storage refused one row: write one by one, so only that row is lost.
            stored_before = self.imported
            events = [e for n in range(len(candidates.lines))
                      for e in self._write_one(candidates.take([n]))]
            if isinstance(error, StorageError) and self.imported == stored_before:
                raise  # not one row could be written: the storage itself is failing
        if events:
            self._ctx.observe()

    def parsed(self, batch: Batch) -> Candidates:
        """The batch's good rows: all at once a column at a time when every row passes
        the fast checks, else row by row, each bad row reported."""
        try:
            parsed = self._parse_batch([row for _, row in batch])
        except Exception:  # a hostile cell: the row-by-row parse reports its row
            parsed = None
        if parsed is None:
            return _candidates([row for line, raw in batch
                                if (row := self._parse_one(line, raw)) is not None])
        profiles, willingness, values = parsed
        lines = tuple(line for line, _ in batch)
        graded = [self._grade(line, w, v)
                  for line, w, v in zip(lines, willingness, values, strict=True)]
        candidates = Candidates(lines, profiles, willingness, values,
                                cast(tuple[Grade, ...], tuple(graded)),
                                individual_keys(self._ctx.settings.key_ring, profiles))
        if None in graded:  # rows the policy refused (reported): left out
            return candidates.take([n for n, g in enumerate(graded) if g is not None])
        return candidates

    def _grade(self, line: int, willingness: Willingness, value: Money) -> Grade | None:
        """The policy's grade of a row; None (the row reported) if the policy refuses it:
        a value it refuses (another currency), or a plugin's answer that is no Grade (or
        its failure), is this row's fault, refused here, not by the batch's write."""
        try:
            return asked_grade(self._policy, willingness, value)
        except CustmgmtError as error:
            self._reject_for(line, error)
            return None

    def _reject_for(self, line: int, error: CustmgmtError) -> None:
        if isinstance(error, ValidationError):
            self._reject(line, error.field, "; ".join(
                f"{e.path}: {e.message}" if e.path != error.field else e.message
                for e in error.errors))
        else:
            self._reject(line, None, f"{type(error).__name__}: {error}")

    def _parse_one(self, line: int, row: object) -> tuple[
            int, Profile, Willingness, Money, Grade, frozenset[IdentityKey]] | None:
        try:
            profile, will, value = self._parse(clean(row))
        except CustmgmtError as error:
            self._reject_for(line, error)
            return None
        except Exception as error:  # a cell of a hostile type whose methods raise
            self._reject(line, None, f"a cell could not be read ({type_name(error)})")
            return None
        grade = self._grade(line, will, value)
        if grade is None:
            return None
        try:
            keys = self._ctx.settings.key_ring.keys_of(profile)
        except ValidationError as error:
            self._reject(line, error.field, error.message)
            return None
        return line, profile, will, value, grade, keys

    def _registration_id(self, line: int) -> RegistrationId:
        """The registration this import gives the row of ``line``."""
        return RegistrationId(f"{self._import_id}:{line}")

    def _registration_ids(self, lines: Sequence[int]) -> tuple[RegistrationId, ...]:
        """``_registration_id`` of each line (a comprehension: no call a row)."""
        import_id = self._import_id
        return cast(tuple[RegistrationId, ...], tuple([f"{import_id}:{line}" for line in lines]))

    def _same_row(self, registration_id: str, line: int) -> bool:
        return registration_id == self._registration_id(line)

    def _conflict_reason(self, conflict: ClaimConflict) -> str:
        # the line is what follows the last ':' (a made import id may hold ':' itself)
        import_id, _, line = conflict.registration_id.rpartition(":")
        if import_id == self._import_id and line.isascii() and line.isdigit():
            return f"duplicate of line {line} in this import"
        return (f"already registered by {conflict.owner_id} ({conflict.registration_id}, "
                f"{conflict.registered_at.isoformat()})")

    def _unclaimed(
        self, uow: UnitOfWork, who: Principal, candidates: Candidates
    ) -> Candidates:
        """Candidates this import did not store before, whose keys nobody holds and no
        earlier row of the batch repeats."""
        keys = KeySet(candidates.keys)
        held = uow.prospects.holders_of(keys) if self._look_up_holders else {}
        if held and self._release_lost is not None and self._release_lost(
                uow, who, held.values()):
            held = uow.prospects.holders_of(keys)
        # rows a run of this import stored, found by their registrations: even those
        # holding no identity key (or none any longer: released to the pool since)
        stored = uow.prospects.registered(self._registration_ids(candidates.lines)) \
            if self._look_up_holders else frozenset()
        if self._look_up_holders:
            self._look_up_holders = bool(held or stored)
        customers = uow.customers.holders_of(keys)
        if not held and not customers and not keys.repeated and not stored:
            return candidates  # the usual batch: every row free, no row to look at
        now = self._ctx.now()
        # each kind's keys given so far by a row taken: the line giving it
        seen: list[dict[str, int]] = [{} for _ in KeyKind]
        free: list[int] = []
        key_rows = list(zip(*candidates.keys, strict=True))
        for n, (line, row_keys) in enumerate(zip(candidates.lines, key_rows, strict=True)):
            earlier = _given_before(seen, row_keys)
            holder = refused = None
            if held or customers:
                mine = candidates.keys.row(n)
                holder = _first(mine, held)
                refused = None if not customers else self._ctx.guard.refused_holder(
                    customers, mine, Purpose.SALES, uow, now)
            # stored by a run of this import: its line's registration is held (whatever
            # the prospect holds now: edited, released; an import id names one input)
            if self._registration_id(line) in stored:
                self.already_imported += 1
                _remember(seen, row_keys, line)  # a later line repeating it is refused
            elif holder is not None:
                self._reject(line, None, self._conflict_reason(holder.claim_conflict()))
            elif refused is not None:
                self._reject(line, None, str(refused))
            elif earlier is not None:
                self._reject(line, None, f"duplicate of line {earlier} in this import")
            else:
                free.append(n)
                _remember(seen, row_keys, line)
        return candidates.take(free)

    def _write(self, candidates: Candidates) -> list[DomainEvent]:
        attempts, looked_up = 1, False
        while True:
            rejected_before, already_before = len(self.rejected), self.already_imported
            try:
                stored, events = self._write_batch(candidates)
            except CustmgmtError as error:
                del self.rejected[rejected_before:]
                self.already_imported = already_before
                # Another run of this import appended to its trail meanwhile: the next
                # attempt reads the trail's head (and the rows the other run stored) again.
                if isinstance(error, ConcurrencyError) and attempts < WRITE_ATTEMPTS:
                    attempts += 1
                    continue
                # Someone holds a key of the batch (not looked up, or registered since):
                # look them up (reporting each, releasing the lost) and write the batch
                # again, once: a storage whose write refuses a key its look-up does not
                # report would otherwise be written again for ever.
                if isinstance(error, ClaimConflict) and not looked_up:
                    self._look_up_holders = looked_up = True
                    continue
                raise
            self.imported += stored
            return events

    def _write_batch(self, candidates: Candidates) -> tuple[int, list[DomainEvent]]:
        """Write the candidates nobody holds in one unit of work: how many, and events."""
        with self._ctx.storage.unit_of_work() as uow:
            # Grants as stored now, batch by batch: a revoke stops the rest of the import.
            who = self._ctx.authorize(uow, self._actor, Action.PROSPECT_REGISTER)
            free = self._unclaimed(uow, who, candidates)
            head = uow.heads.get(audit_chain(IMPORT_KIND), self._import_id)
            planned = self.registration(who, free, head)
            events = self._commit(uow, planned, lambda: True)
        self.last_head, self.last_who = planned.after, who
        return len(planned.batch), events or []

    def registration(
        self, who: Principal, free: Candidates, head: ChainHead | None
    ) -> Planned:
        """The batch that registers ``free`` for ``who`` now, and its audit entry (None for
        no row), the next of the import's trail after ``head``. The batch carries its
        rows' first plans and the start of their trails (the entry, which names them),
        so storage writes each row whole, once."""
        now = self._ctx.now()
        ids = tuple(map(ProspectId, self._ctx.ids.new_ids("p", len(free.lines))))
        entry = None if not ids else import_entry(
            head, import_id=self._import_id, prospect_ids=list(ids), actor_id=who.id, at=now)
        batch = RegistrationBatch(
            owner_id=who.id, owner_team=who.team, at=now, ids=ids,
            registration_ids=self._registration_ids(free.lines),
            profiles=free.profiles, willingness=free.willingness,
            potential_values=free.values, grades=free.grades, keys=free.keys,
            plans=None if entry is None or self._first_plans is None
            else self._first_plans(free.grades),
            trails=None if entry is None else self._ctx.trail_start(ids, entry))
        return Planned(who, batch, entry, head)

    def _commit(
        self, uow: UnitOfWork, planned: Planned, ready: Callable[[], bool]
    ) -> list[DomainEvent] | None:
        """Write a planned batch and commit it once ``ready()`` says so (None, nothing
        committed, if it says no): its events."""
        uow.prospects.add_batch(planned.batch)
        if planned.batch.plans is None:
            self._plan_batch(uow, planned.batch)
        if not ready():
            return None
        events = [] if planned.entry is None else self._record(
            uow, planned.who, planned.batch, planned.entry)
        uow.commit()
        return events

    def write_ahead(
        self, planned: Planned, keys: KeySet, ready: Callable[[], bool]
    ) -> tuple[int, list[DomainEvent]] | None:
        """Write a batch planned while the one before it is still being written (``keys``:
        every key its rows give), and commit it once ``ready()`` says that one committed
        as planned: how many rows, and events. None, nothing committed, if the batch
        must be written the usual way (which reports what it refuses): a customer holds
        one of its keys, the actor's grants changed, or any other refusal."""
        def authorized_and_ready() -> bool:
            # Grants read after the batch before it was settled, as the usual way reads
            # them after its progress was reported: a revoke there stops this batch.
            return ready() and self._ctx.authorize(
                uow, self._actor, Action.PROSPECT_REGISTER) == planned.who
        try:
            with self._ctx.storage.unit_of_work() as uow:
                if uow.customers.holders_of(keys):
                    return None
                events = self._commit(uow, planned, authorized_and_ready)
        except CustmgmtError:
            return None
        return None if events is None else (len(planned.batch), events)

    def stored_ahead(self, planned: Planned, stored: int, events: list[DomainEvent]) -> None:
        """Count a batch ``write_ahead`` committed, and feed the observers its events."""
        self.imported += stored
        self.last_head, self.last_who = planned.after, planned.who
        if events:
            self._ctx.observe()

    @property
    def looks_up_holders(self) -> bool:
        """Whether the next batch looks up who holds its keys before writing."""
        return self._look_up_holders

    def _record(
        self, uow: UnitOfWork, who: Principal, batch: RegistrationBatch, entry: AuditEntry
    ) -> list[DomainEvent]:
        """The batch's audit entry (the next of the import's trail) and its event."""
        uow.audit.append(entry)
        self._ctx.seal_audit(uow, entry)
        event = ProspectsImported(
            actor_id=who.id, occurred_at=batch.at, import_id=self._import_id,
            owner_id=who.id, prospects=batch.imported())
        uow.events.append(event)
        return [event]

    def _write_one(self, candidate: Candidates) -> Sequence[DomainEvent]:
        (line,) = candidate.lines
        try:
            return self._write(candidate)
        except ClaimConflict as conflict:
            if self._same_row(conflict.registration_id, line):
                self.already_imported += 1
            else:
                self._reject(line, None, self._conflict_reason(conflict))
            return ()
        except StorageError as error:
            self._reject(line, None, f"the storage refused the row ({error})")
            return ()

