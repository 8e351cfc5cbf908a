"""Typed errors of the domain layer.

Domain code raises these; the web layer maps each class to one HTTP status in one place
(``webmap.errors``). Messages are for people and are written in Chinese first.
"""

from contextlib import contextmanager


class DomainError(Exception):
    """Base class. ``code`` is a stable machine-readable identifier, ``http_status`` the
    status the web layer answers with; a subclass names both in its class line
    (``class NotFound(DomainError, code="not_found", http_status=404)``) or inherits them."""

    code = "error"
    http_status = 500

    def __init_subclass__(cls, *, code: str | None = None, http_status: int | None = None):
        super().__init_subclass__()
        if code is not None:
            cls.code = code
        if http_status is not None:
            cls.http_status = http_status

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError, code="not_found", http_status=404):
    """No such record, or one the caller may not see (so its existence is not revealed)."""


class InvalidInput(DomainError, code="invalid_input", http_status=400):
    """Input that cannot be accepted as given (malformed, out of range, wrong type)."""


class Conflict(DomainError, code="conflict", http_status=409):
    """The state changed under the caller (lost race, stale version, duplicate key)."""


class IllegalTransition(DomainError, code="illegal_transition", http_status=409):
    """A workflow transition not allowed from the current state."""


class Forbidden(DomainError, code="forbidden", http_status=403):
    """The actor's role does not allow the action."""


class Unauthenticated(DomainError, code="unauthenticated", http_status=401):
    """No signed-in user or valid API token where one is required."""


class PayloadTooLarge(DomainError, code="payload_too_large", http_status=413):
    """A request body or upload larger than the limit for it."""


class RuleViolation(DomainError, code="rule_violation", http_status=422):
    """A blocking naming-rule finding without a recorded override."""


class ConfirmationRequired(DomainError, code="confirmation_required", http_status=409):
    """The request is valid but needs the user's explicit confirmation of what it implies
    (``details`` say what, e.g. a measured distance); resend with the confirmation."""


class DamagedRecord(DomainError, code="damaged_record", http_status=409):
    """A stored record that cannot be read as it was written (a hand edit left a JSON column
    that does not parse): shown as damaged, never acted on, until an operator repairs it
    (``gdgis admin repair-text`` lists it)."""


@contextmanager
def naming_field(field: str):
    """Within the block, an ``InvalidInput`` (or ``PayloadTooLarge``) that does not say
    which input it is about gets ``details.field = field``: a check shared by several
    inputs (a date, a bbox, a GeoJSON geometry) need not know the key it was called for."""
    try:
        yield
    except (InvalidInput, PayloadTooLarge) as exc:
        exc.details.setdefault("field", field)
        raise
