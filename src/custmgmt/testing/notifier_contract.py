"""The contract a Notifier adapter must pass."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import attrs
from attrs import frozen

from custmgmt.ports.notification import Notifier
from custmgmt.testing.builders import sample_notification


@frozen
class Delivered:
    """One notification as the far side received it: its id and the idempotency key it
    came with."""

    notification_id: str
    idempotency_key: str


class NotifierContract(ABC):
    """Subclass, implement ``make_notifier`` and ``delivered``, and pytest runs these.

    Set ``honours_idempotency_key = True`` if the notifier itself drops a repeat of a
    key it has delivered (otherwise the far side must, using the key it receives).
    """

    honours_idempotency_key: ClassVar[bool] = False

    @abstractmethod
    def make_notifier(self) -> Notifier:
        """A fresh notifier under test, delivering somewhere ``delivered`` can read."""

    @abstractmethod
    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        """What the far side has received from ``notifier`` so far, in order."""

    def test_a_sent_notification_is_delivered_once_with_its_key(self) -> None:
        notifier = self.make_notifier()
        note = sample_notification(1)
        notifier.send(note, idempotency_key=note.idempotency_key)
        assert list(self.delivered(notifier)) == [Delivered(note.id, note.idempotency_key)]

    def test_notifications_arrive_in_the_order_sent(self) -> None:
        notifier = self.make_notifier()
        notes = [sample_notification(i) for i in range(1, 4)]
        for note in notes:
            notifier.send(note, idempotency_key=note.idempotency_key)
        assert [d.notification_id for d in self.delivered(notifier)] == [n.id for n in notes]

    def test_the_idempotency_key_is_passed_on_as_given(self) -> None:
        notifier = self.make_notifier()
        note = sample_notification(5)
        notifier.send(note, idempotency_key="custmgmt-key-5")
        assert list(self.delivered(notifier)) == [Delivered(note.id, "custmgmt-key-5")]

    def test_a_repeat_carries_the_same_key(self) -> None:
        """At least once: after a crash the same notification comes again with its key.
        A notifier that honours the key delivers it once; any other passes both on
        with the same key, for the far side to drop."""
        notifier = self.make_notifier()
        note = sample_notification(2)
        notifier.send(note, idempotency_key=note.idempotency_key)
        notifier.send(note, idempotency_key=note.idempotency_key)
        received = list(self.delivered(notifier))
        expected = Delivered(note.id, note.idempotency_key)
        copies = 1 if self.honours_idempotency_key else 2
        assert received == [expected] * copies

    def test_purpose_and_channel_do_not_stop_delivery(self) -> None:
        notifier = self.make_notifier()
        note = attrs.evolve(sample_notification(3), purpose="care", channel="email")
        notifier.send(note, idempotency_key=note.idempotency_key)
        assert [d.notification_id for d in self.delivered(notifier)] == [note.id]
