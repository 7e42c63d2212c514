"""TaskFlow tasks of the ingest DAG: each is a thin wrapper over a pure module."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import conf, get_current_context, task

from genesys_es import instants
from genesys_es.assets import CONVERSATIONS_INDEX, GENESYS_API_POOL

log = logging.getLogger(__name__)

GENESYS_CONN_ID = "genesys_cloud_default"
ES_CONN_ID = "elasticsearch_default"


def _es_client():
    from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook

    return ElasticsearchClientHook(elasticsearch_conn_id=ES_CONN_ID).get_conn()


def _genesys(es=None):
    """Return the Genesys hook spending the OAuth client's one budget, shared with every task and run."""
    from genesys_es.hooks.genesys_cloud import genesys_hook

    return genesys_hook(GENESYS_CONN_ID, es or _es_client())


def _config(run: dict[str, Any]):
    from genesys_es.run_config import RunConfig

    return RunConfig.from_xcom(run)


@task(retries=0)
def resolve_run() -> dict[str, Any]:
    """Validate the run's params and resolve the UTC days it covers; fail before any work."""
    from genesys_es.run_config import build_run_config

    context = get_current_context()
    logical_date = context.get("logical_date") or context["dag_run"].run_after
    allow_drills = conf.getboolean("genesys_es", "allow_drills", fallback=False)
    config = build_run_config(dict(context["params"]), logical_date, allow_drills=allow_drills)
    log.info(
        "run covers %s..%s (%d day(s)), mode=%s, pii=%s, dry_run=%s, index prefix %s",
        config.days[0],
        config.days[-1],
        len(config.days),
        config.mode,
        config.pii,
        config.dry_run,
        config.index_prefix,
    )
    return config.to_xcom()


@task
def ensure_index(run: dict[str, Any]) -> list[str]:
    """Create the index template, the run's monthly indices, the read alias and the dead-letter index."""
    from genesys_es.load import index_setup

    config = _config(run)
    if config.dry_run:
        log.info("dry run: Elasticsearch is left untouched")
        return []
    es = _es_client()
    index_setup.ensure_index_resources(es, config.index_prefix)
    months = sorted({day[:7] + "-01" for day in config.days})
    indices = index_setup.ensure_monthly_indices(
        es, config.index_prefix, [instants.parse_strict(m) for m in months]
    )
    log.info("indices ready: %s (alias %s)", ", ".join(indices), config.index_prefix)
    return indices


@task(pool=GENESYS_API_POOL)
def plan_partitions(run: dict[str, Any], parallelism: int = 1) -> list[dict[str, Any]]:
    """Plan each day of the run into partitions (job slices or page ranges), evened out over the slots.

    :param run: the resolved run.
    :param parallelism: partition tasks running at once (the DAG's ``max_active_partitions``).
    """
    from airflow.sdk.exceptions import AirflowFailException

    from genesys_es.exceptions import GenesysJobError
    from genesys_es.extract.history import plan_run
    from genesys_es.extract.jobs import ConversationJobs
    from genesys_es.extract.paging import ConversationPager
    from genesys_es.load.index_setup import monthly_index

    config = _config(run)
    es = _es_client()
    with _genesys(es) as hook:
        try:
            available = ConversationJobs(hook).availability() if config.path == "jobs" else None
        except GenesysJobError as err:  # a missing permission: retrying changes nothing
            raise AirflowFailException(str(err)) from None
        if available is not None:
            log.info("jobs API data available until %s", instants.to_iso(available))
        planned = plan_run(
            [instants.parse_strict(day) for day in config.days],
            ConversationPager(hook).count,
            available_until=available,
            now=datetime.now(UTC),
            page_size=config.page_size,
            pages_per_partition=config.pages_per_partition,
            parallelism=parallelism,
        )
    partitions = [p.to_xcom() for p in planned]
    for p in partitions:
        if p["path"] == "jobs" and not config.dry_run:
            # A monthly index the backfill fills from empty gets bulk-time settings while it is written.
            index = monthly_index(config.index_prefix, p["start"])
            p["fresh_index"] = es.count(index=index)["count"] == 0
        log.info("partition %s: about %s conversations", p["label"], p["expected"])
    if config.dry_run:
        log.info("dry run: %d partition(s) planned, none will run", len(partitions))
        return []
    return partitions


