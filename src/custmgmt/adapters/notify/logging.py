"""A notifier that writes one log line per notification (never the body)."""

from __future__ import annotations

import logging

from custmgmt.ports.notification import Notification

log = logging.getLogger("custmgmt.notifications")


class LoggingNotifier:
    def send(self, notification: Notification) -> None:
        # The subject and ids only: bodies may be long and are the recipient's business.
        log.info(
            "notify %s [%s] %s (%s)", notification.recipient_id, notification.kind,
            notification.subject, notification.id,
        )
