"""The SMTP notifier against a local aiosmtpd server on loopback: contract, STARTTLS, login."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Sequence
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import custmgmt
from custmgmt.adapters.notify.smtp import SmtpNotifier
from custmgmt.errors import DeliveryFailed, ValidationError
from custmgmt.ports.notification import Notifier
from custmgmt.testing import Delivered, NotifierContract, sample_notification

CERTS = Path(__file__).parent / "certs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """An aiosmtpd handler that keeps every message; refuses ``nobody@...``."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class Accounts:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"crm"
              and auth_data.password == b"s3cret")
        return AuthResult(success=ok)


def server(mailbox: Mailbox, **options: Any) -> Iterator[Controller]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def plain(mailbox: Mailbox) -> Iterator[Controller]:
    yield from server(mailbox)


@pytest.fixture
def secured(mailbox: Mailbox) -> Iterator[Controller]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTS / "loopback.crt", CERTS / "loopback.key")
    yield from server(mailbox, tls_context=context, require_starttls=True,
                      authenticator=Accounts(), auth_require_tls=True)


def headers(message: Message) -> Delivered:
    return Delivered(str(message["X-Custmgmt-Notification-Id"]),
                     str(message["X-Custmgmt-Idempotency-Key"]))


class TestSmtpNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _server(self, plain: Controller, mailbox: Mailbox) -> None:
        self.controller, self.mailbox = plain, mailbox

    def make_notifier(self) -> Notifier:
        return SmtpNotifier(host="127.0.0.1", port=self.controller.port,
                            sender="crm@example.com", recipient_domain="example.com")

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        return [headers(m) for m in self.mailbox.messages]

    def test_the_mail_is_addressed_and_written_as_expected(self) -> None:
        note = sample_notification(4)
        self.make_notifier().send(note, idempotency_key="k-4")
        (message,) = self.mailbox.messages
        assert self.mailbox.envelopes == [("crm@example.com", ["u-alice@example.com"])]
        assert message["Subject"] == "Notification 4" and message["To"] == "u-alice@example.com"
        assert message["X-Custmgmt-Purpose"] == "operations"
        assert message["Message-ID"].endswith(".custmgmt@example.com>")
        assert message.get_payload().strip() == note.body

    def test_the_same_key_gives_the_same_message_id(self) -> None:
        notifier = self.make_notifier()
        for n in (1, 1, 2):
            notifier.send(sample_notification(n), idempotency_key=f"k-{n}")
        ids = [m["Message-ID"] for m in self.mailbox.messages]
        assert ids[0] == ids[1] != ids[2]

    def test_a_refused_recipient_is_a_permanent_failure(self) -> None:
        notifier = SmtpNotifier(host="127.0.0.1", port=self.controller.port,
                                sender="crm@example.com", recipient_domain="example.com")
        note = sample_notification(1)
        with pytest.raises(DeliveryFailed) as failed:
            notifier.send(attrs.evolve(note, recipient_id="nobody"), idempotency_key="k")
        assert failed.value.permanent and "refused the recipient" in str(failed.value)

    def test_a_recipient_without_an_address_is_a_permanent_failure(self) -> None:
        notifier = SmtpNotifier(host="127.0.0.1", port=self.controller.port,
                                sender="crm@example.com")
        with pytest.raises(DeliveryFailed) as failed:
            notifier.send(sample_notification(1), idempotency_key="k")
        assert failed.value.permanent and self.mailbox.messages == []


def test_starttls_and_login_are_used_when_configured(
    secured: Controller, mailbox: Mailbox
) -> None:
    notifier = SmtpNotifier(host="127.0.0.1", port=secured.port, sender="crm@example.com",
                            recipient_domain="example.com", starttls=True, username="crm",
                            password="s3cret", cafile=CERTS / "loopback.crt")
    notifier.send(sample_notification(1), idempotency_key="k-1")
    assert [headers(m) for m in mailbox.messages] == [Delivered("n-000001", "k-1")]


def test_a_wrong_password_or_no_starttls_is_a_delivery_failure(
    secured: Controller, mailbox: Mailbox
) -> None:
    wrong = SmtpNotifier(host="127.0.0.1", port=secured.port, sender="crm@example.com",
                         recipient_domain="example.com", starttls=True, username="crm",
                         password="guess", cafile=CERTS / "loopback.crt")
    with pytest.raises(DeliveryFailed):  # refused (535), or the server hangs up after it
        wrong.send(sample_notification(1), idempotency_key="k-1")
    untrusted = SmtpNotifier(host="127.0.0.1", port=secured.port, sender="crm@example.com",
                             recipient_domain="example.com", starttls=True)
    with pytest.raises(DeliveryFailed, match="could not reach"):
        untrusted.send(sample_notification(1), idempotency_key="k-1")  # unknown CA
    plain_text = SmtpNotifier(host="127.0.0.1", port=secured.port, sender="crm@example.com",
                              recipient_domain="example.com")
    with pytest.raises(DeliveryFailed):
        plain_text.send(sample_notification(1), idempotency_key="k-1")  # STARTTLS required
    assert mailbox.messages == []


def test_the_smtp_notifier_is_configured_through_settings(
    plain: Controller, mailbox: Mailbox
) -> None:
    settings = custmgmt.Settings(notifier="smtp", plugins={"smtp": {
        "host": "127.0.0.1", "port": str(plain.port), "sender": "crm@example.com",
        "recipient_domain": "example.com"}})
    with custmgmt.open("memory://", settings=settings) as app:
        assert isinstance(app.notifier, SmtpNotifier)
        ops = app.principal("u-ops", roles={"admin"})
        with app._storage.unit_of_work() as uow:
            uow.outbox.add(sample_notification(1))
            uow.commit()
        assert app.notifications.dispatch(ops).sent == 1
    assert [headers(m) for m in mailbox.messages] == [Delivered("n-000001", "n-000001")]


@pytest.mark.parametrize(("options", "field"), [
    ({}, "plugins.smtp.host"),
    ({"host": "h"}, "plugins.smtp.sender"),
    ({"host": "h", "sender": "not an address"}, "plugins.smtp.sender"),
    ({"host": "h", "sender": "a@b", "port": "seventy"}, "plugins.smtp.port"),
    ({"host": "h", "sender": "a@b", "port": 70000}, "plugins.smtp.port"),
    ({"host": "h", "sender": "a@b", "starttls": "maybe"}, "plugins.smtp.starttls"),
    ({"host": "h", "sender": "a@b", "username": "u"}, "plugins.smtp.password"),
    ({"host": "h", "sender": "a@b", "hots": "typo"}, "plugins.smtp.hots"),
])
def test_bad_smtp_options_are_validation_errors_naming_the_option(
    options: dict[str, object], field: str
) -> None:
    settings = custmgmt.Settings(notifier="smtp", plugins={"smtp": options})
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("memory://", settings=settings)
    assert raised.value.field == field
