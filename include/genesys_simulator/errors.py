"""Genesys Cloud error bodies and the exception that carries them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

PAGINATION_MESSAGE = "Pagination may not exceed 100000 results."
RATE_LIMIT_MESSAGE = "Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds"


class ApiError(Exception):
    """An API error answered with the real Genesys error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        message_params: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or []
        self.errors = errors or []
        self.message_params = message_params

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        body: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "contextId": str(uuid.uuid4()),
            "details": self.details,
            "errors": self.errors,
        }
        if self.message_params:
            body["messageParams"] = self.message_params
        return body

    def response(self) -> JSONResponse:
        """Return the error as a response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


#: The permission the details query and the details jobs need.
DETAILS_PERMISSION = "analytics:conversationDetail:view"


def missing_permission(permission: str) -> ApiError:
    """Return the 403 a client whose role lacks ``permission`` gets (wording as reported, not verified)."""
    return ApiError(
        403, "missing.permissions", f"You are missing the following permission(s): [{permission}]"
    )


def bad_request(message: str, code: str = "bad.request") -> ApiError:
    """Return a 400 error."""
    return ApiError(400, code, message)


def invalid_value(message: str) -> ApiError:
    """Return a 400 invalid.value error."""
    return ApiError(400, "invalid.value", message)


def unauthorized(message: str = "Invalid login credentials.", code: str = "bad.credentials") -> ApiError:
    """Return a 401 error for a missing, unknown, expired or revoked bearer token."""
    return ApiError(401, code, message)


def not_found(message: str = "The requested resource was not found.") -> ApiError:
    """Return a 404 error."""
    return ApiError(404, "not.found", message)


def too_many_requests(seconds: int) -> ApiError:
    """Return the 429 answered when a token spent its request budget."""
    return ApiError(
        429,
        "too.many.requests.retry.after",
        RATE_LIMIT_MESSAGE.format(seconds=seconds),
        headers={"Retry-After": str(seconds)},
    )


SERVER_ERRORS = {
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: ("service.unavailable", "The service is currently unavailable."),
    504: ("gateway.timeout", "The request timed out."),
}


def server_error(status: int) -> ApiError:
    """Return a 5xx error with a plausible Genesys body."""
    code, message = SERVER_ERRORS[status]
    return ApiError(status, code, message)
