"""Contract tests for the consent history: append-only, read back equal, in force order,
the record in force found per purpose, channel and sensitivity at a moment."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest

from custmgmt.domain.consent import ConsentRecord, ConsentSource, ContactChannel
from custmgmt.domain.customers import Purpose
from custmgmt.errors import ConcurrencyError
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import T0


def make_consent(
    n: int, *, customer: str = "c-1", purpose: Purpose = Purpose.MARKETING,
    channel: ContactChannel = ContactChannel.SMS, given: bool = True, minutes: int | None = None,
    sensitive: bool = False,
) -> ConsentRecord:
    """Consent record ``n``, in force from ``minutes`` (default ``n``) after T0."""
    at = T0 + timedelta(minutes=n if minutes is None else minutes)
    return ConsentRecord(
        id=f"cs-{n:06d}", customer_id=customer, purpose=purpose, channel=channel,
        sensitive=sensitive, given=given, at=at, source=ConsentSource.CALL_RECORDING,
        reference=f"REC-{n}", notice_version="2026.1" if given else None,
        recorded_by="u-am", recorded_at=at + timedelta(hours=1))


class ConsentStorageContract:
    """Consent records: appended, never changed; the record in force per key and moment."""

    covers: ClassVar[tuple[str, ...]] = ("consents",)

    def test_records_read_back_equal_in_force_order(self, storage: Storage) -> None:
        later = make_consent(1, minutes=30)
        earlier = make_consent(2, channel=ContactChannel.EMAIL, minutes=5, given=False)
        other = make_consent(3, customer="c-2", sensitive=True)
        with storage.unit_of_work() as uow:
            for record in (later, earlier, other):
                uow.consents.add(record)
            assert list(uow.consents.history("c-1")) == [earlier, later]  # its own writes
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert list(uow.consents.history("c-1")) == [earlier, later]
            assert list(uow.consents.history("c-2")) == [other]
            assert list(uow.consents.history("c-nobody")) == []

    def test_the_record_in_force_is_the_latest_at_or_before_the_moment(
        self, storage: Storage
    ) -> None:
        given = make_consent(1, minutes=10)
        withdrawn = make_consent(2, minutes=20, given=False)
        again = make_consent(3, minutes=30)
        with storage.unit_of_work() as uow:
            for record in (given, withdrawn, again,
                           make_consent(4, channel=ContactChannel.EMAIL, given=False),
                           make_consent(5, purpose=Purpose.CARE, given=False),
                           make_consent(6, sensitive=True, given=False, minutes=25),
                           make_consent(7, customer="c-2", given=False, minutes=25)):
                uow.consents.add(record)
            uow.commit()

        def latest(minutes: int, sensitive: bool = False) -> ConsentRecord | None:
            with storage.unit_of_work(read_only=True) as uow:
                return uow.consents.latest("c-1", Purpose.MARKETING, ContactChannel.SMS,
                                           sensitive, T0 + timedelta(minutes=minutes))

        assert latest(9) is None
        assert latest(10) == given
        assert latest(19) == given
        assert latest(20) == withdrawn
        assert latest(29) == withdrawn
        assert latest(10_000) == again
        assert latest(24, sensitive=True) is None
        assert latest(25, sensitive=True) is not None

    def test_the_same_moment_is_ordered_by_id(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.consents.add(make_consent(2, minutes=10, given=False))
            uow.consents.add(make_consent(1, minutes=10))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            found = uow.consents.latest("c-1", Purpose.MARKETING, ContactChannel.SMS, False,
                                        T0 + timedelta(minutes=10))
            assert found is not None and found.id == "cs-000002" and not found.given
            assert [r.id for r in uow.consents.history("c-1")] == ["cs-000001", "cs-000002"]

    def test_an_id_is_taken_once_and_a_rollback_keeps_nothing(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.consents.add(make_consent(1))
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.consents.add(make_consent(1, given=False))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.consents.add(make_consent(2))
        with storage.unit_of_work(read_only=True) as uow:
            assert [r.id for r in uow.consents.history("c-1")] == ["cs-000001"]

    def test_the_repository_offers_no_way_to_change_or_delete(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for name in ("update", "delete", "remove", "save"):
                assert not hasattr(uow.consents, name), name
