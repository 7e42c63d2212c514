"""Exceptions raised by the Genesys Cloud hook and the partition planner (never carrying a secret)."""

from __future__ import annotations


class GenesysError(Exception):
    """Base class of every error raised while talking to Genesys Cloud."""


class GenesysAuthError(GenesysError):
    """The OAuth client credentials were refused, or a fresh token was refused too.

    :param detail: what Genesys refused, with its own reason.
    :param advice: what to check (appended to the message).
    """

    def __init__(self, detail: str, advice: str = "") -> None:
        self.detail = detail
        self.advice = advice
        super().__init__(f"{detail}; {advice}" if advice else detail)


class GenesysCredentialsError(GenesysAuthError):
    """The login service refused the OAuth client id and secret."""


class GenesysApiError(GenesysError):
    """Genesys answered with an error status that retrying cannot fix (400, 403, 404, ...).

    :param status: the HTTP status code.
    :param message: Genesys's own ``message`` (or a short description when the body had none).
    :param code: Genesys's error ``code`` such as ``bad.request``.
    :param context_id: Genesys's ``contextId`` for support tickets.
    """

    def __init__(
        self, status: int, message: str, code: str | None = None, context_id: str | None = None
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.context_id = context_id
        detail = f" [{code}]" if code else ""
        ctx = f" (contextId {context_id})" if context_id else ""
        super().__init__(f"Genesys Cloud API error {status}{detail}: {message}{ctx}")


class GenesysRetryableError(GenesysError):
    """A transient failure (5xx, 429, broken or truncated body) that the hook retries.

    :param reason: what went wrong, for the log.
    :param status: the HTTP status code, if a response arrived.
    :param retry_after: seconds the server asked to wait (429), if it said so.
    """

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


class GenesysRateLimitError(GenesysRetryableError):
    """Genesys answered 429: the request budget of the OAuth client is spent for now."""


class GenesysPaginationCapError(GenesysError):
    """An open-ended read reached the API's 100,000-result pagination cap; plan smaller intervals."""


class GenesysJobError(GenesysError):
    """Raised when a details job cannot serve its results: refused, failed too often, or gone."""


class PlanningError(ValueError):
    """A day could not be planned into partitions within the configured limits."""


class PartitionFailedError(RuntimeError):
    """Raised when a partition cannot be completed (the task is retried)."""


class MaintenanceError(RuntimeError):
    """Raised when a maintenance action failed; the message lists every failed action."""
