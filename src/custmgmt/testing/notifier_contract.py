"""The contract a Notifier adapter must pass."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from custmgmt.ports.notification import Notifier
from custmgmt.testing.builders import sample_notification


class NotifierContract(ABC):
    """Subclass, implement ``make_notifier`` and ``delivered``, and pytest runs these."""

    @abstractmethod
    def make_notifier(self) -> Notifier:
        """A fresh notifier under test."""

    @abstractmethod
    def delivered(self, notifier: Notifier) -> Sequence[str]:
        """Ids of the notifications ``notifier`` has delivered so far, as the far side saw
        them, in order."""

    def test_a_sent_notification_is_delivered_once(self) -> None:
        notifier = self.make_notifier()
        note = sample_notification(1)
        notifier.send(note)
        assert list(self.delivered(notifier)) == [note.id]

    def test_notifications_arrive_in_the_order_sent(self) -> None:
        notifier = self.make_notifier()
        notes = [sample_notification(i) for i in range(1, 4)]
        for note in notes:
            notifier.send(note)
        assert list(self.delivered(notifier)) == [n.id for n in notes]
