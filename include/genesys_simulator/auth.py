"""OAuth client-credentials tokens: issue, check, expire, revoke."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from include.genesys_simulator.errors import unauthorized


@dataclass
class Token:
    """An issued access token."""

    value: str
    client_id: str
    expires_at: float  # time.monotonic()


class TokenStore:
    """Issued tokens; expiry uses the real monotonic clock, not the simulated one."""

    def __init__(self, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._revoked: set[str] = set()

    def issue(self, client_id: str) -> Token:
        """Issue a fresh token."""
        token = Token(secrets.token_urlsafe(48), client_id, time.monotonic() + self.ttl_seconds)
        with self._lock:
            self._tokens[token.value] = token
        return token

    def check(self, authorization: str | None) -> Token:
        """Return the token of an Authorization header or raise the 401 the real API answers."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthorized(
                "No authentication bearer token specified in authorization header.", "authentication.required"
            )
        value = authorization[7:].strip()
        with self._lock:
            token = self._tokens.get(value)
            revoked = value in self._revoked
        if token is None or revoked or token.expires_at <= time.monotonic():
            raise unauthorized()
        return token

    def revoke_all(self) -> int:
        """Revoke every issued token; return how many were live."""
        with self._lock:
            live = [v for v in self._tokens if v not in self._revoked]
            self._revoked.update(live)
            return len(live)

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()
            self._revoked.clear()
