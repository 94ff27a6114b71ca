"""Bulk work and CPython's cyclic garbage collector.

A bulk import builds every object of a batch (rows, profiles, prospects, plans,
audit entries: tens of thousands of them) before it writes the batch. Collected
every 700 new objects, as by default, most of them live through two young
collections and are moved to the oldest generation, although they die a moment
later; and each time that generation has been fed by a quarter of its size, the
collector walks everything the process holds. Loading a million prospects into
the memory storage spent about a third of its time there.

``fewer_young_collections()`` raises the threshold of the youngest generation to
``YOUNG`` for as long as it lasts, so that a batch's objects mostly die before
a collection sees them, and then puts back the thresholds it found. It changes
nothing else: a collector that is disabled (``gc.disable()``) or whose first
threshold is 0 or already higher is left alone; thresholds set meanwhile by
someone else are kept; ``gc.freeze()`` is never called. The setting is the
process's, so while any thread is inside, the others run with it too (their own
young garbage is collected less often, never leaked); it is put back when the
last thread leaves.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 100_000
"""The first threshold while bulk work runs (CPython's default is 700)."""

_lock = threading.Lock()
_inside = 0
_found: tuple[int, int, int] | None = None
"""The thresholds found when the first thread came in, if they were raised."""


@contextmanager
def fewer_young_collections() -> Iterator[None]:
    """Run the block with young collections every ``YOUNG`` objects (see the module)."""
    global _inside, _found  # noqa: PLW0603 (one setting per process: it is the collector's)
    with _lock:
        if _inside == 0:
            found = gc.get_threshold()
            if 0 < found[0] < YOUNG:
                gc.set_threshold(YOUNG, found[1], found[2])
                _found = found
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _found is not None:
                if gc.get_threshold() == (YOUNG, _found[1], _found[2]):  # not changed since
                    gc.set_threshold(*_found)
                _found = None
