"""The default notifier: one log line per notification (never the body).

Lines go to the ``custmgmt.notifications`` logger at INFO, with the idempotency
key, purpose and channel as record attributes (``record.idempotency_key``...), so
a log pipeline can route or deduplicate them.
"""

from __future__ import annotations

import logging

from custmgmt.ports.notification import Notification

log = logging.getLogger("custmgmt.notifications")


class LoggingNotifier:
    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        # The subject and ids only: bodies may be long and are the recipient's business.
        log.info(
            "notify %s [%s] %s (%s)", notification.recipient_id, notification.kind,
            notification.subject, notification.id,
            extra={"idempotency_key": idempotency_key, "purpose": notification.purpose,
                   "channel": notification.channel},
        )
