"""A notifier that keeps what it was sent, for tests and the demo."""

from __future__ import annotations

from custmgmt.ports.notification import Notification


class RecordingNotifier:
    """Delivers nowhere; ``sent`` lists every notification in delivery order.

    ``fail_next`` makes the next n sends raise, to exercise retries.
    """

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail_next = 0

    def send(self, notification: Notification) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("simulated delivery failure")
        self.sent.append(notification)
