"""The FastAPI application: OAuth, the Analytics details endpoints and the /_sim admin endpoints."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from include.genesys_simulator.auth import TokenStore
from include.genesys_simulator.bodies import ClockRequest, FaultRequest
from include.genesys_simulator.clock import SimClock
from include.genesys_simulator.config import SimulatorConfig
from include.genesys_simulator.dataset import Dataset
from include.genesys_simulator.errors import (
    DETAILS_PERMISSION,
    ApiError,
    missing_permission,
    not_found,
    too_many_requests,
)
from include.genesys_simulator.faults import FaultInjector, FaultMiddleware
from include.genesys_simulator.faults_profile import FaultProfile
from include.genesys_simulator.jobs import JobStore
from include.genesys_simulator.page_cache import PageCache, RenderedPage
from include.genesys_simulator.query import details_answer
from include.genesys_simulator.ratelimit import RateLimiter
from include.genesys_simulator.stats import Stats

Json = dict[str, Any]
DETAILS = "/api/v2/analytics/conversations/details"
_JOB_PATH = re.compile(r"^(/api/v2/analytics/conversations/details/jobs/)(?!availability)[^/]+")


def path_template(path: str) -> str:
    """Return a path with job ids replaced by {jobId} (stats keys)."""
    return _JOB_PATH.sub(r"\1{jobId}", path)


class SimulatorState:
    """Everything the endpoints share."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = SimClock(config.now)
        self.dataset = Dataset(
            config.seed,
            config.conversations_per_day,
            config.volume_overrides,
            config.weekday_volume,
            now_ms=self.clock.now_ms,
        )
        self.tokens = TokenStore(config.token_ttl_seconds)
        self.limiter = RateLimiter(config.rate_limit_per_minute)
        self.stats = Stats()
        self.injector = FaultInjector(config.seed, config.faults)
        self.pages = PageCache(config.response_cache_mb * 2**20)
        self.jobs = JobStore(
            self.dataset, config.seed, config.job_fulfill_seconds, config.job_data_lag_seconds, self.pages
        )

    def reset(self) -> None:
        """Forget tokens, rate-limit windows, jobs and counters; restart fault numbering."""
        self.tokens.clear()
        self.limiter.clear()
        self.jobs.clear()
        self.pages.clear()
        self.stats.reset()
        self.injector.set_profile(self.injector.profile)

    def set_faults(self, profile: FaultProfile | str | dict[str, Any] | None) -> FaultProfile:
        """Replace the fault profile."""
        return self.injector.set_profile(profile)

    def revoke_tokens(self) -> int:
        """Revoke every token now."""
        revoked = self.tokens.revoke_all()
        self.stats.add("tokens_revoked", revoked)
        return revoked

    def set_clock(self, now: datetime | None = None, advance_seconds: float | None = None) -> datetime:
        """Freeze the clock at now (None = real clock) and/or advance it."""
        self.pages.clear()  # a page is final only while the clock does not move back
        if now is not None or advance_seconds is None:
            self.clock.set(now)
        if advance_seconds:
            self.clock.advance(advance_seconds)
        return self.clock.now()

    def details(self, raw: bytes) -> Json | RenderedPage:
        """Answer a details query, from the page cache when the same settled page was asked before."""
        cached = self.pages.get(raw)
        if cached is not None:
            return cached
        payload, final = details_answer(self.dataset, raw, self.config.max_interval_days)
        if not (final and self.pages.enabled):
            return payload
        page = RenderedPage(orjson.dumps(payload), len(payload.get("conversations", ())))
        self.pages.put(raw, page)
        return page

    def clock_info(self) -> Json:
        """Return the clock state."""
        return {"now": self.clock.now().isoformat().replace("+00:00", "Z"), "frozen": self.clock.frozen}


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return an orjson-encoded JSON response."""
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")


def _client_credentials(request: Request, form: dict[str, Any]) -> tuple[str, str] | None:
    """Return (client_id, secret) from Basic auth or form fields."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        if ":" not in decoded:
            return None
        client_id, secret = decoded.split(":", 1)
        return client_id, secret
    if form.get("client_id") is not None:
        return str(form.get("client_id")), str(form.get("client_secret") or "")
    return None


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """Return an OAuth-style error from the login service."""
    return JSONResponse(
        {"error": error, "description": description, "error_description": description}, status_code=status
    )


