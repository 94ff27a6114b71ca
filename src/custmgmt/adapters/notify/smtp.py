"""An e-mail notifier on the standard library's ``smtplib`` (``notifier="smtp"``).

Options (``Settings(plugins={"smtp": {...}})`` or ``--option smtp.KEY=VALUE``):

``host`` (required), ``port`` (25), ``sender`` (required: the From address),
``starttls`` (false: upgrade the connection with STARTTLS before anything else),
``username`` / ``password`` (log in when given), ``cafile`` (a CA bundle to trust
for STARTTLS, e.g. a company CA), ``timeout`` (30 seconds), ``recipient_domain``
(recipient ``u-alice`` gets mail at ``u-alice@<domain>``; without it the
recipient id must itself be an address).

Each message carries the idempotency key in ``X-Custmgmt-Idempotency-Key`` and a
``Message-ID`` derived from it, so a mail system (or a person) can tell a repeat.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from custmgmt.errors import DeliveryFailed, ValidationError
from custmgmt.ports.notification import Notification
from custmgmt.ports.settings import Settings

Resolve = Callable[[str], str | None]
"""Recipient id -> e-mail address (None: no address known)."""


class SmtpNotifier:
    """Sends each notification as one e-mail through an SMTP server."""

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        port: int = 25,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        cafile: Path | None = None,
        timeout: float = 30.0,
        recipient_domain: str | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValidationError("plugins.smtp.password",
                                  "username and password go together")
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self._password = starttls, username, password
        self.cafile, self.timeout = cafile, timeout
        self.recipient_domain = recipient_domain
        self._resolve = resolve

    def __repr__(self) -> str:
        return f"SmtpNotifier(host={self.host!r}, port={self.port}, starttls={self.starttls})"

    def address(self, recipient_id: str) -> str | None:
        """Where mail for ``recipient_id`` goes."""
        if self._resolve is not None:
            return self._resolve(recipient_id)
        if self.recipient_domain:
            return f"{recipient_id}@{self.recipient_domain}"
        return recipient_id if "@" in recipient_id else None

    def message(self, notification: Notification, idempotency_key: str) -> EmailMessage:
        to = self.address(notification.recipient_id)
        if to is None:
            raise DeliveryFailed("no e-mail address for the recipient", permanent=True)
        domain = self.sender.rpartition("@")[2] or "custmgmt.invalid"
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = notification.subject
        message["Date"] = formatdate(notification.created_at.timestamp(), usegmt=True)
        message["Message-ID"] = f"<{digest}.custmgmt@{domain}>"
        message["X-Custmgmt-Idempotency-Key"] = idempotency_key
        message["X-Custmgmt-Notification-Id"] = notification.id
        message["X-Custmgmt-Kind"] = notification.kind
        message["X-Custmgmt-Purpose"] = notification.purpose
        message.set_content(notification.body or notification.subject)
        return message

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        message = self.message(notification, idempotency_key)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(
                        cafile=None if self.cafile is None else str(self.cafile)))
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("the mail server refused the recipient",
                                 permanent=True) from None
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryFailed(f"the mail server refused the login ({error.smtp_code})"
                                 ) from None
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise DeliveryFailed(f"the mail server answered {error.smtp_code}",
                                 permanent=permanent) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryFailed("the mail server does not offer STARTTLS or login") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
            raise DeliveryFailed(f"could not reach the mail server ({type(error).__name__})"
                                 ) from None


def create(settings: Settings) -> SmtpNotifier:
    """The ``smtp`` notifier from ``settings.options("smtp")``."""
    options = settings.options("smtp")
    notifier = SmtpNotifier(
        host=options.required_text("host"),
        port=options.integer("port", 25, minimum=1, maximum=65535) or 25,
        sender=_address(options.required_text("sender"), "plugins.smtp.sender"),
        starttls=options.boolean("starttls", False),
        username=options.text("username", None),
        password=options.text("password", None),
        cafile=options.path("cafile", None),
        timeout=options.number("timeout", 30.0, minimum=0.1) or 30.0,
        recipient_domain=options.text("recipient_domain", None),
    )
    options.finish()
    return notifier


def _address(value: str, field: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in value):
        raise ValidationError(field, "must be an e-mail address")
    return value
