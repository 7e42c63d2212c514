"""Pydantic models of the Genesys Cloud conversation details query (request validated, response lossless)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genesys_es.instants import as_utc, format_ms, parse_strict

#: Maximum ``pageNumber * pageSize`` the details query serves.
PAGINATION_CAP = 100_000
#: Largest page the details query accepts.
MAX_PAGE_SIZE = 100
#: Longest interval accepted by one details query. Field reports say 7 or 31 days; we stay on the safe side.
MAX_INTERVAL = timedelta(days=7)

QUERY_PATH = "/api/v2/analytics/conversations/details/query"

Order = Literal["asc", "desc", "unordered"]
OrderBy = Literal["conversationStart", "conversationEnd", "segmentStart", "segmentEnd"]


def format_interval(start: datetime, end: datetime) -> str:
    """Return the Genesys ``interval`` string ``start/end``.

    :param start: interval start (inclusive).
    :param end: interval end (exclusive).
    """
    return f"{format_ms(start)}/{format_ms(end)}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NumericRange(_Model):
    """A metric or property range: ``gt``/``gte``/``lt``/``lte`` bounds."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


class Predicate(_Model):
    """One filter predicate, e.g. ``{"dimension": "mediaType", "value": "voice"}``."""

    type: Literal["dimension", "property", "metric"] = "dimension"
    dimension: str | None = None
    property_type: str | None = Field(default=None, alias="propertyType")
    property: str | None = None
    metric: str | None = None
    operator: Literal["matches", "exists", "notExists"] = "matches"
    value: str | None = None
    range: NumericRange | None = None

    @model_validator(mode="after")
    def _check(self) -> Predicate:
        target = {"dimension": self.dimension, "property": self.property, "metric": self.metric}[self.type]
        if not target:
            raise ValueError(f"a {self.type!r} predicate needs its {self.type!r} field")
        if self.operator == "matches" and self.value is None and self.range is None:
            raise ValueError("a 'matches' predicate needs a value or a range")
        if self.operator != "matches" and (self.value is not None or self.range is not None):
            raise ValueError(f"an {self.operator!r} predicate takes no value or range")
        return self


class Clause(_Model):
    """A group of predicates joined by ``and``/``or``."""

    type: Literal["and", "or"] = "and"
    predicates: list[Predicate] = Field(min_length=1)


class QueryFilter(_Model):
    """A conversation or segment filter: predicates and clauses joined by ``and``/``or``."""

    type: Literal["and", "or"] = "and"
    clauses: list[Clause] | None = None
    predicates: list[Predicate] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> QueryFilter:
        if not self.clauses and not self.predicates:
            raise ValueError("a filter needs at least one predicate or clause")
        return self


class QueryFilters(_Model):
    """The filter lists a details query can carry; pass this (or an equivalent dict) as ``filters``."""

    conversation_filters: list[QueryFilter] | None = Field(default=None, alias="conversationFilters")
    segment_filters: list[QueryFilter] | None = Field(default=None, alias="segmentFilters")
    evaluation_filters: list[dict[str, Any]] | None = Field(default=None, alias="evaluationFilters")
    survey_filters: list[dict[str, Any]] | None = Field(default=None, alias="surveyFilters")
    resolution_filters: list[dict[str, Any]] | None = Field(default=None, alias="resolutionFilters")


class Paging(_Model):
    """Page size (1..100) and page number (from 1), bounded by the 100,000-result cap."""

    page_size: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE, alias="pageSize")
    page_number: int = Field(default=1, ge=1, alias="pageNumber")

    @model_validator(mode="after")
    def _cap(self) -> Paging:
        if self.page_size * self.page_number > PAGINATION_CAP:
            raise ValueError(
                f"page {self.page_number} of size {self.page_size} is past the API's "
                f"{PAGINATION_CAP}-result pagination cap; query a smaller interval"
            )
        return self


