"""Pydantic models of the request bodies (field names as the API spells them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    """Reject unknown fields like the real API's JSON binding."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NumericRange(_Strict):
    """A metric or dimension range."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


class Predicate(_Strict):
    """One filter predicate."""

    type: str | None = None
    dimension: str | None = None
    metric: str | None = None
    property: str | None = None
    propertyType: str | None = None
    operator: str | None = None
    value: Any = None
    range: NumericRange | None = None


class Filter(_Strict):
    """A filter: predicates and nested clauses joined by and/or."""

    type: str
    clauses: list[Filter] | None = None
    predicates: list[Predicate] | None = None


class PagingSpec(_Strict):
    """Paging of the details query."""

    pageSize: int | None = None
    pageNumber: int | None = None


class _QueryBase(_Strict):
    """Fields shared by the details query and the details job."""

    interval: str
    order: str | None = None
    orderBy: str | None = None
    conversationFilters: list[Filter] | None = None
    segmentFilters: list[Filter] | None = None
    evaluationFilters: list[Filter] | None = None
    surveyFilters: list[Filter] | None = None
    resolutionFilters: list[Filter] | None = None


class ConversationQuery(_QueryBase):
    """Body of POST /api/v2/analytics/conversations/details/query."""

    paging: PagingSpec | None = None
    aggregations: list[dict[str, Any]] | None = None


class AsyncConversationQuery(_QueryBase):
    """Body of POST /api/v2/analytics/conversations/details/jobs."""

    limit: int | None = Field(default=None, ge=1)
    startOfDayIntervalMatching: bool | None = None


class FaultRequest(BaseModel):
    """Body of POST /_sim/faults: a profile name and/or field overrides."""

    model_config = ConfigDict(extra="allow")

    profile: str | None = None


class ClockRequest(BaseModel):
    """Body of POST /_sim/clock: freeze at `now` (null = real clock) and/or advance a number of seconds."""

    model_config = ConfigDict(extra="forbid")

    now: str | None = None
    advanceSeconds: float | None = None
    real: bool = False


def dump(model: BaseModel) -> dict[str, Any]:
    """Return a model as a plain dict without unset fields."""
    return model.model_dump(exclude_none=True)
