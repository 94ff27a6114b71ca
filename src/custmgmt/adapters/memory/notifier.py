"""A notifier that keeps what it was sent, for tests and the demo (``notifier="memory"``)."""

from __future__ import annotations

import threading

from custmgmt.ports.notification import Notification


class RecordingNotifier:
    """Delivers nowhere; ``sent`` lists every notification in delivery order.

    It honours the idempotency key: a notification sent again with a key it has
    already delivered is counted in ``repeats`` and not delivered twice.
    ``fail_next`` makes the next n sends raise, to exercise retries.
    """

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.keys: list[str] = []
        self.repeats = 0
        self.fail_next = 0
        self._lock = threading.Lock()

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise ConnectionError("simulated delivery failure")
            if idempotency_key in self.keys:
                self.repeats += 1
                return
            self.sent.append(notification)
            self.keys.append(idempotency_key)