class ConversationQuery(_Model):
    """Body of ``POST /api/v2/analytics/conversations/details/query``, validated before it is sent."""

    interval: str
    order: Order = "asc"
    order_by: OrderBy = Field(default="conversationStart", alias="orderBy")
    paging: Paging = Field(default_factory=Paging)
    conversation_filters: list[QueryFilter] | None = Field(default=None, alias="conversationFilters")
    segment_filters: list[QueryFilter] | None = Field(default=None, alias="segmentFilters")
    evaluation_filters: list[dict[str, Any]] | None = Field(default=None, alias="evaluationFilters")
    survey_filters: list[dict[str, Any]] | None = Field(default=None, alias="surveyFilters")
    resolution_filters: list[dict[str, Any]] | None = Field(default=None, alias="resolutionFilters")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        try:
            start_text, end_text = value.split("/")
            start, end = parse_strict(start_text), parse_strict(end_text)
        except ValueError:
            raise ValueError(f"interval must be 'start/end' in ISO-8601, got {value!r}") from None
        check_interval(start, end)
        return value

    @classmethod
    def build(
        cls,
        start: datetime,
        end: datetime,
        *,
        page_number: int = 1,
        page_size: int = 100,
        order: Order = "asc",
        order_by: OrderBy = "conversationStart",
        filters: QueryFilters | dict[str, Any] | None = None,
    ) -> ConversationQuery:
        """Build and validate a query for ``[start, end)``.

        :param start: interval start (naive means UTC).
        :param end: interval end, exclusive.
        :param page_number: page to read, from 1.
        :param page_size: results per page, 1..100.
        :param order: ``asc``, ``desc`` or ``unordered``.
        :param order_by: sort key; ``conversationStart`` keeps pages stable while data arrives.
        :param filters: :class:`QueryFilters` or a dict with ``conversationFilters``/``segmentFilters``/...
        """
        extra = normalize_filters(filters)
        return cls.model_validate(
            {
                "interval": format_interval(start, end),
                "order": order,
                "orderBy": order_by,
                "paging": {"pageSize": page_size, "pageNumber": page_number},
                **extra,
            }
        )

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body Genesys expects (API field names, no empty fields)."""
        return self.model_dump(by_alias=True, exclude_none=True)


def normalize_filters(filters: QueryFilters | dict[str, Any] | None) -> dict[str, Any]:
    """Validate query filters and return them as the API's top-level fields.

    :param filters: :class:`QueryFilters`, a dict such as ``{"segmentFilters": [...]}``, or None.
    """
    if filters is None:
        return {}
    model = filters if isinstance(filters, QueryFilters) else QueryFilters.model_validate(filters)
    return model.model_dump(by_alias=True, exclude_none=True)


def check_interval(start: datetime, end: datetime) -> None:
    """Raise ValueError unless ``start < end`` and the interval fits one details query.

    :param start: interval start.
    :param end: interval end.
    """
    start, end = as_utc(start), as_utc(end)
    if start >= end:
        raise ValueError(f"interval start {start.isoformat()} must be before its end {end.isoformat()}")
    if end - start > MAX_INTERVAL:
        raise ValueError(
            f"interval {start.isoformat()}/{end.isoformat()} is longer than {MAX_INTERVAL.days} days; "
            "split it into smaller intervals"
        )


class ConversationQueryResponse(BaseModel):
    """Response of the details query; conversations stay plain dicts so nothing is lost."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversations: list[dict[str, Any]] = Field(default_factory=list)
    total_hits: int = Field(default=0, alias="totalHits", ge=0)

    # A conversation without conversationId is kept: the ingest reports it and dead-letters it, so one
    # bad conversation neither blocks its page nor disappears.


class Conversation(BaseModel):
    """Typed view of one conversation; unknown fields are kept and instants stay as the API wrote them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversation_id: str = Field(alias="conversationId")
    conversation_start: str = Field(alias="conversationStart")
    conversation_end: str | None = Field(default=None, alias="conversationEnd")

    @field_validator("conversation_start", "conversation_end")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            parse_strict(value)
        return value

    @property
    def start(self) -> datetime:
        """Return ``conversationStart`` as an aware UTC datetime."""
        return parse_strict(self.conversation_start)

    @property
    def is_open(self) -> bool:
        """Return True while Genesys reports no ``conversationEnd``."""
        return self.conversation_end is None

    def to_api(self) -> dict[str, Any]:
        """Return the conversation exactly as the API wrote it (field names and unknown fields kept)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class ErrorBody(BaseModel):
    """A Genesys error body (``message``, ``code``, ``status``, ``contextId``, ...)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message: str | None = None
    code: str | None = None
    status: int | None = None
    context_id: str | None = Field(default=None, alias="contextId")


class TokenResponse(BaseModel):
    """Response of ``POST /oauth/token`` (client credentials grant)."""

    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1, repr=False)
    token_type: str = "bearer"
    expires_in: float = Field(default=86400, gt=0)


@dataclass(frozen=True)
class ConversationPage:
    """One page of a details query: its number, its conversations (plain dicts) and ``totalHits`` then."""

    page_number: int
    conversations: list[dict[str, Any]]
    total_hits: int
