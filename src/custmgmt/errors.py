"""The exceptions custmgmt raises. Callers never see anything else.

Every message is safe to log: none of them carries personal data in clear.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "ClaimConflict",
    "ConcurrencyError",
    "ConsentRequired",
    "CreditLimitExceeded",
    "CustmgmtError",
    "CustomerRefused",
    "DeliveryFailed",
    "FieldError",
    "IntegrityError",
    "InvalidTransition",
    "NotFound",
    "PermissionDenied",
    "RevocationNotAllowed",
    "StorageError",
    "ValidationError",
]


class CustmgmtError(Exception):
    """Base of every error custmgmt raises on purpose."""


class FieldError:
    """One problem with one input field: ``path`` is dotted (``"contacts.phone"``)."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def __repr__(self) -> str:
        return f"FieldError({self.path!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.path, self.message) == (other.path, other.message)

    def __hash__(self) -> int:
        return hash((self.path, self.message))


class ValidationError(CustmgmtError, ValueError):
    """Bad input. ``field`` names the first bad field; ``errors`` lists them all."""

    def __init__(self, field: str, message: str, *more: FieldError) -> None:
        self.errors: tuple[FieldError, ...] = (FieldError(field, message), *more)
        self.field = field
        self.message = message
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in self.errors))

    @classmethod
    def of(cls, errors: list[FieldError]) -> ValidationError:
        first, *rest = errors
        return cls(first.path, first.message, *rest)

    def under(self, prefix: str) -> ValidationError:
        """The same problems, with ``prefix.`` put in front of every field path."""
        moved = [FieldError(f"{prefix}.{e.path}", e.message) for e in self.errors]
        return ValidationError.of(moved)


class CreditLimitExceeded(ValidationError):
    """An amount above what is allowed: a binding instrument that would push a customer's
    exposure above its approved credit limit, or a draw above what is left undrawn."""


class NotFound(CustmgmtError, LookupError):
    """No ``kind`` with this id exists (or the caller may not know that it does)."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class PermissionDenied(CustmgmtError):
    """The principal may not perform the action on the resource."""

    def __init__(self, principal_id: str, action: str, reason: str = "") -> None:
        self.principal_id = principal_id
        self.action = action
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"{principal_id!r} may not {action}{detail}")


class ClaimConflict(CustmgmtError):
    """Someone registered this prospect first; the first registration stands."""

    def __init__(
        self, owner_id: str, registration_id: str, registered_at: datetime, key_kind: str = ""
    ) -> None:
        self.owner_id = owner_id
        self.registration_id = registration_id
        self.registered_at = registered_at
        self.key_kind = key_kind
        on = f" (same {key_kind})" if key_kind else ""
        super().__init__(
            f"already registered{on} by {owner_id!r} as {registration_id!r} "
            f"at {registered_at.isoformat()}"
        )


class CustomerRefused(CustmgmtError):
    """The customer may not be acted on for this purpose: its status (or a rule) says no."""

    def __init__(self, customer_id: str, purpose: str, status: str, reason: str = "") -> None:
        self.customer_id = customer_id
        self.purpose = purpose
        self.status = status
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"customer {customer_id!r} ({status}) refused for {purpose}{detail}")


class ConsentRequired(CustmgmtError):
    """The person has not consented (or has withdrawn consent) to this purpose on this
    channel: the message is not sent, the contact not made."""

    def __init__(self, customer_id: str, purpose: str, channel: str, reason: str = "") -> None:
        self.customer_id = customer_id
        self.purpose = purpose
        self.channel = channel
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"customer {customer_id!r} has no {purpose} consent on "
                         f"{channel}{detail}")


class ConcurrencyError(CustmgmtError):
    """Someone else changed the record after it was read; reload and retry."""


class InvalidTransition(CustmgmtError):
    """A move the rules do not allow from the current state."""

    def __init__(self, current: str, requested: str, reason: str = "") -> None:
        self.current = current
        self.requested = requested
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot go from {current} to {requested}{detail}")


class RevocationNotAllowed(CustmgmtError):
    """A binding credit instrument cannot be revoked this way."""


class IntegrityError(CustmgmtError):
    """A hash-chained record was edited, deleted, inserted or reordered."""


class StorageError(CustmgmtError):
    """The storage back end failed; nothing of the failed unit of work was saved."""


class DeliveryFailed(CustmgmtError):
    """A notifier could not deliver. The message is stored with the outbox item, so
    it must be safe to keep (no addresses, no personal data).

    ``permanent=True`` says retrying cannot help (the far side refused this
    message for good): the item goes straight to the dead letters.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)
