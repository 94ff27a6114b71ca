"""Bulk import of prospects: streamed in batches, every row under the usual rules.

Each batch is one unit of work. A bad row is reported and skipped; it never
costs the good rows around it. Memory stays flat: only the current batch and
the list of rejected rows are held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice

from attrs import frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.errors import ClaimConflict, ValidationError
from custmgmt.ports.storage import UnitOfWork

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
    imported: int
    rejected: tuple[RejectedRow, ...]

    @property
    def total(self) -> int:
        return self.imported + len(self.rejected)


@frozen
class _Rejection:
    field: str | None
    reason: str


Progress = Callable[[int, int], None]
RegisterOne = Callable[[UnitOfWork, Mapping[str, object], str], Sequence[DomainEvent]]


def _clean(row: object) -> dict[str, object]:
    if not isinstance(row, Mapping):
        raise ValidationError("row", "must be a mapping of column name to value")
    unknown = sorted(str(k) for k in row if k not in COLUMNS)
    if unknown:
        raise ValidationError(unknown[0], "is not a known column")
    # CSV gives "" for an empty cell: that means "not given".
    return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in row.items()}


def _batches(
    rows: Iterable[object], size: int, first_line: int
) -> Iterator[list[tuple[int, object]]]:
    numbered = enumerate(rows, start=first_line)
    while batch := list(islice(numbered, size)):
        yield batch


def import_rows(
    *,
    rows: Iterable[object],
    open_unit: Callable[[], UnitOfWork],
    register_one: RegisterOne,
    publish: Callable[[DomainEvent], None],
    import_id: str,
    batch_size: int,
    first_line: int,
    on_progress: Progress | None,
) -> ImportReport:
    imported = 0
    rejected: list[RejectedRow] = []
    for batch in _batches(rows, batch_size, first_line):
        events: list[DomainEvent] = []
        with open_unit() as uow:
            for line, row in batch:
                outcome = _one(uow, register_one, row, f"{import_id}:{line}", import_id)
                if isinstance(outcome, _Rejection):
                    rejected.append(RejectedRow(line, outcome.field, outcome.reason))
                else:
                    imported += 1
                    events.extend(outcome)
            uow.commit()
        for event in events:
            publish(event)
        if on_progress is not None:
            on_progress(imported, len(rejected))
    return ImportReport(imported=imported, rejected=tuple(rejected))


def _one(
    uow: UnitOfWork, register_one: RegisterOne, row: object, registration_id: str,
    import_id: str,
) -> _Rejection | Sequence[DomainEvent]:
    """The row's events once registered, or why it was rejected."""
    try:
        return register_one(uow, _clean(row), registration_id)
    except ValidationError as error:
        return _Rejection(error.field, error.message)
    except ClaimConflict as conflict:
        prefix = f"{import_id}:"
        if conflict.registration_id.startswith(prefix):
            first = conflict.registration_id.removeprefix(prefix)
            return _Rejection(None, f"duplicate of line {first} in this import")
        return _Rejection(None, f"already registered by {conflict.owner_id} "
                          f"({conflict.registration_id}, {conflict.registered_at.isoformat()})")
