"""A plugin's exception, or a hostile cell's, is refused naming its type alone. The
name is read as the interpreter keeps it: a metaclass that will not tell it (or
claims another) changes nothing, and nothing of the exception gets out."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import custmgmt
from custmgmt.domain.validation import type_name
from custmgmt.errors import StorageError
from custmgmt.plugins import hookimpl
from custmgmt.ports.clock import new_ids
from custmgmt.ports.hookspecs import NotifierBackend
from custmgmt.ports.notification import Notification
from custmgmt.ports.settings import Settings
from tests.unit.test_notifications import queue

PHONE = "13800138000"


class _Hidden(type):
    """A metaclass whose classes will not say their name."""

    @property  # type: ignore[misc,override]
    def __name__(cls) -> str:
        raise RuntimeError(PHONE)


class Nameless(Exception, metaclass=_Hidden):
    pass


def test_a_type_name_is_the_interpreters() -> None:
    assert type_name(Nameless(PHONE)) == "Nameless"
    assert type_name(7) == "int"


class _Ids:
    def new_id(self, prefix: str) -> str:
        raise Nameless(PHONE)


def test_an_id_generators_nameless_failure_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match=r"id generator failed \(Nameless\)") as raised:
        new_ids(_Ids(), "p", 1)
    assert PHONE not in str(raised.value)


class _Sealer:
    @hookimpl
    def custmgmt_chain_sealer(self, settings: Settings) -> _Sealer:
        return self

    def seal(self, message: bytes) -> str:
        raise Nameless(PHONE)

    def verify(self, message: bytes, seal: str) -> bool:
        raise Nameless(PHONE)


def test_a_sealers_nameless_failure_is_a_storage_error_saving_nothing(
        storage_url: str) -> None:
    with custmgmt.open(storage_url, migrate=True, plugins=[_Sealer()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(StorageError, match=r"chain sealer failed \(Nameless\)") as raised:
            app.prospects.register(alice, name="Li Na", phone=PHONE, willingness="clear",
                                   potential_value=1)
        assert PHONE not in str(raised.value)
        assert app.prospects.mine(alice).items == ()


class _Cell:
    """A cell no method of which can be used."""

    def __getattribute__(self, name: str) -> object:
        raise Nameless(PHONE)


@pytest.mark.parametrize("column", ["name", "willingness", "potential_value"])
def test_a_cell_failing_namelessly_rejects_its_row(storage_url: str, column: str) -> None:
    with custmgmt.open(storage_url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        row: dict[str, object] = {"name": "Li Na", "phone": PHONE, "willingness": "clear",
                                  "potential_value": "1", column: _Cell()}
        report = app.prospects.import_many(alice, [row])
        assert [(r.line, r.field, r.reason) for r in report.rejected] == [
            (1, None, "a cell could not be read (Nameless)")]
        assert app.prospects.mine(alice).items == ()


class _Notifier:
    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        raise Nameless(PHONE)


class _Plug:
    @hookimpl
    def custmgmt_notifiers(self) -> Sequence[NotifierBackend]:
        return (NotifierBackend(name="nameless", create=lambda _s: _Notifier()),)


def test_a_notifiers_nameless_failure_is_recorded_and_tried_again(storage_url: str) -> None:
    settings = custmgmt.Settings(notifier="nameless")
    with custmgmt.open(storage_url, settings=settings, migrate=True,
                       plugins=[_Plug()]) as app:
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 1)
        report = app.notifications.dispatch(ops)
        assert (report.sent, report.failed, report.dead) == (0, 1, 0)
