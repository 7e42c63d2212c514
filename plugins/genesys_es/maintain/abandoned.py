"""Indices a killed backfill writer left with bulk-time settings (refresh off, no replica): give them back.

A writer that asked for bulk-time settings restores them when it is the last to leave. A killed one never
leaves; once every lease on its index has expired, :func:`release_abandoned` restores the saved settings
(:func:`genesys_es.load.leases.release_expired`) and audits each index as ``restore_settings``. The
maintenance DAG runs it first, before its inventory.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from genesys_es.instants import now_ms
from genesys_es.load.leases import BULK_SETTINGS, drifted_indices, monthly_bulk_settings, release_expired
from genesys_es.maintain.audit import AuditEvent

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def release_abandoned(es: Elasticsearch, prefix: str, *, dry_run: bool = False) -> list[AuditEvent]:
    """Restore the settings killed writers left on indices nobody writes any more; return one event per index.

    :param es: the client.
    :param prefix: the index prefix.
    :param dry_run: report the indices (``skipped``) without restoring them.
    """
    started = now_ms()
    if dry_run:
        return [
            AuditEvent(
                started,
                index,
                "restore_settings",
                "skipped",
                reason=f"dry run: would restore the saved settings ({', '.join(drift)})",
            )
            for index, drift in drifted_indices(es, prefix).items()
        ]

    def read() -> dict[str, dict[str, str | None]]:
        return {
            index: {name.removeprefix("index."): flat.get(name) for name in BULK_SETTINGS}
            for index, flat in monthly_bulk_settings(es, prefix).items()
        }

    before = read()
    clock = time.monotonic()
    restored = release_expired(es, prefix)
    after = read() if restored else {}
    duration = time.monotonic() - clock
    reason = "bulk-time settings left by a writer whose lease expired (a killed task); saved values restored"
    return [
        AuditEvent(
            started,
            index,
            "restore_settings",
            "success",
            duration,
            before.get(index, {}),
            after.get(index, {}),
            reason,
        )
        for index in restored
    ]