def create_app(state: SimulatorState) -> FaultMiddleware:
    """Build the ASGI app (FastAPI wrapped in the fault middleware)."""
    app = FastAPI(title="Genesys Cloud simulator", docs_url="/_sim/docs", openapi_url="/_sim/openapi.json")
    app.state.sim = state

    @app.post("/oauth/token")
    async def oauth_token(request: Request) -> Response:
        state.stats.add("token_requests")
        form = dict(await request.form())
        credentials = _client_credentials(request, form)
        grant = form.get("grant_type")
        if grant is None:
            state.stats.add("token_failures")
            return _oauth_error(400, "invalid_request", "Missing grant_type")
        if grant != "client_credentials":
            state.stats.add("token_failures")
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        if credentials != (state.config.client_id, state.config.client_secret):
            state.stats.add("token_failures")
            return _oauth_error(401, "invalid_client", "authentication failed")
        token = state.tokens.issue(state.config.client_id)
        state.stats.add("tokens_issued")
        return _json(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": state.config.token_ttl_seconds,
            }
        )

    async def api_call(request: Request, handler: Callable[[bytes], Any], status: int = 200) -> Response:
        """Authenticate, spend rate-limit budget, run the handler in a thread, count the answer."""
        headers: dict[str, str] = {}
        try:
            token = state.tokens.check(request.headers.get("authorization"))
            scope = token.client_id if state.config.rate_limit_scope == "client" else token.value
            allowed, count, reset = state.limiter.take(scope)
            headers = state.limiter.headers(count, reset)
            if not allowed:
                state.stats.add("rate_limited")
                raise too_many_requests(reset)
            if not state.config.analytics_permission and request.url.path.startswith(DETAILS):
                raise missing_permission(DETAILS_PERMISSION)
            raw = await request.body()
            payload = await run_in_threadpool(handler, raw)
            if isinstance(payload, RenderedPage):
                state.stats.add("conversations_returned", payload.conversations)
                response = Response(
                    payload.body, status_code=status, headers=headers, media_type="application/json"
                )
            elif payload is None:
                response = Response(status_code=204, headers=headers)
            else:
                if isinstance(payload, dict) and "conversations" in payload:
                    state.stats.add("conversations_returned", len(payload["conversations"]))
                response = _json(payload, status, headers)
        except ApiError as exc:
            response = exc.response()
            response.headers.update(headers)
        state.stats.record_api(path_template(request.url.path), response.status_code)
        return response

    @app.post(f"{DETAILS}/query")
    async def details(request: Request) -> Response:
        return await api_call(request, state.details)

    @app.post(f"{DETAILS}/jobs")
    async def submit_job(request: Request) -> Response:
        def handler(raw: bytes) -> Json:
            result = state.jobs.submit(raw, state.injector.profile.job_failure_probability)
            state.stats.add("jobs_created")
            return result

        return await api_call(request, handler, status=202)

    @app.get(f"{DETAILS}/jobs/availability")
    async def availability(request: Request) -> Response:
        return await api_call(request, lambda _raw: state.jobs.availability())

    @app.get(f"{DETAILS}/jobs/{{job_id}}")
    async def job_status(request: Request, job_id: str) -> Response:
        return await api_call(request, lambda _raw: state.jobs.status(job_id))

    @app.get(f"{DETAILS}/jobs/{{job_id}}/results")
    async def job_results(request: Request, job_id: str) -> Response:
        cursor = request.query_params.get("cursor") or None
        size_text = request.query_params.get("pageSize")

        def handler(_raw: bytes) -> Json:
            try:
                size = int(size_text) if size_text else None
            except ValueError:
                raise ApiError(400, "invalid.value", f"Invalid value for pageSize: {size_text}") from None
            return state.jobs.results(job_id, cursor, size)

        return await api_call(request, handler)

    @app.delete(f"{DETAILS}/jobs/{{job_id}}")
    async def delete_job(request: Request, job_id: str) -> Response:
        def handler(_raw: bytes) -> None:
            state.jobs.delete(job_id)

        return await api_call(request, handler, status=204)

    @app.api_route("/api/v2/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown_api(request: Request, rest: str) -> Response:
        def handler(_raw: bytes) -> None:
            raise not_found(f"Resource not found: /api/v2/{rest}")

        return await api_call(request, handler)

    # -- admin ----------------------------------------------------------------------------------
    @app.get("/_sim/stats")
    async def stats() -> Response:
        return _json({**state.stats.snapshot(), "page_cache": state.pages.snapshot()})

    @app.get("/_sim/health")
    async def health() -> Response:
        return _json({"status": "ok", **state.clock_info()})

    @app.post("/_sim/reset")
    async def reset() -> Response:
        state.reset()
        return _json({"reset": True})

    @app.get("/_sim/faults")
    async def get_faults() -> Response:
        return _json(state.injector.profile.to_dict())

    @app.post("/_sim/faults")
    async def set_faults(body: FaultRequest) -> Response:
        extra = dict(body.model_extra or {})
        try:
            if body.profile is not None and not extra:
                profile = state.set_faults(body.profile)
            else:
                if body.profile is not None:
                    extra["name"] = body.profile
                profile = state.set_faults(extra)
        except (ValueError, TypeError) as exc:
            return ApiError(400, "invalid.value", str(exc)).response()
        return _json(profile.to_dict())

    @app.get("/_sim/clock")
    async def get_clock() -> Response:
        return _json(state.clock_info())

    @app.post("/_sim/clock")
    async def set_clock(body: ClockRequest) -> Response:
        try:
            now = datetime.fromisoformat(body.now.replace("Z", "+00:00")) if body.now else None
        except ValueError:
            return ApiError(400, "invalid.value", f"Invalid now: {body.now}").response()
        if body.real:
            state.set_clock(None)
        elif now is not None or body.advanceSeconds is not None:
            if now is not None:
                state.set_clock(now)
            if body.advanceSeconds:
                state.clock.advance(body.advanceSeconds)
        return _json(state.clock_info())

    @app.post("/_sim/tokens/revoke")
    async def revoke() -> Response:
        return _json({"revoked": state.revoke_tokens()})

    def on_fault(kind: str, path: str, status: int) -> None:
        state.stats.fault(kind)
        if status:
            state.stats.record_api(path_template(path), status)

    return FaultMiddleware(app, state.injector, on_fault, state.revoke_tokens)
