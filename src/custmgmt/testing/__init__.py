"""The contract suite every adapter must pass, and fakes for tests.

Subclass a contract in your adapter's test module and implement its one
factory method; pytest then runs every contract test against your adapter::

    from custmgmt.testing import StorageContract

    class TestMyStorage(StorageContract):
        def make_storage(self):
            return MyStorage("mydb://test")
"""

try:  # a failing contract test should show what it compared: let pytest rewrite our asserts
    import pytest as _pytest
except ImportError:  # pragma: no cover - pytest comes with the custmgmt[testing] extra
    pass
else:
    _pytest.register_assert_rewrite("custmgmt.testing")

from custmgmt.testing.auth_contract import AuthorizerContract
from custmgmt.testing.builders import make_customer, make_prospect, sample_notification
from custmgmt.testing.notifier_contract import Delivered, NotifierContract
from custmgmt.testing.storage_contract import StorageContract

__all__ = [
    "AuthorizerContract",
    "Delivered",
    "NotifierContract",
    "StorageContract",
    "make_customer",
    "make_prospect",
    "sample_notification",
]