@task(pool=GENESYS_API_POOL)
def refresh_open_conversations(run: dict[str, Any]) -> dict[str, Any]:
    """Re-read conversations indexed while still open before the run's range, until Genesys ends them."""
    from genesys_es.extract.paging import ConversationPager
    from genesys_es.load.ingest import index_conversations
    from genesys_es.load.ranges import find_open_conversations
    from genesys_es.operators.genesys_to_elasticsearch import pii_policy_for

    config = _config(run)
    if config.dry_run or config.refresh_open_days == 0:
        return {"open_before": 0, "refreshed": 0, "still_open": 0}
    es = _es_client()
    since = config.start - timedelta(days=config.refresh_open_days)
    stale = [
        c
        for c in find_open_conversations(es, config.index_prefix, since)
        if instants.parse_strict(c["conversationStart"]) < config.start
    ]
    if not stale:
        log.info("no conversation indexed while still open since %s", since.date())
        return {"open_before": 0, "refreshed": 0, "still_open": 0}
    context = get_current_context()
    with _genesys(es) as hook:
        current = ConversationPager(hook).get_conversations(
            [c["conversationId"] for c in stale], start=since, end=config.start
        )
    result, stats = index_conversations(
        es,
        current,
        index_prefix=config.index_prefix,
        pii=pii_policy_for(config.pii),
        run_id=context["run_id"],
        label="refresh-open",
    )
    summary = {
        "open_before": len(stale),
        "refreshed": result.indexed,
        "still_open": stats.open_conversations,
        "deadlettered": result.deadlettered,
    }
    log.info("conversations indexed while open: %s", summary)
    return summary


@task(trigger_rule="none_failed", pool=GENESYS_API_POOL)
def finalize_run(
    run: dict[str, Any], partition_summaries: list[dict[str, Any]], refreshed: dict[str, Any]
) -> dict[str, Any]:
    """Sum the partition summaries and, in rebuild mode, delete documents the source no longer has."""
    from airflow.sdk.exceptions import AirflowSkipException

    from genesys_es.extract.paging import ConversationPager
    from genesys_es.load.ranges import delete_absent_at_source

    config = _config(run)
    if config.dry_run:
        raise AirflowSkipException("dry run: nothing was written, nothing to verify")
    context = get_current_context()
    # One slice request reads every mapped summary (iterating would probe past the end and log an error).
    summaries = [s for s in (partition_summaries[:] if partition_summaries is not None else []) if s]
    totals = {
        key: sum(s.get(key, 0) for s in summaries)
        for key in ("pages", "conversations", "indexed", "deadlettered", "api_requests", "api_retries")
    }
    seconds = max((s.get("seconds", 0.0) for s in summaries), default=0.0)
    deleted = 0
    if config.mode == "rebuild":
        # Every partition of this run succeeded and stamped its documents with the run id: what the range
        # holds with another run id is looked up at the source, and deleted only when it is gone there.
        with _genesys() as hook:
            pager = ConversationPager(hook)

            def still_at_source(ids: list[str]) -> set[str]:
                found = pager.get_conversations(ids, start=config.start, end=config.end)
                return {c["conversationId"] for c in found}

            deleted = delete_absent_at_source(
                _es_client(),
                config.index_prefix,
                config.start,
                config.end,
                context["run_id"],
                still_at_source,
            )
        log.info("rebuild: deleted %d document(s) no longer at the source", deleted)
    paths: dict[str, set[str]] = {}
    for s in summaries:
        paths.setdefault(s["label"][:10], set()).add(s.get("path", "sync"))
    summary = {
        "days": list(config.days),
        # Which path served each day: the jobs API or the details query (see the plan's log).
        "paths": {day: "+".join(sorted(p)) for day, p in sorted(paths.items())},
        "partitions": len(summaries),
        **totals,
        "deleted": deleted,
        "refreshed_open": refreshed.get("refreshed", 0) if refreshed else 0,
        "slowest_partition_s": seconds,
    }
    log.info("run summary: %s", summary)
    return summary


@task(outlets=[CONVERSATIONS_INDEX])
def publish_index(run: dict[str, Any], verification: dict[str, Any]) -> dict[str, Any]:
    """Announce the updated index to downstream DAGs (the maintenance DAG follows this asset)."""
    config = _config(run)
    context = get_current_context()
    context["outlet_events"][CONVERSATIONS_INDEX].extra = {
        "index_prefix": config.index_prefix,
        "days": list(config.days),
    }
    return {"index_prefix": config.index_prefix, "days": list(config.days), "verified": bool(verification)}
