"""What each per-row record costs ``import_many``: an estimate for a per-batch design.

    python benchmarks/import_costs.py [--rows 20000] [--rounds 3]

Not a goal's benchmark. ``import_many`` on a SQLite file as it is, then patched (in
this process only) to leave out, in turn and cumulatively: the audit entry and chain
head of each prospect (``prospect_import.first_entries`` replaced by one entry naming
the batch's prospects), the ``ProspectRegistered`` event of each prospect
(``ProspectImport._prospect`` keeps the events of one row in 1,000), the history row
of each prospect (``_prospect`` returns it without history). The patched imports keep
less than the library owes (no per-prospect audit trail, events or history): they
measure what a redesign that keeps those per batch could save, not a way to run.
Variants alternate round by round; medians, and each against as-is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_prospects

from custmgmt.domain.audit import AuditEntry, first_entries
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.prospects import Prospect
from custmgmt.ports.auth import Principal
from custmgmt.services import prospect_import

VARIANTS = {
    "as is": frozenset(),
    "audit a batch": frozenset({"audit"}),
    "audit and event a batch": frozenset({"audit", "event"}),
    "also no history row": frozenset({"audit", "event", "history"}),
}
BATCH = 1000
Import = prospect_import.ProspectImport
Made = tuple[Prospect, tuple[DomainEvent, ...]]
MakeProspect = Callable[[Import, Principal, prospect_import.Candidate, datetime], Made]
AS_IS: MakeProspect = Import._prospect


def one_entry_a_batch(*, resource_ids: Sequence[str], **given: Any) -> list[AuditEntry]:
    """``first_entries`` as a per-batch design would call it: one entry naming them all."""
    if not resource_ids:
        return []
    return first_entries(**{**given, "resource_kind": "import",
                            "resource_ids": [f"{resource_ids[0]}-batch"],
                            "afters": [{"prospects": ",".join(resource_ids)}]})


def leaner(left_out: frozenset[str]) -> MakeProspect:
    """``_prospect`` without what ``left_out`` names (events: all but one a batch)."""

    def make(self: Import, who: Principal, c: prospect_import.Candidate, now: datetime
             ) -> Made:
        prospect, events = AS_IS(self, who, c, now)
        if "history" in left_out:
            prospect = attrs.evolve(prospect, history=())
        if "event" in left_out and c.line % BATCH != 1:
            events = ()
        return prospect, events

    return make


def patch(left_out: frozenset[str]) -> None:
    prospect_import.first_entries = (  # type: ignore[attr-defined]
        one_entry_a_batch if "audit" in left_out else first_entries)
    Import._prospect = leaner(left_out) if left_out else AS_IS  # type: ignore[method-assign,assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.rounds):
            order = list(VARIANTS) if n % 2 else list(reversed(VARIANTS))
            for name in order:
                left_out = VARIANTS[name]
                patch(left_out)
                url = f"sqlite:///{Path(folder) / f'{n}-{len(left_out)}.db'}"
                times[name].append(import_prospects.custmgmt_import(args.rows, url, BATCH))
    patch(frozenset())
    base = statistics.median(times["as is"])
    print(f"SQLite file, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:26} median {median:7.3f} s   {median / base:.2f}x as is")


if __name__ == "__main__":
    main()
