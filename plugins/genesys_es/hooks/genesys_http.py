"""What one exchange with Genesys Cloud means: the connection's settings, error bodies, decoded answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from genesys_es.exceptions import GenesysApiError, GenesysRetryableError
from genesys_es.extract.models import ErrorBody
from genesys_es.extract.regions import DEFAULT_REGION, region_hosts

DEFAULT_REQUESTS_PER_MINUTE = 300


@dataclass(frozen=True)
class ConnectionSettings:
    """A ``genesys_cloud`` connection read once: credentials, hosts and budget."""

    client_id: str
    client_secret: str = field(repr=False)
    login_base: str
    api_base: str
    requests_per_minute: float

    @classmethod
    def from_connection(cls, conn: Any, requests_per_minute: float | None = None) -> ConnectionSettings:
        """Read an Airflow connection; raise ValueError naming what is missing or wrong.

        :param conn: the Airflow connection (login = client id, password = secret, extras).
        :param requests_per_minute: overrides the connection's ``requests_per_minute`` extra.
        """
        extra = conn.extra_dejson or {}
        if not conn.login or not conn.password:
            raise ValueError(
                f"Connection {conn.conn_id!r} needs the OAuth client id as login and the client secret as password"
            )
        base_url = (extra.get("base_url") or "").strip().rstrip("/")
        login_base, api_base = (
            (base_url, base_url) if base_url else region_hosts(extra.get("region") or DEFAULT_REGION)
        )
        rpm = requests_per_minute
        if rpm is None:
            raw = extra.get("requests_per_minute")
            try:
                rpm = DEFAULT_REQUESTS_PER_MINUTE if raw in (None, "") else float(raw)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Connection {conn.conn_id!r}: requests_per_minute must be a number, got {raw!r}"
                ) from None
        if rpm < 0:
            raise ValueError(f"requests_per_minute must not be negative, got {rpm}")
        return cls(conn.login, conn.password, login_base, api_base, rpm)


def retry_after(response: requests.Response) -> float | None:
    """Return the wait a 429 asks for: ``Retry-After``, else ``inin-ratelimit-reset`` (seconds)."""
    for header in ("Retry-After", "inin-ratelimit-reset"):
        try:
            seconds = float(response.headers.get(header, ""))
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def error_body(response: requests.Response, content: bytes) -> ErrorBody:
    """Parse a Genesys error body; an unparseable one becomes an ErrorBody with the status text."""
    try:
        data = orjson.loads(content)
        body = ErrorBody.model_validate(data)
        if body.message is None and isinstance(data, dict):  # the login service's OAuth-style body
            body = ErrorBody(
                message=data.get("error_description"), code=data.get("error"), status=body.status
            )
        return body
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return ErrorBody(
            message=response.reason or f"HTTP {response.status_code}", status=response.status_code
        )


def decode(response: requests.Response, content: bytes, method: str, path: str) -> Any:
    """Return the decoded body of a 2xx answer, or raise: retryable for 5xx and broken bodies, else API error.

    :param response: the answer (its status and reason).
    :param content: its body.
    :param method: the request's method, for messages.
    :param path: the request's path, for messages.
    """
    status = response.status_code
    if status >= 500:
        raise GenesysRetryableError(f"{status} server error on {method} {path}", status=status)
    if status >= 400:
        body = error_body(response, content)
        raise GenesysApiError(
            status, body.message or response.reason or "no message", body.code, body.context_id
        )
    if not content:
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise GenesysRetryableError(
            f"invalid or truncated JSON body ({len(content)} bytes) from {method} {path}", status=status
        ) from None
