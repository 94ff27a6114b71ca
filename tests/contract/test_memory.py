"""The memory adapters against the shared contract suite."""

from __future__ import annotations

from collections.abc import Sequence

from custmgmt.adapters.memory.notifier import RecordingNotifier
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.rbac import RoleBasedAuthorizer
from custmgmt.ports.auth import Authorizer, Principal
from custmgmt.ports.notification import Notification, Notifier
from custmgmt.ports.storage import Storage
from custmgmt.testing import AuthorizerContract, NotifierContract, StorageContract


class TestMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestRecordingNotifier(NotifierContract):
    def make_notifier(self) -> Notifier:
        return RecordingNotifier()

    def delivered(self, notifier: Notifier) -> Sequence[Notification]:
        assert isinstance(notifier, RecordingNotifier)
        return notifier.sent


class TestRoleBasedAuthorizer(AuthorizerContract):
    def make_authorizer(self) -> Authorizer:
        return RoleBasedAuthorizer()

    def salesperson(self) -> Principal:
        return Principal(id="u-alice", roles=frozenset({"salesperson"}), team="east")
