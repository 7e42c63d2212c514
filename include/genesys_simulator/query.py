"""The details query: validate a request body and answer one page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from include.genesys_simulator.bodies import ConversationQuery, dump
from include.genesys_simulator.dataset import NEVER_MS, Block, Dataset
from include.genesys_simulator.errors import PAGINATION_MESSAGE, ApiError, bad_request, invalid_value
from include.genesys_simulator.filters import FilterError, validate_filters
from include.genesys_simulator.volume import ms_of

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_RESULTS = 100_000
ORDERS = ("asc", "desc", "unordered")
ORDER_BYS = ("conversationStart", "conversationEnd", "segmentStart", "segmentEnd")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")

Json = dict[str, Any]


def parse_body(raw: bytes) -> Json:
    """Parse a JSON body or raise the 400 the API answers for malformed JSON."""
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise bad_request(
            "The request could not be understood by the server due to malformed syntax."
        ) from None
    if not isinstance(data, dict):
        raise bad_request("The request could not be understood by the server due to malformed syntax.")
    return data


def validation_error(exc: ValidationError) -> ApiError:
    """Turn a pydantic error into the API's 400 body."""
    errors = [
        {"message": f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}", "code": "bad.request", "status": 400}
        for e in exc.errors()
    ]
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        message = f'Unrecognized field "{field}"'
    elif first["type"] == "missing":
        message = f"Missing required field: {field}"
    else:
        message = f"Invalid value for {field}: {first['msg']}"
    return ApiError(400, "bad.request", message, errors=errors)


def _parse_instant(text: str) -> datetime:
    """Parse one ISO-8601 instant of an interval."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("interval instants need a time zone")
    return value


def parse_interval(interval: str) -> tuple[int, int]:
    """Parse "start/end" (or "start/duration") into epoch ms, raising invalid.value when malformed."""
    parts = interval.split("/")
    if len(parts) != 2:
        raise invalid_value(f"Invalid interval: {interval}")
    try:
        start = _parse_instant(parts[0])
        match = _DURATION.match(parts[1].strip())
        if match and parts[1].strip() != "P":
            days, hours, minutes, seconds = match.groups()
            end = start + timedelta(
                days=int(days or 0),
                hours=int(hours or 0),
                minutes=int(minutes or 0),
                seconds=float(seconds or 0),
            )
        else:
            end = _parse_instant(parts[1])
    except ValueError:
        raise invalid_value(f"Invalid interval: {interval}") from None
    s, e = ms_of(start), ms_of(end)
    if e <= s:
        raise invalid_value(f"Invalid interval: {interval}. The end must be after the start.")
    return s, e


@dataclass
class Plan:
    """A validated details query reduced to matching blocks."""

    blocks: list[Block]
    now_ms: int
    descending: bool


def check_filters(body: Json) -> None:
    """Validate conversation and segment filters."""
    try:
        validate_filters(body.get("conversationFilters"), segment_level=False)
        validate_filters(body.get("segmentFilters"), segment_level=True)
    except FilterError as exc:
        raise invalid_value(str(exc)) from None


def check_options(body: Json) -> tuple[str, str]:
    """Validate order, orderBy and filters; return (order, orderBy)."""
    order = body.get("order") or "asc"
    order_by = body.get("orderBy") or "conversationStart"
    if order not in ORDERS:
        raise invalid_value(f"Invalid value for order: {order}")
    if order_by not in ORDER_BYS:
        raise invalid_value(f"Invalid value for orderBy: {order_by}")
    check_filters(body)
    return order, order_by


def plan_query(
    dataset: Dataset, body: Json, start_ms: int, end_ms: int, overlap: bool = False, now_ms: int | None = None
) -> Plan:
    """Return the matching blocks of a query body as of now_ms (default: the simulated now)."""
    order, order_by = check_options(body)
    now = dataset.effective_now(start_ms, end_ms) if now_ms is None else now_ms
    blocks = dataset.blocks(start_ms, end_ms, now, overlap=overlap)
    unsupported = any(body.get(k) for k in ("evaluationFilters", "surveyFilters", "resolutionFilters"))
    if unsupported:
        blocks = []  # the simulated org has no evaluations, surveys or resolutions
    conv_f, seg_f = body.get("conversationFilters"), body.get("segmentFilters")
    if conv_f or seg_f or order_by != "conversationStart":
        key = (
            start_ms,
            end_ms,
            overlap,
            now,
            order_by,
            orjson.dumps(conv_f, option=orjson.OPT_SORT_KEYS),
            orjson.dumps(seg_f, option=orjson.OPT_SORT_KEYS),
        )
        blocks = dataset.materialized(key, blocks, now, conv_f, seg_f, order_by)
    return Plan(blocks=blocks, now_ms=now, descending=order == "desc")


def details_query(dataset: Dataset, raw: bytes, max_interval_days: int) -> Json:
    """Answer POST /api/v2/analytics/conversations/details/query."""
    return details_answer(dataset, raw, max_interval_days)[0]


def details_answer(dataset: Dataset, raw: bytes, max_interval_days: int) -> tuple[Json, bool]:
    """Answer a details query; also return whether the answer is final (its interval has settled).

    An answer is final when every conversation the interval can match has ended: the same body then
    gets the same answer for as long as the clock does not move back.
    """
    data = parse_body(raw)
    try:
        body = dump(ConversationQuery.model_validate(data))
    except ValidationError as exc:
        raise validation_error(exc) from None
    start_ms, end_ms = parse_interval(body["interval"])
    if end_ms - start_ms > max_interval_days * 86_400_000:
        raise bad_request(f"Query interval exceeds the maximum of {max_interval_days} days.")
    paging = body.get("paging") or {}
    page_size = paging.get("pageSize", DEFAULT_PAGE_SIZE)
    page_number = paging.get("pageNumber", 1)
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise bad_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    if page_number < 1:
        raise bad_request("pageNumber must be 1 or greater.")
    if page_number * page_size > MAX_RESULTS:
        raise bad_request(PAGINATION_MESSAGE)
    plan = plan_query(dataset, body, start_ms, end_ms)
    total = dataset.total(plan.blocks)
    offset = (page_number - 1) * page_size
    conversations = [
        conv
        for day, i in dataset.slice(plan.blocks, offset, page_size, plan.descending)
        if (conv := dataset.render(day, i, plan.now_ms)) is not None
    ]
    out: Json = {}
    if conversations:
        out["conversations"] = conversations
    out["totalHits"] = total
    return out, plan.now_ms == NEVER_MS
