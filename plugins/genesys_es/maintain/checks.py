"""Checks after maintenance: the read alias's health and query latency, each as an audit event."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from genesys_es.instants import now_ms
from genesys_es.maintain.audit import AuditEvent
from genesys_es.verify import health, latency

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def check_index(
    es: Elasticsearch,
    alias: str,
    target_status: str,
    *,
    latency_target: float | None,
    runs: int = 20,
    warmup: int = 3,
    probes_path: str | None = None,
    log: Any = None,
) -> tuple[list[AuditEvent], dict[str, Any], list[str]]:
    """Check health and latency of ``alias``; return the audit events, the numbers and the failures.

    :param es: the client.
    :param alias: the read alias.
    :param target_status: ``yellow`` or ``green``.
    :param latency_target: client-side p95 target in ms; None skips the probes.
    :param runs: measured runs per probe.
    :param warmup: unmeasured runs per probe first.
    :param probes_path: folder of probe JSON files (default ``include/latency_probes``).
    :param log: where the latency table goes (a logger).
    """
    log = log or logging.getLogger(__name__)
    target = latency_target
    events: list[AuditEvent] = []
    failures: list[str] = []

    started = now_ms()
    state = health.check_health(es, alias, target_status)
    events.append(
        AuditEvent(
            started,
            alias,
            "verify_health",
            "success" if state.ok else "failed",
            after={"status": state.status, "indices": len(state.indices)},
            reason=state.message(),
        )
    )
    if not state.ok:
        failures.append(state.message())

    result: dict[str, Any] = {"index": alias, "health": state.status, "latency": None}
    if target is not None:
        started = now_ms()
        probes = latency.load_probes(probes_path)
        report = latency.run_probes(es, alias, probes, runs=runs, warmup=warmup)
        log.info("Latency (%d runs after %d warm-up):\n%s", runs, warmup, report.table())
        numbers = {
            "p50_ms": round(report.client_p50_ms, 1),
            "p95_ms": round(report.client_p95_ms, 1),
            "max_ms": round(report.client_max_ms, 1),
            "took_p95_ms": round(report.took_p95_ms, 1),
            "target_p95_ms": target,
        }
        ok = report.meets(target)
        reason = (
            f"p95 {numbers['p95_ms']} ms {'<=' if ok else 'exceeds'} target {target} ms "
            f"(p50 {numbers['p50_ms']} ms, max {numbers['max_ms']} ms, server took p95 {numbers['took_p95_ms']} ms)"
        )
        duration = sum(p.client_p50_ms for p in report.probes) * (runs + warmup) / 1000
        events.append(
            AuditEvent(
                started,
                alias,
                "verify_latency",
                "success" if ok else "failed",
                round(duration, 3),
                after=numbers,
                reason=reason,
            )
        )
        result["latency"] = numbers
        if not ok:
            failures.append(f"query latency {reason}")
    return events, result, failures
