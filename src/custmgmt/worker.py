"""The jobs that run on a schedule beside an application.

One round queues overdue follow-up reminders, warns owners and releases lapsed
prospects to the open pool (when ``Settings.ownership_lapse`` is on), escalates
complaints past a deadline to the duty manager (``app.care.escalate_overdue``), delivers
one batch of the notification outbox (``app.notifications.dispatch``) and feeds
the event observers. ``custmgmt worker`` runs rounds in a loop;
``custmgmt worker --once`` runs one, for cron. Give it the application's own
settings (``--settings myapp.config:SETTINGS``) so that time zone, cadence,
protection windows and notifier are the ones the application uses.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

import attrs
from attrs import frozen

from custmgmt.app import CustomerManagement
from custmgmt.errors import CustmgmtError, ValidationError
from custmgmt.ports.auth import Principal
from custmgmt.ports.settings import Settings

__all__ = ["Round", "load_settings", "run", "run_round"]

log = logging.getLogger("custmgmt.worker")


@frozen
class Round:
    """What one round did: reminders queued, prospects warned and released, complaint
    deadlines escalated, notifications sent, failed (tried again later) and dead (given up on: see
    ``app.notifications.dead``). ``error`` names a custmgmt error that cut it short."""

    reminders: int = 0
    warned: int = 0
    released: int = 0
    escalated: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    error: str | None = None

    def __str__(self) -> str:
        text = (f"reminders {self.reminders}, warned {self.warned}, released {self.released}, "
                f"escalated {self.escalated}, sent {self.sent}, failed {self.failed}, "
                f"dead {self.dead}")
        return text if self.error is None else f"{text}; stopped by {self.error}"


def run_round(app: CustomerManagement, actor: Principal) -> Round:
    """One round of every job, as ``actor``: reminders and releases reach the actor's
    team (``sales_manager``) or everyone (``admin``); the complaint sweep needs
    ``complaint.escalate`` and dispatch ``notification.dispatch`` (the ``dispatcher``
    role has both, as has ``admin``).

    A custmgmt error (the database is down, the actor lost a right) ends the round
    and is reported in ``Round.error``; the next round tries again.
    """
    done = Round()
    try:
        done = attrs.evolve(done, reminders=app.followups.send_reminders(actor))
        if app.settings.ownership_lapse:
            lapsed = app.pool.release_lapsed(actor)
            done = attrs.evolve(done, warned=len(lapsed.warned), released=len(lapsed.released))
        done = attrs.evolve(done, escalated=app.care.escalate_overdue(actor))
        dispatched = app.notifications.dispatch(actor)
        done = attrs.evolve(done, sent=dispatched.sent, failed=dispatched.failed,
                            dead=dispatched.dead)
        app.feed_observers()  # observers that were down catch up from their cursors
    except CustmgmtError as error:
        log.warning("worker round stopped: %s", type(error).__name__)
        return attrs.evolve(done, error=type(error).__name__)
    return done


def run(
    app: CustomerManagement,
    actor: Principal,
    *,
    every: float,
    rounds: int | None = None,
    stop: threading.Event | None = None,
    report: Callable[[Round], None] = lambda done: log.info("worker round: %s", done),
) -> int:
    """Run a round every ``every`` seconds until ``stop`` is set (or ``rounds`` ran).

    Returns the number of rounds run. A round that takes longer than ``every``
    is followed by the next one at once; rounds never overlap.
    """
    if isinstance(every, bool) or not isinstance(every, int | float) or every <= 0:
        raise ValidationError("every", "must be a positive number of seconds")
    stop = threading.Event() if stop is None else stop
    count = 0
    while not stop.is_set() and (rounds is None or count < rounds):
        report(run_round(app, actor))
        count += 1
        if rounds is None or count < rounds:
            stop.wait(every)
    return count


def load_settings(spec: str) -> Settings:
    """The ``Settings`` object at ``"package.module:NAME"`` (the application's own)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValidationError("settings", "must look like 'package.module:NAME'")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ValidationError("settings", f"cannot import {module_name!r}") from None
    settings = getattr(module, attribute, None)
    if not isinstance(settings, Settings):
        raise ValidationError("settings", f"{spec!r} is not a custmgmt Settings")
    return settings
