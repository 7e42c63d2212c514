"""Fault injection: an outer ASGI middleware that misbehaves deterministically (seed, request number)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from include.genesys_simulator.errors import server_error, too_many_requests
from include.genesys_simulator.faults_profile import FaultProfile, resolve_profile
from include.genesys_simulator.rng import derive, uniform_at

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_KINDS = ("burst_429", "revoke", "reset", "500", "502", "503", "504", "slow", "truncate", "token_error")


@dataclass
class Decision:
    """What to do with one request."""

    kind: str | None = None  # None: behave
    slow_seconds: float = 0.0


class FaultInjector:
    """Decide per request whether and how to misbehave; the n-th request always gets the same answer."""

    def __init__(self, seed: int, profile: FaultProfile | str | dict[str, Any] | None) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self.profile = resolve_profile(profile)
        self._api_count = 0
        self._token_count = 0
        self._burst_left = 0

    def set_profile(self, profile: FaultProfile | str | dict[str, Any] | None) -> FaultProfile:
        """Replace the profile and restart the request numbering."""
        with self._lock:
            self.profile = resolve_profile(profile)
            self._api_count = 0
            self._token_count = 0
            self._burst_left = 0
            return self.profile

    def _u(self, n: int, kind: str) -> float:
        """Return the uniform draw of request n for a fault kind."""
        return uniform_at(derive(self.seed, n, 0xFA17), _KINDS.index(kind) + 1)

    def decide_api(self) -> Decision:
        """Decide for the next API request."""
        with self._lock:
            p = self.profile
            self._api_count += 1
            n = self._api_count
            if self._burst_left > 0:
                self._burst_left -= 1
                return Decision("burst_429")
            if not p.active:
                return Decision()
            if self._u(n, "burst_429") < p.burst_429_probability:
                self._burst_left = max(0, p.burst_429_length - 1)
                return Decision("burst_429")
        checks = (
            ("revoke", p.revoke_probability),
            ("reset", p.reset_probability),
            ("500", p.error_500_probability),
            ("502", p.error_502_probability),
            ("503", p.error_503_probability),
            ("504", p.error_504_probability),
            ("truncate", p.truncate_probability),
            ("slow", p.slow_probability),
        )
        for kind, probability in checks:
            if probability > 0 and self._u(n, kind) < probability:
                return Decision(kind, p.slow_seconds if kind == "slow" else 0.0)
        return Decision()

    def decide_token(self) -> Decision:
        """Decide for the next /oauth/token request."""
        with self._lock:
            self._token_count += 1
            n = self._token_count
            p = self.profile
        if p.token_error_probability > 0 and self._u(n, "token_error") < p.token_error_probability:
            return Decision("token_error")
        return Decision()


def _transport_of(send: Send) -> asyncio.Transport | None:
    """Return uvicorn's transport behind its raw send callable (None when wrapped by something else)."""
    cycle = getattr(send, "__self__", None)
    return getattr(cycle, "transport", None)


def _abort(send: Send) -> bool:
    """Close the client connection at once with a TCP reset; return False if the transport is unreachable."""
    transport = _transport_of(send)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


class FaultMiddleware:
    """Wrap the app: inject faults into /api/v2 and /oauth/token requests as the injector decides."""

    def __init__(
        self,
        app: App,
        injector: FaultInjector,
        on_fault: Callable[[str, str, int], None],
        revoke_tokens: Callable[[], None],
    ) -> None:
        self.app = app
        self.injector = injector
        self.on_fault = on_fault  # (kind, path, status) -> None
        self.revoke_tokens = revoke_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == "/oauth/token":
            decision = self.injector.decide_token()
            if decision.kind == "token_error":
                self.on_fault("token_error", path, 503)
                await _send_error(send, 503, {})
                return
            await self.app(scope, receive, send)
            return
        if not path.startswith("/api/v2/"):
            await self.app(scope, receive, send)
            return
        decision = self.injector.decide_api()
        kind = decision.kind
        if kind is None:
            await self.app(scope, receive, send)
            return
        if kind == "burst_429":
            retry = self.injector.profile.burst_429_retry_after
            self.on_fault(kind, path, 429)
            await _send_error(send, 429, {}, retry_after=retry)
            return
        if kind in ("500", "502", "503", "504"):
            self.on_fault(kind, path, int(kind))
            await _send_error(send, int(kind), {})
            return
        if kind == "reset":
            self.on_fault(kind, path, 0)
            if _abort(send):
                return
            raise RuntimeError("simulated connection reset (transport unreachable)")
        if kind == "revoke":
            self.on_fault(kind, path, 0)
            self.revoke_tokens()
            await self.app(scope, receive, send)
            return
        if kind == "slow":
            self.on_fault(kind, path, 0)
            await asyncio.sleep(decision.slow_seconds)
            await self.app(scope, receive, send)
            return
        # truncate: let the app answer, send the headers and half the body, then drop the connection
        self.on_fault(kind, path, 0)
        await self.app(scope, receive, _Truncating(send))


class _Truncating:
    """A send wrapper that forwards headers and half of the body, then aborts the connection."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: dict[str, Any] | None = None
        self.body = bytearray()
        self.done = False

    async def __call__(self, message: dict[str, Any]) -> None:
        """Collect the response, then emit it truncated."""
        if self.done:
            return
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        self.body.extend(message.get("body", b""))
        if message.get("more_body"):
            return
        self.done = True
        assert self.start is not None
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send(
            {"type": "http.response.body", "body": bytes(self.body[: len(self.body) // 2]), "more_body": True}
        )
        if not _abort(self.send):
            raise RuntimeError("simulated truncated body (transport unreachable)")


async def _send_error(
    send: Send, status: int, headers: dict[str, str], retry_after: int | None = None
) -> None:
    """Send a Genesys-style error response."""
    error = too_many_requests(retry_after) if retry_after is not None else server_error(status)
    body = orjson.dumps(error.body())
    all_headers = {**error.headers, **headers, "content-type": "application/json"}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()]
            + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
