"""The memory adapters against the shared contract suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import pytest

from custmgmt.adapters.memory.notifier import RecordingNotifier
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.notify.logging import LoggingNotifier
from custmgmt.adapters.rbac import RoleBasedAuthorizer
from custmgmt.ports.auth import Authorizer, Principal
from custmgmt.ports.notification import Notifier
from custmgmt.ports.storage import Storage
from custmgmt.testing import (
    AuthorizerContract,
    Delivered,
    NotifierContract,
    StorageContract,
    sample_notification,
)


class TestMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestRecordingNotifier(NotifierContract):
    honours_idempotency_key = True

    def make_notifier(self) -> Notifier:
        return RecordingNotifier()

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        assert isinstance(notifier, RecordingNotifier)
        return [Delivered(n.id, key) for n, key in zip(notifier.sent, notifier.keys,
                                                      strict=True)]


class TestRoleBasedAuthorizer(AuthorizerContract):
    def make_authorizer(self) -> Authorizer:
        return RoleBasedAuthorizer()

    def salesperson(self) -> Principal:
        return Principal(id="u-alice", roles=frozenset({"salesperson"}), team="east")


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestLoggingNotifier(NotifierContract):
    """The logging notifier delivers to a log line: the contract reads the log back."""

    @pytest.fixture(autouse=True)
    def _detach_handler(self) -> Iterator[None]:
        yield
        logging.getLogger("custmgmt.notifications").removeHandler(self.captured)

    def make_notifier(self) -> Notifier:
        self.captured = _Captured()
        logger = logging.getLogger("custmgmt.notifications")
        logger.addHandler(self.captured)
        logger.setLevel(logging.INFO)
        return LoggingNotifier()

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        return [Delivered(str(r.args[3]), r.idempotency_key)  # type: ignore[index,attr-defined]
                for r in self.captured.records]

    def test_the_log_line_names_recipient_kind_and_subject_only(self) -> None:
        notifier = self.make_notifier()
        note = sample_notification(7)
        notifier.send(note, idempotency_key=note.idempotency_key)
        (record,) = self.captured.records
        assert record.getMessage() == "notify u-alice [test] Notification 7 (n-000007)"
        assert note.body not in record.getMessage()
