"""Hook for the Genesys Cloud Platform API: OAuth client credentials, request budget and retries."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
import requests
from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception

from genesys_es import __version__
from genesys_es.exceptions import (
    GenesysAuthError,
    GenesysCredentialsError,
    GenesysError,
    GenesysRateLimitError,
    GenesysRetryableError,
)
from genesys_es.extract.models import TokenResponse
from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.rate_limit import RequestBudget
from genesys_es.extract.shared_budget import ElasticsearchBudgetStore, SharedRequestBudget, budget_key
from genesys_es.hooks.genesys_http import ConnectionSettings, decode, error_body, retry_after

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def _retryable(exc: BaseException) -> bool:
    """Return True for failures worth another try: connection errors, timeouts, 5xx, 429, broken bodies.

    :param exc: the exception raised by one attempt.
    """
    if isinstance(exc, GenesysRetryableError):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    )


@dataclass
class _CallRetries:
    """Per-call retry bookkeeping (429s do not count against the attempt limit)."""

    failures: int = 0
    reauthentications: int = 0


class GenesysCloudHook(BaseHook):
    """Talk to the Genesys Cloud Platform API with OAuth client credentials.

    The connection (type ``genesys_cloud``): login = client id, password = client secret, extras ``region``
    (default ``us_east_1``), ``base_url`` (one host for OAuth and API, e.g. the simulator) and
    ``requests_per_minute`` (default 300). The hook is safe to use from several threads: they share one
    pooled session, one OAuth token and one request budget.

    :param genesys_conn_id: the ``genesys_cloud`` connection to use.
    :param max_concurrency: most requests in flight at once (sizes the HTTP connection pool).
    :param timeout: ``(connect, read)`` timeout in seconds of every request.
    :param requests_per_minute: override the connection's budget (0 = unlimited).
    :param budget_store: where the OAuth client's budget is shared with every other task and run
        (:class:`~genesys_es.extract.shared_budget.ElasticsearchBudgetStore`); None keeps it in this hook alone.
    :param burst: requests allowed back to back after an idle spell.
    :param budget_utilization: fraction of the budget actually spent; the small margin absorbs network
        jitter at the server's window boundaries, so a paced run meets no 429.
    :param retry_limit: most attempts of one request for failures other than 429.
    :param retry_max_seconds: most seconds spent retrying one request, 429 waits included.
    :param retry_min_wait: first exponential backoff wait in seconds.
    :param retry_max_wait: largest exponential backoff wait in seconds.
    :param token_lead_seconds: refresh the token this long before it expires (at most a quarter of its life).
    :param reauth_limit: new tokens fetched for one request after 401s before giving up (a revoked token
        costs one; a second allows for a revocation racing the first refresh).
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = "genesys_cloud"
    hook_name = "Genesys Cloud"

    def __init__(
        self,
        genesys_conn_id: str = default_conn_name,
        *,
        max_concurrency: int = 4,
        timeout: tuple[float, float] = (10, 60),
        requests_per_minute: float | None = None,
        budget_store: ElasticsearchBudgetStore | None = None,
        burst: int = 1,
        budget_utilization: float = 0.98,
        retry_limit: int = 8,
        retry_max_seconds: float = 600,
        retry_min_wait: float = 0.5,
        retry_max_wait: float = 30,
        token_lead_seconds: float = 300,
        reauth_limit: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.genesys_conn_id = genesys_conn_id
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.requests_per_minute_override = requests_per_minute
        self.budget_store = budget_store
        self.burst = burst
        if not 0 < budget_utilization <= 1:
            raise ValueError(f"budget_utilization must be in (0, 1], got {budget_utilization}")
        self.budget_utilization = budget_utilization
        self.retry_limit = retry_limit
        self.retry_max_seconds = retry_max_seconds
        self.retry_min_wait = retry_min_wait
        self.retry_max_wait = retry_max_wait
        self.token_lead_seconds = token_lead_seconds
        self.reauth_limit = reauth_limit
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        self._token: str | None = None
        self._token_refresh_at = 0.0
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stats: dict[str, int] = {
            "requests": 0,
            "token_requests": 0,
            "retries": 0,
            "rate_limited": 0,
            "reauthentications": 0,
        }

    # -- connection -----------------------------------------------------------------------------------

    @cached_property
    def _settings(self) -> ConnectionSettings:
        """Read the Airflow connection once (the secret is registered with the masker)."""
        settings = ConnectionSettings.from_connection(
            self.get_connection(self.genesys_conn_id), self.requests_per_minute_override
        )
        mask_secret(settings.client_secret)
        return settings

    @property
    def api_base(self) -> str:
        """Return the API base URL (``https://api.<domain>`` or the ``base_url`` extra)."""
        return self._settings.api_base

    @property
    def login_base(self) -> str:
        """Return the OAuth base URL (``https://login.<domain>`` or the ``base_url`` extra)."""
        return self._settings.login_base

    @cached_property
    def budget(self) -> RequestBudget | SharedRequestBudget:
        """Return the request budget the hook's threads spend (shared with other tasks when a store is set)."""
        rate = self._settings.requests_per_minute * self.budget_utilization
        if self.budget_store is not None and rate > 0:
            key = budget_key(self.api_base, self._settings.client_id)
            return SharedRequestBudget(self.budget_store, key, rate)
        return RequestBudget(rate, burst=self.burst)

    def get_conn(self) -> requests.Session:
        """Return the pooled session, built on first use and sized for ``max_concurrency``."""
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    session = requests.Session()
                    adapter = HTTPAdapter(
                        pool_connections=2, pool_maxsize=self.max_concurrency + 2, max_retries=0
                    )
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    # Proxies and CA bundle come from the environment as with plain requests; a .netrc
                    # does not (a no-op session auth keeps it from replacing the bearer token).
                    session.auth = lambda request: request
                    session.headers.update(
                        {"Accept": "application/json", "User-Agent": f"genesys-es/{__version__}"}
                    )
                    self._session = session
        return self._session

    def close(self) -> None:
        """Close the pooled session."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def __enter__(self) -> GenesysCloudHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statistics -----------------------------------------------------------------------------------

    def _bump(self, key: str, by: int = 1) -> None:
        with self._stats_lock:
            self._stats[key] += by

    @property
    def stats(self) -> dict[str, int]:
        """Return counters: API requests sent, token requests, retries, 429s met, re-authentications."""
        with self._stats_lock:
            return dict(self._stats)

    @property
    def retries(self) -> int:
        """Return how many retries the hook has made so far (all calls, all threads)."""
        with self._stats_lock:
            return self._stats["retries"]

    # -- OAuth ----------------------------------------------------------------------------------------

    def _fetch_token(self) -> None:
        """Request a new token with the client credentials grant (caller holds the token lock)."""
        settings = self._settings
        self._bump("token_requests")
        response = self.get_conn().post(
            f"{settings.login_base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(settings.client_id, settings.client_secret),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=self.timeout,
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise GenesysRetryableError(
                f"OAuth token request answered {response.status_code}",
                status=response.status_code,
                retry_after=retry_after(response) if response.status_code == 429 else None,
            )
        if response.status_code >= 400:
            body = error_body(response, response.content)
            raise GenesysCredentialsError(
                f"Genesys Cloud refused the OAuth client credentials of client id {settings.client_id!r} "
                f"at {settings.login_base} ({response.status_code} {body.code or ''}: "
                f"{body.message or 'no message'})",
                f"check the connection {self.genesys_conn_id!r}",
            )
        try:
            token = TokenResponse.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValueError) as err:
            raise GenesysRetryableError(f"invalid OAuth token response: {type(err).__name__}") from None
        mask_secret(token.access_token)
        lead = min(self.token_lead_seconds, token.expires_in / 4)
        self._token = token.access_token
        self._token_refresh_at = time.monotonic() + token.expires_in - lead
        self.log.info("Fetched a Genesys Cloud OAuth token valid for %ss", int(token.expires_in))

    def _get_token(self, stale: str | None = None) -> str:
        """Return a valid token, fetching one when none is cached, it is about to expire, or was refused.

        :param stale: a token the API just refused; it is replaced unless another thread already did so.
        """
        with self._token_lock:
            if stale is not None and self._token == stale:
                self._token = None
            if self._token is None or time.monotonic() >= self._token_refresh_at:
                self._fetch_token()
            assert self._token is not None
            return self._token

    # -- requests -------------------------------------------------------------------------------------

    def _send_once(self, method: str, path: str, body: dict[str, Any] | None, calls: _CallRetries) -> Any:
        """Send one request within the budget; on a 401 fetch a new token and send it again."""
        session = self.get_conn()
        url = f"{self.api_base}{path}"
        data = orjson.dumps(body) if body is not None else None
        token = self._get_token()
        while True:
            self.budget.acquire()
            self._bump("requests")
            response = session.request(
                method,
                url,
                data=data,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=self.timeout,
            )
            content = response.content
            if response.status_code != 401:
                return self._parse(response, content, method, path)
            if calls.reauthentications >= self.reauth_limit:
                body_401 = error_body(response, content)
                raise GenesysAuthError(
                    f"Genesys Cloud refused a freshly fetched token for {method} {path} "
                    f"(401 {body_401.code or ''}: {body_401.message or 'no message'})",
                    "check the OAuth client's grant and roles",
                )
            calls.reauthentications += 1
            self.log.warning("Genesys Cloud answered 401 to %s %s; fetching a new token", method, path)
            self._bump("reauthentications")
            token = self._get_token(stale=token)

    def _parse(self, response: requests.Response, content: bytes, method: str, path: str) -> Any:
        """Return the decoded body of a 2xx response; on a 429 pause the budget and raise to retry."""
        if response.status_code == 429:
            wait = retry_after(response)
            self._bump("rate_limited")
            if wait is not None:
                self.budget.pause(wait)
            raise GenesysRateLimitError(f"429 rate limited on {method} {path}", status=429, retry_after=wait)
        return decode(response, content, method, path)

    def _wait(self, retry_state: RetryCallState) -> float:
        """Return the wait before the next attempt: exactly Retry-After for a 429, else backoff with jitter."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, GenesysRetryableError) and exc.retry_after is not None:
            return exc.retry_after
        failures = max(1, retry_state.attempt_number)
        backoff = min(self.retry_max_wait, self.retry_min_wait * 2 ** (failures - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send an API request with budget, token, retries; return the decoded JSON body.

        :param method: HTTP method.
        :param path: path under the API base, e.g. ``/api/v2/analytics/conversations/details/query``.
        :param body: JSON body.
        """
        calls = _CallRetries()

        def stop(retry_state: RetryCallState) -> bool:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            if not isinstance(exc, GenesysRateLimitError):
                calls.failures += 1
            if calls.failures >= self.retry_limit:
                return True
            return (retry_state.seconds_since_start or 0.0) >= self.retry_max_seconds

        def before_sleep(retry_state: RetryCallState) -> None:
            self._bump("retries")
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
            self.log.warning(
                "Genesys Cloud %s %s failed (%s: %s); retry %d in %.2fs",
                method,
                path,
                type(exc).__name__,
                exc,
                retry_state.attempt_number,
                wait,
            )

        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=self._wait,
            stop=stop,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(self._send_once, method, path, body, calls)

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and count the last hour's conversations; report the outcome for the UI."""
        try:
            end = datetime.now(UTC).replace(microsecond=0)
            hits = ConversationPager(self).count(end - timedelta(hours=1), end)
        except GenesysCredentialsError as err:
            # The UI tests a form under a temporary connection id: point at the fields the user typed instead.
            return False, f"{type(err).__name__}: {err.detail}; check the client id and secret"
        except (GenesysError, ValueError, requests.RequestException) as err:
            return False, f"{type(err).__name__}: {err}"
        return True, f"Connected to Genesys Cloud at {self.api_base}: {hits} conversations in the last hour"


def genesys_hook(genesys_conn_id: str, es: Elasticsearch, **kwargs: Any) -> GenesysCloudHook:
    """Return a hook whose requests spend the OAuth client's one budget, shared in Elasticsearch.

    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param es: the Elasticsearch client holding the budget (``genesys-request-budget``).
    :param kwargs: more :class:`GenesysCloudHook` arguments.
    """
    return GenesysCloudHook(genesys_conn_id, budget_store=ElasticsearchBudgetStore(es), **kwargs)
