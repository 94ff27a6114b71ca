"""A plugin for worker-process tests: records every delivery as a JSON line.

    custmgmt notify run ... --plugin tests.integration.file_notifier --notifier file-log \
        --option file-log.path=/tmp/out.jsonl [--option file-log.die_after=2]

Each line is one ``send`` as the far side saw it: notification id, idempotency key and
the worker's process id. ``die_after=N`` kills the process (SIGKILL) right after the
N-th delivery is recorded: after sending, before the worker marks it sent.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from custmgmt.plugins import hookimpl
from custmgmt.ports.hookspecs import NotifierBackend
from custmgmt.ports.notification import Notification
from custmgmt.ports.settings import Settings


class FileLog:
    def __init__(self, path: Path, die_after: int | None) -> None:
        self.path = path
        self.die_after = die_after
        self.count = 0

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        line = json.dumps({"id": notification.id, "key": idempotency_key,
                           "pid": os.getpid()}) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode())  # one append: lines never interleave
        finally:
            os.close(descriptor)
        self.count += 1
        if self.die_after is not None and self.count >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)


def _create(settings: Settings) -> FileLog:
    options = settings.options("file-log")
    path = options.path("path")
    die_after = options.integer("die_after", None, minimum=1)
    options.finish()
    assert path is not None
    return FileLog(path, die_after)


@hookimpl
def custmgmt_notifiers() -> Sequence[NotifierBackend]:
    return (NotifierBackend(name="file-log", create=_create),)


def read(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
