"""Bad input, property-based: odd run params and odd API responses never crash, loop or lose data.

Params either become a valid :class:`RunConfig` or raise :class:`RunConfigError` listing the problems.
Conversations with missing, extra or wrongly typed fields go through the real extraction and bulk code
into the real node; each ends up indexed (with the document the pipeline promises), dead-lettered with
a reason, reported invalid, or reported as outside the partition / a duplicate id: never lost.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from genesys_es.extract.models import ConversationQueryResponse
from genesys_es.instants import parse as parse_time
from genesys_es.load.bulk import BulkWriter
from genesys_es.load.index_setup import deadletter_index, ensure_index_resources
from genesys_es.load.ingest import PartitionStats, conversation_actions, deadletter_invalid
from genesys_es.run_config import KNOWN_PARAMS, MAX_RANGE_DAYS, RunConfig, RunConfigError, build_run_config
from genesys_es.transform.documents import build_document
from genesys_es.transform.pii import PiiPolicy
from include.genesys_simulator.app import SimulatorState
from include.genesys_simulator.config import SimulatorConfig
from tests.faults.conftest import DAY, DAY_END, DAY_START, whole_day_partition

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PARAM_NAMES = (
    "date_from",
    "date_to",
    "index_prefix",
    "mode",
    "pii",
    "page_size",
    "pages_per_partition",
    "deadletter_threshold",
    "refresh_open_days",
    "dry_run",
    "chaos_fail_partitions",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "2026-11-04",
            "2026-11-04T10:00:00Z",
            "2026-11-04T10:00:00+05:00",
            "2026-11-05T01:00:00.000Z",
            "2026-11-04T00:30:00-01:00",
            "not a date",
            "20261104",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
param_values = (
    json_values
    | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(lambda d: d.isoformat())
    | st.dates(min_value=date(2026, 10, 1), max_value=date(2026, 12, 31))
    | st.datetimes(timezones=st.just(UTC))
    | st.integers(min_value=-5, max_value=2000)
    | st.sampled_from(["upsert", "rebuild", "drop", "hash", "keep", "genesys-conversations", "Bad Prefix"])
    | st.lists(st.text(max_size=10), max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(
    params=st.dictionaries(st.sampled_from(PARAM_NAMES) | st.text(max_size=6), param_values, max_size=8),
    logical_date=st.none() | st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
)
def test_any_params_give_a_valid_config_or_a_clear_error(
    params: dict[str, Any], logical_date: datetime | None
) -> None:
    try:
        config = build_run_config(params, logical_date, now=NOW)
    except RunConfigError as exc:
        assert str(exc).startswith("invalid run params: ") and len(str(exc)) > len("invalid run params: ")
        return
    # A config that passed is usable as is: bounded, in the past, JSON-serializable for XCom, stable.
    assert set(params) <= KNOWN_PARAMS, "an unknown param must be refused, not ignored"
    assert 1 <= len(config.days) <= MAX_RANGE_DAYS
    days = [date.fromisoformat(d) for d in config.days]
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
    assert days[0] <= NOW.date()
    assert config.start < config.end
    assert 1 <= config.page_size <= 100 and 1 <= config.pages_per_partition <= 1000
    assert config.mode in ("upsert", "rebuild") and config.pii in ("drop", "hash", "keep")
    assert config.deadletter_threshold >= 0 and 0 <= config.refresh_open_days <= 31
    assert all(isinstance(label, str) for label in config.chaos_fail_partitions)
    assert RunConfig.from_xcom(json.loads(json.dumps(config.to_xcom()))) == config


@settings(max_examples=200, deadline=None)
@given(
    body=st.dictionaries(st.sampled_from(["conversations", "totalHits"]) | st.text(max_size=6), json_values)
)
def test_any_details_response_body_validates_or_fails_clearly(body: dict[str, Any]) -> None:
    """A page body is either accepted (conversations as plain dicts, nothing dropped) or a ValidationError."""
    try:
        response = ConversationQueryResponse.model_validate(body)
    except ValidationError:
        return
    given_conversations = body.get("conversations") or []
    assert response.conversations == given_conversations
    assert all(isinstance(c, dict) for c in response.conversations)
    assert isinstance(response.total_hits, int) and response.total_hits >= 0


# --- mutated conversations through extraction and the bulk writer into the real node ---------------


def _base_conversations() -> list[dict[str, Any]]:
    state = SimulatorState(SimulatorConfig(seed=41, conversations_per_day=300, volume_overrides={DAY: 300}))
    conversations = state.dataset.conversations(DAY_START, DAY_END)
    # A spread of media types and shapes (voice with IVR/queue/agent, email, chat, callbacks...).
    by_shape: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in conversations:
        shape = (
            tuple(sorted({s.get("mediaType") for p in c["participants"] for s in p.get("sessions", [])})),
            len(c["participants"]),
        )
        by_shape.setdefault(shape, c)
    return list(by_shape.values())


BASES = _base_conversations()
_ids = itertools.count()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the paths of every field and list item below a JSON value."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((*prefix, key))
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((*prefix, i))
            out.extend(_paths(item, (*prefix, i)))
    return out


def _mutate(conversation: dict[str, Any], data: st.DataObject) -> None:
    """Delete a field, replace a value with one of another type, or add an unknown field."""
    everywhere = _paths(conversation)
    top_level = [(key,) for key in conversation] or everywhere
    # Half the time a top-level field (id, start, end, participants...), else any field at any depth.
    path = data.draw(st.sampled_from(data.draw(st.sampled_from([top_level, everywhere]))))
    parent = conversation
    for key in path[:-1]:
        parent = parent[key]
    op = data.draw(st.sampled_from(["delete", "replace", "add"]))
    if op == "delete":
        del parent[path[-1]]
    elif op == "replace":
        parent[path[-1]] = data.draw(json_values)
    elif isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=10))] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))


@pytest.fixture(scope="module")
def bad_input_prefix(es: Elasticsearch):
    prefix = f"fbad{next(_ids)}{datetime.now(UTC):%H%M%S%f}"
    ensure_index_resources(es, prefix)
    yield prefix
    es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=prefix)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_conversations_are_indexed_dead_lettered_or_reported(
    data: st.DataObject, es: Elasticsearch, bad_input_prefix: str
) -> None:
    prefix = bad_input_prefix
    partition = whole_day_partition()
    batch: list[dict[str, Any]] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="conversations")):
        conversation = copy.deepcopy(data.draw(st.sampled_from(BASES)))
        conversation["conversationId"] = f"hyp-{next(_ids):06d}-{conversation['conversationId'][:8]}"
        for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
            _mutate(conversation, data)
        # As the API delivers it: through JSON and the response model.
        batch.append(orjson.loads(orjson.dumps(conversation)))
    try:
        batch = ConversationQueryResponse.model_validate({"conversations": batch}).conversations
    except ValidationError as exc:
        # Only a page whose conversations are not JSON objects is refused as a whole.
        assert any(not isinstance(c, dict) for c in batch), str(exc)
        return
    inputs = copy.deepcopy(batch)

    stats = PartitionStats()
    actions = list(
        conversation_actions(
            batch,
            partition,
            index_prefix=prefix,
            pii=PiiPolicy(mode="drop"),
            run_id="hyp",
            label="hyp",
            stats=stats,
        )
    )
    assert batch == inputs, "extraction modified the API response"
    context = {"runId": "hyp", "partition": partition.label}
    result = BulkWriter(es, deadletter_index=deadletter_index(prefix), deadletter_context=context).write(
        actions
    )
    invalid = deadletter_invalid(
        es, deadletter_index(prefix), stats.invalid, context, pii=PiiPolicy(mode="drop")
    )

    # Every input is accounted for.
    assert len(batch) == len(stats.invalid) + stats.outside_partition + stats.duplicates + len(actions)
    assert invalid == len(stats.invalid)
    assert result.indexed + result.deadlettered == len(actions) and not result.failed_ids
    for item in stats.invalid:
        assert item["reason"]
        event("reported invalid")
    for name in ("outside_partition", "duplicates"):
        if getattr(stats, name):
            event(f"reported {name}")
    if result.deadlettered:
        event("dead-lettered by Elasticsearch")
    if result.indexed:
        event("indexed")
    seen: set[str] = set()
    for conversation in batch:
        doc_id = conversation.get("conversationId")
        try:
            build_document(conversation, pii=PiiPolicy(mode="drop"))
        except ValueError:
            continue  # reported invalid (checked above by count)
        start = parse_time(conversation["conversationStart"])
        if not DAY_START <= start < DAY_END:
            continue  # belongs to another partition, counted as outside_partition
        if doc_id in seen:
            continue  # the same id twice in one page: written once, counted as a duplicate
        seen.add(doc_id)
        action = next(a for a in actions if a["_id"] == doc_id)
        got = es.options(ignore_status=404).get(index=action["_index"], id=doc_id)
        if got.meta.status == 200:
            stored = dict(got["_source"])
            expected = orjson.loads(orjson.dumps(action["_source"]))
            assert stored == expected
            assert stored["conversationId"] == doc_id
        else:
            dead = es.get(index=deadletter_index(prefix), id=f"{action['_index']}|{doc_id}")["_source"]
            assert dead["status"] == 400 and dead["reason"] and dead["conversationId"] == doc_id
