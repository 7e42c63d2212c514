"""Hook that builds an ``elasticsearch.Elasticsearch`` client from an Airflow ``elasticsearch`` connection."""

from __future__ import annotations

import logging
import re
from typing import Any

from airflow.sdk import BaseHook
from elasticsearch import Elasticsearch

from genesys_es.transform.serialization import OrjsonSerializer

DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
_USERINFO_RE = re.compile(r"://[^/@]*@")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"connection extra {name!r} must be true or false, got {value!r}")


def _as_number(name: str, value: Any, cast: type) -> Any:
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise ValueError(f"connection extra {name!r} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"connection extra {name!r} must not be negative, got {value!r}")
    return number


def build_hosts(host: str | None, port: int | None, schema: str | None) -> list[str]:
    """Return node URLs from a connection's host (one or comma-separated), port and schema.

    :param host: host name, ``host:port`` or a full URL; several separated by commas.
    :param port: default port (9200 when empty).
    :param schema: ``http`` or ``https`` (``http`` when empty).
    """
    if not host or not host.strip():
        raise ValueError("the Elasticsearch connection has no host")
    scheme = (schema or "http").strip().lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"the Elasticsearch connection schema must be http or https, got {schema!r}")
    hosts = []
    for item in host.split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        if "://" not in item:
            item = f"{scheme}://{item}"
        scheme_part, _, rest = item.partition("://")
        if ":" not in rest.split("/", 1)[0]:
            item = f"{scheme_part}://{rest.split('/', 1)[0]}:{port or 9200}" + (
                "/" + rest.split("/", 1)[1] if "/" in rest else ""
            )
        hosts.append(item)
    return hosts


def client_kwargs(
    *,
    host: str | None,
    port: int | None = None,
    schema: str | None = None,
    login: str | None = None,
    password: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return keyword arguments for ``Elasticsearch(...)`` from connection fields.

    Extras: ``api_key`` (encoded string, or ``[id, key]``), ``verify_certs``, ``ca_certs``,
    ``request_timeout``, ``max_retries``, ``retry_on_timeout``, ``http_compress``. An API key wins
    over login/password.

    :param host: host, ``host:port`` or URL (comma-separated for several nodes).
    :param port: default port.
    :param schema: ``http`` or ``https``.
    :param login: basic-auth user.
    :param password: basic-auth password.
    :param extra: the connection's extras.
    """
    extra = dict(extra or {})
    kwargs: dict[str, Any] = {
        "hosts": build_hosts(host, port, schema),
        "request_timeout": _as_number(
            "request_timeout", extra.get("request_timeout", DEFAULT_REQUEST_TIMEOUT), float
        ),
        "max_retries": _as_number("max_retries", extra.get("max_retries", DEFAULT_MAX_RETRIES), int),
        "retry_on_timeout": _as_bool("retry_on_timeout", extra.get("retry_on_timeout", True)),
        "serializer": OrjsonSerializer(),
    }
    if "http_compress" in extra:
        kwargs["http_compress"] = _as_bool("http_compress", extra["http_compress"])
    api_key = extra.get("api_key")
    if api_key:
        kwargs["api_key"] = tuple(api_key) if isinstance(api_key, list | tuple) else str(api_key)
    elif login:
        kwargs["basic_auth"] = (login, password or "")
    if any(url.startswith("https://") for url in kwargs["hosts"]):
        kwargs["verify_certs"] = _as_bool("verify_certs", extra.get("verify_certs", True))
        if extra.get("ca_certs"):
            kwargs["ca_certs"] = str(extra["ca_certs"])
        if not kwargs["verify_certs"]:
            kwargs["ssl_show_warn"] = False
    return kwargs


def describe(kwargs: dict[str, Any]) -> str:
    """Return a loggable description of client kwargs (hosts and auth method, never a secret).

    :param kwargs: the output of :func:`client_kwargs`.
    """
    auth = "api_key" if "api_key" in kwargs else "basic" if "basic_auth" in kwargs else "none"
    hosts = [_USERINFO_RE.sub("://***@", url) for url in kwargs["hosts"]]
    tls = "" if "verify_certs" not in kwargs else f", verify_certs={kwargs['verify_certs']}"
    return f"hosts={hosts}, auth={auth}{tls}, request_timeout={kwargs['request_timeout']}"


class ElasticsearchClientHook(BaseHook):
    """Build an Elasticsearch client from an Airflow ``elasticsearch`` connection.

    :param elasticsearch_conn_id: the connection id (host, port, schema, login/password or extra
        ``api_key``, extras ``verify_certs``, ``ca_certs``, ``request_timeout``).
    """

    conn_name_attr = "elasticsearch_conn_id"
    default_conn_name = "elasticsearch_default"
    conn_type = "elasticsearch"
    hook_name = "Elasticsearch (genesys-es client)"

    def __init__(self, elasticsearch_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self._client: Elasticsearch | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Return the ``Elasticsearch(...)`` keyword arguments for this hook's connection."""
        conn = self.get_connection(self.elasticsearch_conn_id)
        return client_kwargs(
            host=conn.host,
            port=conn.port,
            schema=conn.schema,
            login=conn.login,
            password=conn.password,
            extra=conn.extra_dejson,
        )

    def get_conn(self) -> Elasticsearch:
        """Return a client for the connection (created once per hook, orjson serializer)."""
        if self._client is None:
            # One INFO line per request would bury a task's own story: the client's request log stays at
            # WARNING (errors and retries) unless this hook's logger asks for DEBUG.
            if not self.log.isEnabledFor(logging.DEBUG):
                logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)
            kwargs = self.client_kwargs()
            self.log.info(
                "Connecting to Elasticsearch (%s): %s", self.elasticsearch_conn_id, describe(kwargs)
            )
            self._client = Elasticsearch(**kwargs)
        return self._client

    def close(self) -> None:
        """Close the client's connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None
