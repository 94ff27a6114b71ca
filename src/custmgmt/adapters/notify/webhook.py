"""A notifier that POSTs each notification as JSON to a URL (``notifier="webhook"``).

Options (``Settings(plugins={"webhook": {...}})`` or ``--option webhook.KEY=VALUE``):
``url`` (required, http or https), ``secret`` (required: the HMAC key shared with
the receiver), ``timeout`` (10 seconds).

Every request carries:

- ``Idempotency-Key``: the same on every attempt of one notification;
- ``X-Custmgmt-Timestamp``: Unix seconds when it was signed;
- ``X-Custmgmt-Signature``: ``sha256=`` + hex HMAC-SHA256 of
  ``<timestamp>.<body>`` under the secret. ``verify_signature`` checks one.

A 2xx answer is delivered; 408, 409, 425, 429 and 5xx are retried; any other 4xx
makes the notification a dead letter at once (the receiver refused it for good).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from custmgmt.errors import DeliveryFailed, ValidationError
from custmgmt.ports.notification import Notification
from custmgmt.ports.settings import Settings

SIGNATURE_HEADER = "X-Custmgmt-Signature"
TIMESTAMP_HEADER = "X-Custmgmt-Timestamp"
KEY_HEADER = "Idempotency-Key"
RETRYABLE = frozenset({408, 409, 425, 429})


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: bytes, headers: Mapping[str, str], body: bytes, *,
                     now: float | None = None, tolerance: float = 300.0) -> bool:
    """For the receiver: True if ``body`` was signed with ``secret`` no more than
    ``tolerance`` seconds ago (refuse replays of old requests)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    return abs(age) <= tolerance and hmac.compare_digest(sign(secret, timestamp, body),
                                                          signature)


def payload(notification: Notification, idempotency_key: str) -> bytes:
    """The JSON body: every field of the notification, and the idempotency key."""
    return json.dumps({
        "id": notification.id, "idempotency_key": idempotency_key,
        "recipient_id": notification.recipient_id, "kind": notification.kind,
        "subject": notification.subject, "body": notification.body,
        "purpose": notification.purpose, "channel": notification.channel,
        "created_at": notification.created_at.isoformat(),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookNotifier:
    def __init__(self, *, url: str, secret: bytes, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = _http_url(url)
        self._secret = secret
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self.url!r})"  # never the secret

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        body = payload(notification, idempotency_key)
        timestamp = str(int(self._clock()))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "custmgmt-webhook",
            KEY_HEADER: idempotency_key, TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            error.close()  # the response it carries holds the connection
            permanent = 400 <= error.code < 500 and error.code not in RETRYABLE
            raise DeliveryFailed(f"the webhook answered {error.code}",
                                 permanent=permanent) from None
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailed(f"could not reach the webhook ({type(error).__name__})"
                                 ) from None


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("plugins.webhook.url", "must be an http:// or https:// URL")
    return url


def create(settings: Settings) -> WebhookNotifier:
    """The ``webhook`` notifier from ``settings.options("webhook")``."""
    options = settings.options("webhook")
    notifier = WebhookNotifier(
        url=options.required_text("url"),
        secret=options.required_text("secret").encode(),
        timeout=options.number("timeout", 10.0, minimum=0.1) or 10.0,
    )
    options.finish()
    return notifier
