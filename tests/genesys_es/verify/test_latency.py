"""Latency probes from include/latency_probes against the real node."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from genesys_es.verify.latency import (
    DEFAULT_PROBES_PATH,
    Probe,
    fill,
    load_probes,
    percentile,
    run_probes,
    sample_parameters,
)
from tests.genesys_es.verify.test_counts import (
    AGENTS,
    DAY,
    QUEUES,
    WRAPUPS,
    index_conversations,
    install_template,
)


@pytest.fixture
def alias(es: Elasticsearch, index_prefix: str) -> str:
    install_template(es, index_prefix)
    index_conversations(es, index_prefix, DAY, 200)
    return index_prefix


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7.0 and percentile([], 95) == 0.0
    with pytest.raises(ValueError):
        percentile(values, 120)


def test_shipped_probes_cover_the_required_searches() -> None:
    probes = load_probes()
    names = {p.name for p in probes}
    assert {"by_agent", "by_queue_and_wrapup", "time_histogram", "nested_participant", "text_search"} <= names
    text = json.dumps([p.request for p in probes])
    assert '"nested"' in text and '"date_histogram"' in text and "derived.searchText" in text
    assert len(list(DEFAULT_PROBES_PATH.glob("*.json"))) == len(probes)


def test_fill_placeholders() -> None:
    body = {"q": ["{{a}}", {"range": "{{a}}..{{ b }}"}], "n": 3}
    assert fill(body, {"a": "x", "b": "y"}) == {"q": ["x", {"range": "x..y"}], "n": 3}
    with pytest.raises(ValueError, match="placeholder"):
        fill(body, {"a": "x"})


def test_sampled_parameters_exist_in_the_index(es: Elasticsearch, alias: str) -> None:
    params = sample_parameters(es, alias, DAY, DAY + timedelta(days=1))
    assert params["userId"] in AGENTS and params["queueId"] in QUEUES and params["wrapUpCode"] in WRAPUPS
    assert params["start"] == "2024-03-05T00:00:00Z" and len(params["word"]) >= 4
    whole = sample_parameters(es, alias)
    assert whole["start"].startswith("2024-03-05")


def test_probes_run_and_measure(es: Elasticsearch, alias: str) -> None:
    params = sample_parameters(es, alias, DAY, DAY + timedelta(days=1))
    report = run_probes(es, alias, load_probes(), runs=5, warmup=2, params=params)
    by_name = {p.name: p for p in report.probes}
    assert set(by_name) == {p.name for p in load_probes()}
    for stats in report.probes:
        assert stats.runs == 5
        assert 0 < stats.client_p50_ms <= stats.client_p95_ms <= stats.client_max_ms
        assert stats.took_p50_ms <= stats.took_p95_ms <= stats.took_max_ms
        assert stats.took_max_ms <= stats.client_max_ms  # server time is part of the round trip
    # Every probe matches real documents with the sampled parameters.
    assert all(
        by_name[n].hits for n in ("by_agent", "by_queue_and_wrapup", "nested_participant", "text_search")
    )
    assert by_name["time_histogram"].hits == 200
    assert report.client_max_ms == max(p.client_max_ms for p in report.probes)
    assert report.meets(report.client_p95_ms) and not report.meets(report.client_p95_ms / 2)
    table = report.table()
    assert "ALL" in table and "by_agent" in table


def test_invalid_arguments(es: Elasticsearch, alias: str, tmp_path: Path) -> None:
    probe = Probe(name="all", request={"query": {"match_all": {}}})
    with pytest.raises(ValueError, match="runs"):
        run_probes(es, alias, [probe], runs=0, warmup=0, params={})
    with pytest.raises(ValueError, match="no latency probes"):
        load_probes(tmp_path)
    (tmp_path / "bad.json").write_text('{"name": "bad"}')
    with pytest.raises(ValueError, match="request"):
        load_probes(tmp_path)
