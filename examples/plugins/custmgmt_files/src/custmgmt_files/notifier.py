"""The ``jsonl`` notifier: one JSON object per line, each idempotency key once."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from custmgmt.errors import ValidationError
from custmgmt.ports.notification import Notification
from custmgmt.ports.settings import Settings


class JsonLinesNotifier:
    """Appends notifications to ``path``. A lock on the file makes the check "is this key
    already there?" and the append one step, across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        line = json.dumps({
            "idempotency_key": idempotency_key, "id": notification.id,
            "recipient_id": notification.recipient_id, "kind": notification.kind,
            "subject": notification.subject, "purpose": notification.purpose,
            "channel": notification.channel, "created_at": notification.created_at.isoformat(),
        }, ensure_ascii=False, sort_keys=True)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            handle.seek(0)
            if any(json.loads(seen)["idempotency_key"] == idempotency_key
                   for seen in handle if seen.strip()):
                return  # delivered before: a repeat after a crash, dropped
            handle.write(line + "\n")

    def lines(self) -> list[dict[str, str]]:
        """Everything delivered so far, in order."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


def create_notifier(settings: Settings) -> JsonLinesNotifier:
    """Build the notifier from ``Settings.plugins["jsonl"]``: ``path`` is required."""
    options = settings.options("jsonl")
    path = options.path("path")
    options.finish()  # refuses options we do not know (typos)
    if path is None or not path.parent.is_dir():
        raise ValidationError("plugins.jsonl.path", "must be a file in an existing folder")
    return JsonLinesNotifier(path)
