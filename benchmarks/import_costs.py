"""What each per-row record costs ``import_many``: an estimate for a per-batch design.

    python benchmarks/import_costs.py [--rows 20000] [--rounds 3]

Not a goal's benchmark. ``import_many`` on a SQLite file as it is, then with its
batch write patched (``ProspectImport._write_batch``, in this process only) to leave
out, in turn and cumulatively: the audit entry and chain head of each prospect (one
entry naming the batch's prospects instead), the ``ProspectRegistered`` event of each
prospect (one event a batch instead), the history row of each prospect. The patched
imports keep less than the library owes (no per-prospect audit trail, events or
history): they measure what a redesign that keeps those per batch could save, not a
way to run. Variants alternate round by round; medians, and each against as-is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_prospects

from custmgmt.domain.audit import first_entries
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.prospects import Prospect
from custmgmt.ports.auth import Action
from custmgmt.services import prospect_import

VARIANTS = {
    "as is": frozenset(),
    "audit a batch": frozenset({"audit"}),
    "audit and event a batch": frozenset({"audit", "event"}),
    "also no history row": frozenset({"audit", "event", "history"}),
}


Written = tuple[Sequence[Prospect], list[DomainEvent]]
WriteBatch = Callable[[prospect_import.ProspectImport, list[prospect_import.Candidate]], Written]


AS_IS: WriteBatch = prospect_import.ProspectImport._write_batch


def patched(left_out: frozenset[str]) -> WriteBatch:
    """``_write_batch`` writing per batch what ``left_out`` names."""

    def write_batch(self: prospect_import.ProspectImport,
                    candidates: list[prospect_import.Candidate]) -> Written:
        ctx = self._ctx
        now = ctx.now()
        with ctx.storage.unit_of_work() as uow:
            who = ctx.authorize(uow, self._actor, Action.PROSPECT_REGISTER)
            free = self._unclaimed(uow, who, candidates)
            made = [self._prospect(who, c, now) for c in free]
            prospects = [p for p, _ in made]
            if "history" in left_out:
                prospects = [attrs.evolve(p, history=()) for p in prospects]
            stored = uow.prospects.add_many(prospects, [c.keys for c in free])
            self._keep_plans(uow, stored, True)
            if "audit" in left_out:  # one entry naming the batch's prospects
                entries = first_entries(
                    resource_kind="import", resource_ids=[f"{stored[0].id}-batch"],
                    actor_id=who.id, action="register", at=now,
                    afters=[{"prospects": ",".join(p.id for p in stored)}]) if stored else []
            else:
                entries = first_entries(
                    resource_kind="prospect", resource_ids=[p.id for p in stored],
                    actor_id=who.id, action="register", at=now,
                    afters=self._snapshots(stored))
            uow.audit.append_many(entries)
            ctx.seal_new_trails(uow, entries)
            events = [e for _, evs in made for e in evs]
            if "event" in left_out:  # stands for one batch event
                events = events[:1]
            uow.events.append_many(events)
            uow.commit()
        return stored, events

    return write_batch


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
                write = patched(left_out) if left_out else AS_IS
                prospect_import.ProspectImport._write_batch = write  # type: ignore[assignment]
                url = f"sqlite:///{Path(folder) / f'{n}-{len(left_out)}.db'}"
                times[name].append(import_prospects.custmgmt_import(args.rows, url, 1000))
    prospect_import.ProspectImport._write_batch = AS_IS  # type: ignore[assignment]
    base = statistics.median(times["as is"])
    print(f"SQLite file, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:26} median {median:7.3f} s   {median / base:.2f}x as is")


if __name__ == "__main__":
    main()
