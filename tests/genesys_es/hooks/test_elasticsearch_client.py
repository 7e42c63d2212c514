"""ElasticsearchClientHook: client from an Airflow connection, secrets never logged."""

from __future__ import annotations

import json
import logging

import pytest

from genesys_es.hooks.elasticsearch_client import (
    ElasticsearchClientHook,
    build_hosts,
    client_kwargs,
    describe,
)
from genesys_es.transform.serialization import OrjsonSerializer

SECRET_PASSWORD = "s3cr3t-pa55word-for-test"
SECRET_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def test_hosts_from_host_port_schema() -> None:
    assert build_hosts("es.example", 9243, "https") == ["https://es.example:9243"]
    assert build_hosts("es.example", None, None) == ["http://es.example:9200"]
    assert build_hosts("https://a.example:443, b.example", 9200, "https") == [
        "https://a.example:443",
        "https://b.example:9200",
    ]
    with pytest.raises(ValueError, match="no host"):
        build_hosts("", 9200, "http")
    with pytest.raises(ValueError, match="schema"):
        build_hosts("es", 9200, "ftp")


def test_api_key_wins_over_basic_auth_and_tls_extras() -> None:
    kwargs = client_kwargs(
        host="es.example",
        port=9200,
        schema="https",
        login="elastic",
        password=SECRET_PASSWORD,
        extra={
            "api_key": SECRET_KEY,
            "verify_certs": "false",
            "ca_certs": "/etc/ca.pem",
            "request_timeout": "12",
        },
    )
    assert kwargs["api_key"] == SECRET_KEY and "basic_auth" not in kwargs
    assert kwargs["verify_certs"] is False and kwargs["ca_certs"] == "/etc/ca.pem"
    assert kwargs["request_timeout"] == 12.0
    assert isinstance(kwargs["serializer"], OrjsonSerializer)
    text = describe(kwargs)
    assert "api_key" in text and SECRET_KEY not in text and SECRET_PASSWORD not in text

    in_url = describe(client_kwargs(host=f"https://elastic:{SECRET_PASSWORD}@es.example:9243", extra={}))
    assert SECRET_PASSWORD not in in_url and "es.example:9243" in in_url

    basic = client_kwargs(host="es", login="elastic", password=SECRET_PASSWORD, extra={})
    assert basic["basic_auth"] == ("elastic", SECRET_PASSWORD)
    assert "verify_certs" not in basic  # plain http
    assert client_kwargs(host="es", schema="https", extra={})["verify_certs"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"verify_certs": "maybe"}, "verify_certs"),
        ({"request_timeout": "soon"}, "request_timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_extras_raise_clear_errors(extra: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client_kwargs(host="es", schema="https", extra=extra)


def test_hook_builds_a_working_client_without_logging_secrets(
    es_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture,
) -> None:
    scheme, _, hostport = es_url.partition("://")
    host, _, port = hostport.partition(":")
    conn = {
        "conn_type": "elasticsearch",
        "host": host,
        "port": int(port),
        "schema": scheme,
        "login": "elastic",
        "password": SECRET_PASSWORD,
        "extra": {"request_timeout": 20},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_ES_TEST", json.dumps(conn))
    caplog.set_level(logging.DEBUG)
    hook = ElasticsearchClientHook(elasticsearch_conn_id="genesys_es_test")
    client = hook.get_conn()
    try:
        assert hook.get_conn() is client
        # security is off on the test node, so basic auth is accepted and ignored
        assert client.cluster.health()["status"] in ("green", "yellow")
        assert client._request_timeout == 20.0  # the connection extra reached the client
    finally:
        hook.close()
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert SECRET_PASSWORD not in logs
