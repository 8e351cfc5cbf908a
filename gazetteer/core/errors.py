"""Typed errors of the domain layer.

Domain code raises these; the web layer maps each class to one HTTP status in one place
(``webmap.errors``). Messages are for people and are written in Chinese first.
"""


class DomainError(Exception):
    """Base class. ``code`` is a stable machine-readable identifier."""

    code = "error"
    http_status = 500

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    """Input that cannot be accepted as given (malformed, out of range, wrong type)."""

    code = "invalid_input"
    http_status = 400


class Conflict(DomainError):
    """The state changed under the caller (lost race, stale version, duplicate key)."""

    code = "conflict"
    http_status = 409


class IllegalTransition(DomainError):
    """A workflow transition not allowed from the current state."""

    code = "illegal_transition"
    http_status = 409


class Forbidden(DomainError):
    """The actor's role does not allow the action."""

    code = "forbidden"
    http_status = 403


class Unauthenticated(DomainError):
    code = "unauthenticated"
    http_status = 401


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413


class RuleViolation(DomainError):
    """A blocking naming-rule finding without a recorded override."""

    code = "rule_violation"
    http_status = 422


class ConfirmationRequired(DomainError):
    """The request is valid but needs the user's explicit confirmation of what it implies
    (``details`` say what, e.g. a measured distance); resend with the confirmation."""

    code = "confirmation_required"
    http_status = 409
