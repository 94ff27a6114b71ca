"""The webhook notifier against a local http.server on 127.0.0.1: contract, signature, codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import custmgmt
from custmgmt.adapters.notify.webhook import WebhookNotifier, verify_signature
from custmgmt.errors import DeliveryFailed, ValidationError
from custmgmt.ports.notification import Notifier
from custmgmt.testing import Delivered, NotifierContract, sample_notification

SECRET = b"shared-secret"


class Receiver(ThreadingHTTPServer):
    """Keeps every request; answers ``status`` (200 unless told otherwise)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/crm"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def received(server: Receiver) -> list[Delivered]:
    out = []
    for headers, body in server.requests:
        assert verify_signature(SECRET, headers, body), "a request with a bad signature"
        data = json.loads(body)
        assert headers["Idempotency-Key"] == data["idempotency_key"]
        out.append(Delivered(data["id"], data["idempotency_key"]))
    return out


class TestWebhookNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _receiver(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def make_notifier(self) -> Notifier:
        return WebhookNotifier(url=self.receiver.url, secret=SECRET)

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        return received(self.receiver)

    def test_the_body_is_the_notification_as_json(self) -> None:
        note = sample_notification(2)
        self.make_notifier().send(note, idempotency_key="k-2")
        ((headers, body),) = self.receiver.requests
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {
            "id": "n-000002", "idempotency_key": "k-2", "recipient_id": "u-alice",
            "kind": "test", "subject": "Notification 2", "body": note.body,
            "purpose": "operations", "channel": "internal",
            "created_at": note.created_at.isoformat()}

    def test_the_signature_covers_body_and_timestamp(self) -> None:
        self.make_notifier().send(sample_notification(1), idempotency_key="k-1")
        ((headers, body),) = self.receiver.requests
        assert headers["X-Custmgmt-Signature"].startswith("sha256=")
        assert verify_signature(SECRET, headers, body)
        assert not verify_signature(b"other secret", headers, body)
        assert not verify_signature(SECRET, headers, body.replace(b"u-alice", b"u-mallory"))
        stamp = int(headers["X-Custmgmt-Timestamp"])
        assert not verify_signature(SECRET, headers, body, now=stamp + 301)  # a replay

    @pytest.mark.parametrize(("status", "permanent"), [
        (500, False), (503, False), (429, False), (408, False), (400, True), (404, True),
        (410, True)])
    def test_error_answers_are_failures_permanent_only_for_a_refusal(
        self, status: int, permanent: bool
    ) -> None:
        self.receiver.status = status
        with pytest.raises(DeliveryFailed) as failed:
            self.make_notifier().send(sample_notification(1), idempotency_key="k")
        assert failed.value.permanent is permanent
        assert str(status) in str(failed.value)

    def test_an_unreachable_receiver_is_a_transient_failure(self) -> None:
        url = self.receiver.url
        self.receiver.shutdown()
        self.receiver.server_close()
        with pytest.raises(DeliveryFailed) as failed:
            WebhookNotifier(url=url, secret=SECRET, timeout=2).send(
                sample_notification(1), idempotency_key="k")
        assert not failed.value.permanent


def test_the_webhook_notifier_is_configured_through_settings(receiver: Receiver) -> None:
    settings = custmgmt.Settings(notifier="webhook", plugins={"webhook": {
        "url": receiver.url, "secret": SECRET.decode()}})
    with custmgmt.open("memory://", settings=settings) as app:
        assert repr(app.notifier) == f"WebhookNotifier(url={receiver.url!r})"
        ops = app.principal("u-ops", roles={"admin"})
        with app._storage.unit_of_work() as uow:
            uow.outbox.add(sample_notification(1))
            uow.commit()
        receiver.status = 404
        report = app.notifications.dispatch(ops)
        assert report == custmgmt.DispatchReport(dead=1)
        (dead,) = app.notifications.dead(ops)
        assert dead.last_error == "DeliveryFailed: the webhook answered 404"
        receiver.status = 200
        assert app.notifications.retry(ops, "n-000001").status is custmgmt.DeliveryStatus.SENT
    assert received(receiver)[-1] == Delivered("n-000001", "n-000001")


@pytest.mark.parametrize(("options", "field"), [
    ({"secret": "s"}, "plugins.webhook.url"),
    ({"url": "ftp://x/y", "secret": "s"}, "plugins.webhook.url"),
    ({"url": "http://127.0.0.1/x"}, "plugins.webhook.secret"),
    ({"url": "http://127.0.0.1/x", "secret": "s", "timeout": "soon"}, "plugins.webhook.timeout"),
    ({"url": "http://127.0.0.1/x", "secret": "s", "retries": 3}, "plugins.webhook.retries"),
])
def test_bad_webhook_options_are_validation_errors_naming_the_option(
    options: dict[str, object], field: str
) -> None:
    settings = custmgmt.Settings(notifier="webhook", plugins={"webhook": options})
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("memory://", settings=settings)
    assert raised.value.field == field
