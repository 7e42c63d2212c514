"""Request validation and lossless responses of the details query models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from genesys_es.extract.models import (
    MAX_INTERVAL,
    PAGINATION_CAP,
    Conversation,
    ConversationQuery,
    ConversationQueryResponse,
    format_interval,
)
from genesys_es.instants import format_ms as format_instant
from genesys_es.instants import parse_strict as parse_instant

DAY = datetime(2024, 3, 1, tzinfo=UTC)
PLUS_ONE = timezone(timedelta(hours=1))


def test_build_produces_the_api_body():
    body = ConversationQuery.build(DAY, DAY + timedelta(days=1), page_number=3, page_size=50).to_body()
    assert body == {
        "interval": "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z",
        "order": "asc",
        "orderBy": "conversationStart",
        "paging": {"pageSize": 50, "pageNumber": 3},
    }


def test_naive_datetimes_are_utc_and_offsets_are_converted():
    naive = ConversationQuery.build(datetime(2024, 3, 1), datetime(2024, 3, 2)).interval
    offset = ConversationQuery.build(
        datetime(2024, 3, 1, 1, tzinfo=PLUS_ONE),
        datetime(2024, 3, 2, 1, tzinfo=PLUS_ONE),
    ).interval
    assert naive == offset == "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z"


@pytest.mark.parametrize(
    ("start", "end", "needle"),
    [
        (DAY, DAY, "before its end"),
        (DAY + timedelta(hours=1), DAY, "before its end"),
        (DAY, DAY + MAX_INTERVAL + timedelta(seconds=1), "longer than"),
    ],
)
def test_bad_intervals_are_rejected(start, end, needle):
    with pytest.raises(ValidationError, match=needle):
        ConversationQuery.build(start, end)


def test_max_interval_itself_is_accepted():
    ConversationQuery.build(DAY, DAY + MAX_INTERVAL)


@pytest.mark.parametrize("size", [0, -1, 101])
def test_page_size_must_be_1_to_100(size):
    with pytest.raises(ValidationError, match=r"pageSize|page_size"):
        ConversationQuery.build(DAY, DAY + timedelta(days=1), page_size=size)


def test_pagination_cap_is_enforced_before_sending():
    ok = PAGINATION_CAP // 100
    ConversationQuery.build(DAY, DAY + timedelta(days=1), page_number=ok, page_size=100)
    with pytest.raises(ValidationError, match="pagination cap"):
        ConversationQuery.build(DAY, DAY + timedelta(days=1), page_number=ok + 1, page_size=100)


def test_order_and_order_by_are_checked():
    with pytest.raises(ValidationError):
        ConversationQuery.build(DAY, DAY + timedelta(hours=1), order="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ConversationQuery.build(DAY, DAY + timedelta(hours=1), order_by="queueId")  # type: ignore[arg-type]


def test_malformed_interval_string_is_rejected():
    with pytest.raises(ValidationError, match="ISO-8601"):
        ConversationQuery.model_validate({"interval": "yesterday"})


def test_filters_are_validated_and_serialized():
    filters = {
        "segmentFilters": [
            {
                "type": "or",
                "predicates": [
                    {"dimension": "mediaType", "value": "voice"},
                    {"dimension": "mediaType", "value": "callback"},
                ],
            }
        ],
        "conversationFilters": [
            {"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "notExists"}]}
        ],
    }
    body = ConversationQuery.build(DAY, DAY + timedelta(hours=1), filters=filters).to_body()
    assert body["segmentFilters"][0]["predicates"][1] == {
        "type": "dimension",
        "dimension": "mediaType",
        "operator": "matches",
        "value": "callback",
    }
    assert body["conversationFilters"][0]["predicates"][0] == {
        "type": "dimension",
        "dimension": "conversationEnd",
        "operator": "notExists",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"segmentFilters": [{"type": "xor", "predicates": [{"dimension": "mediaType", "value": "voice"}]}]},
        {"segmentFilters": [{"type": "and", "predicates": []}]},
        {"segmentFilters": [{"type": "and", "predicates": [{"dimension": "mediaType"}]}]},
        {"segmentFilters": [{"predicates": [{"dimension": "x", "operator": "exists", "value": "v"}]}]},
        {"segmentFilters": [{"predicates": [{"type": "metric", "dimension": "x", "value": "v"}]}]},
        {"unknownFilters": []},
    ],
)
def test_bad_filters_are_rejected(bad):
    with pytest.raises(ValidationError):
        ConversationQuery.build(DAY, DAY + timedelta(hours=1), filters=bad)


def test_instants_round_trip():
    instant = datetime(2024, 3, 1, 9, 15, 7, 123000, tzinfo=UTC)
    assert format_instant(instant) == "2024-03-01T09:15:07.123Z"
    assert parse_instant(format_instant(instant)) == instant
    assert format_interval(instant, instant + timedelta(hours=1)).count("/") == 1


SAMPLE = {
    "conversationId": "c-1",
    "conversationStart": "2024-03-01T09:15:07.1Z",
    "originatingDirection": "inbound",
    "someFutureField": {"nested": [1, 2, {"x": None}]},
    "participants": [{"purpose": "customer", "sessions": [{"mediaType": "voice", "ani": "tel:+1555"}]}],
}


def test_response_keeps_every_field_of_every_conversation():
    raw = orjson.dumps({"conversations": [SAMPLE], "totalHits": 7, "aggregations": [{"x": 1}]})
    response = ConversationQueryResponse.model_validate(orjson.loads(raw))
    assert response.total_hits == 7
    assert orjson.loads(orjson.dumps(response.conversations[0])) == SAMPLE
    assert response.model_dump(by_alias=True)["aggregations"] == [{"x": 1}]


def test_empty_page_omits_conversations():
    response = ConversationQueryResponse.model_validate({"totalHits": 0})
    assert response.conversations == []


def test_conversation_without_id_is_kept_for_the_dead_letter_index():
    # The ingest reports it as invalid and dead-letters it (tests/genesys_es/load/test_ingest.py); one bad
    # conversation must not make its whole page unreadable.
    response = ConversationQueryResponse.model_validate(
        {"conversations": [{"conversationStart": "x"}, {"conversationId": "c1"}], "totalHits": 2}
    )
    assert response.conversations == [{"conversationStart": "x"}, {"conversationId": "c1"}]


def test_typed_conversation_view_is_lossless():
    conversation = Conversation.model_validate(SAMPLE)
    assert conversation.to_api() == SAMPLE
    assert conversation.is_open
    assert conversation.start == datetime(2024, 3, 1, 9, 15, 7, 100000, tzinfo=UTC)
