"""Writer leases: which monthly indices are being written (maintenance keeps off them), and the bulk-time
settings a writer may ask for (no replica, refresh off) with their restore by the last writer.

Leases live in ``<prefix>-writers``; see ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from genesys_es import instants
from genesys_es.instants import format_ms, parse
from genesys_es.load.index_setup import (
    DEFAULT_PREFIX,
    LeaseError,
    create_if_missing,
    ensure_monthly_indices,
    load_template,
    validate_prefix,
    writers_index,
)

log = logging.getLogger(__name__)

#: Settings a writer may ask for while it holds a lease on an index nobody searches yet.
BULK_SETTINGS: dict[str, str] = {"index.refresh_interval": "-1", "index.number_of_replicas": "0"}
DEFAULT_LEASE_TTL_S = 300.0


def _state_id(index: str) -> str:
    return f"{index}|__settings__"


def _lease_id(index: str, holder: str) -> str:
    return f"{index}|{holder}"


def _leases(es: Elasticsearch, prefix: str, index: str | None = None) -> list[dict[str, Any]]:
    """Return every lease document (live and expired), optionally for one index."""
    filters: list[dict[str, Any]] = [{"term": {"kind": "lease"}}]
    if index is not None:
        filters.append({"term": {"index": index}})
    resp = es.options(ignore_status=404).search(
        index=writers_index(prefix),
        query={"bool": {"filter": filters}},
        size=10000,
        seq_no_primary_term=True,
    )
    if resp.meta.status == 404:
        return []
    return [
        dict(hit["_source"], _id=hit["_id"], _seq_no=hit["_seq_no"], _primary_term=hit["_primary_term"])
        for hit in resp["hits"]["hits"]
    ]


def _is_live(lease: dict[str, Any], now: datetime) -> bool:
    expires = parse(lease.get("expires_at"))
    return expires is not None and expires > now


def _live_leases(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    """Return the unexpired lease documents of every index of the prefix."""
    now = instants.now()
    return [lease for lease in _leases(es, prefix) if _is_live(lease, now)]


def active_writer_indices(es: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> set[str]:
    """Return the indices that have at least one unexpired writer lease.

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    """
    return {lease["index"] for lease in _live_leases(es, prefix)}


def _read_settings(es: Elasticsearch, index: str) -> dict[str, str | None]:
    flat = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
    return {name: flat.get(name) for name in BULK_SETTINGS}


def _is_bulk(settings: dict[str, str | None]) -> bool:
    return all(str(settings.get(name)) == value for name, value in BULK_SETTINGS.items())


def _delete_expired(es: Elasticsearch, prefix: str, leases: list[dict[str, Any]], now: datetime) -> None:
    for lease in leases:
        if not _is_live(lease, now):
            es.options(ignore_status=[404, 409]).delete(
                index=writers_index(prefix),
                id=lease["_id"],
                if_seq_no=lease["_seq_no"],
                if_primary_term=lease["_primary_term"],
                refresh=True,
            )
            log.info("Removed expired writer lease %s", lease["_id"])


def _write_state(
    es: Elasticsearch, windex: str, index: str, state: dict[str, Any] | None, document: dict[str, Any]
) -> bool:
    """Write an index's settings state if nobody changed it since ``state`` was read; return whether it was."""
    try:
        if state is None:
            es.create(index=windex, id=_state_id(index), refresh=True, document=document)
        else:
            es.index(
                index=windex,
                id=_state_id(index),
                refresh=True,
                if_seq_no=state["_seq_no"],
                if_primary_term=state["_primary_term"],
                document=document,
            )
    except ConflictError:
        return False
    return True


def _apply_bulk_settings(es: Elasticsearch, prefix: str, index: str, attempts: int = 20) -> bool:
    """Switch an index to bulk settings unless they are already applied; return True when this call did."""
    windex = writers_index(prefix)
    for _ in range(attempts):
        try:
            state = es.get(index=windex, id=_state_id(index))
        except NotFoundError:
            state = None
        if state is not None and state["_source"].get("applied"):
            return False
        current = _read_settings(es, index)
        # Current values equal to the bulk values mean a restore is still in flight: keep the saved ones.
        original = state["_source"].get("original") if state is not None and _is_bulk(current) else current
        document = {
            "kind": "settings",
            "index": index,
            "applied": True,
            "original": original,
            "updated_at": format_ms(instants.now()),
        }
        if not _write_state(es, windex, index, state, document):
            continue
        es.indices.put_settings(index=index, settings=BULK_SETTINGS)
        log.info("Applied bulk settings to %s (saved %s)", index, original)
        return True
    raise LeaseError(f"could not apply bulk settings to {index}: too much contention on {windex}")


def _restore_if_unheld(es: Elasticsearch, prefix: str, index: str, attempts: int = 20) -> bool:
    """Restore the saved settings of an index when no live lease remains; return True when restored."""
    windex = writers_index(prefix)
    for _ in range(attempts):
        now = instants.now()
        leases = _leases(es, prefix, index)
        _delete_expired(es, prefix, leases, now)
        if any(_is_live(lease, now) for lease in leases):
            return False
        try:
            state = es.get(index=windex, id=_state_id(index))
        except NotFoundError:
            return False
        source = state["_source"]
        if not source.get("applied"):
            return False
        if not _write_state(es, windex, index, state, dict(source, applied=False, updated_at=format_ms(now))):
            continue
        original = source.get("original") or {}
        restore = {name: original.get(name) for name in BULK_SETTINGS}
        if restore.get("index.number_of_replicas") is None:
            restore["index.number_of_replicas"] = None
        es.options(ignore_status=404).indices.put_settings(index=index, settings=restore)
        log.info("Restored settings of %s to %s", index, restore)
        return True
    raise LeaseError(f"could not restore settings of {index}: too much contention on {windex}")


def release_expired(es: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Restore bulk-time settings left behind by killed writers (all their leases expired).

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    :return: the indices whose settings were restored.
    """
    resp = es.options(ignore_status=404).search(
        index=writers_index(prefix),
        size=10000,
        query={"bool": {"filter": [{"term": {"kind": "settings"}}, {"term": {"applied": True}}]}},
    )
    if resp.meta.status == 404:
        return []
    indices = sorted({hit["_source"]["index"] for hit in resp["hits"]["hits"]})
    restored = [index for index in indices if _restore_if_unheld(es, prefix, index)]
    # A releaser killed between flipping the record and restoring leaves bulk values behind.
    stale = es.search(
        index=writers_index(prefix),
        size=10000,
        query={"bool": {"filter": [{"term": {"kind": "settings"}}, {"term": {"applied": False}}]}},
    )
    held = active_writer_indices(es, prefix)
    for hit in stale["hits"]["hits"]:
        index, original = hit["_source"]["index"], hit["_source"].get("original") or {}
        if index in held or _is_bulk(original) or not es.indices.exists(index=index):
            continue
        if _is_bulk(_read_settings(es, index)):
            es.indices.put_settings(
                index=index, settings={name: original.get(name) for name in BULK_SETTINGS}
            )
            log.info("Restored settings of %s left in bulk mode by an interrupted release", index)
            restored.append(index)
    return sorted(set(restored))


def monthly_bulk_settings(es: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> dict[str, dict[str, str]]:
    """Return the settings of :data:`BULK_SETTINGS` (flat names, those set) of every open monthly index.

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    """
    current = es.options(ignore_status=404).indices.get_settings(
        index=f"{prefix}-2*", name=list(BULK_SETTINGS), flat_settings=True, expand_wildcards="open"
    )
    if current.meta.status == 404:
        return {}
    return {index: data.get("settings", {}) for index, data in current.items()}


def drifted_indices(es: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> dict[str, list[str]]:
    """Return each monthly index no writer holds that still has bulk-time settings the template lacks.

    A writer killed while it held the bulk-time settings (no replica, refresh off) leaves them behind until
    :func:`release_expired` (run by the maintenance DAG) restores them; meanwhile the index is one lost node
    from losing data, and what is written to it may not be searchable.

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    :return: index name -> the settings that drifted, e.g. ``["refresh_interval is -1 (configured 5s)"]``.
    """
    template = es.options(ignore_status=404).indices.get_index_template(name=validate_prefix(prefix))
    if template.meta.status == 404 or not template.get("index_templates"):
        return {}
    configured = template["index_templates"][0]["index_template"]["template"].get("settings", {})
    wanted = {
        "index.number_of_replicas": str(configured.get("index", {}).get("number_of_replicas", "1")),
        "index.refresh_interval": str(configured.get("index", {}).get("refresh_interval", "1s")),
    }
    held = active_writer_indices(es, prefix)
    drifted = {}
    for index, flat in sorted(monthly_bulk_settings(es, prefix).items()):
        drift = [
            f"{name.removeprefix('index.')} is {flat.get(name, 'default')} (configured {want})"
            for name, want in wanted.items()
            if str(flat.get(name)) == BULK_SETTINGS[name] != str(want)
        ]
        if drift and index not in held:
            drifted[index] = drift
    return drifted


def settings_drift(es: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Return one problem line per index of :func:`drifted_indices` (what ``verify`` fails with).

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    """
    return [
        f"{index}: {', '.join(drift)}: bulk-time settings left behind by a killed writer "
        f"(trigger genesys_index_maintenance: it restores them once the writer's lease has expired, "
        f"{DEFAULT_LEASE_TTL_S:.0f} s after it stopped)"
        for index, drift in drifted_indices(es, prefix).items()
    ]


class WriterSession:
    """Leases held by one writer on a set of indices, renewed in the background until released.

    Use it as a context manager around a bulk write: entering takes the leases (and, with ``bulk_settings``,
    applies the bulk-time settings where this is the first writer), leaving releases them (and restores the
    settings where this is the last).

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    :param indices: the indices this writer writes to.
    :param holder: a unique writer name (e.g. ``<run_id>:<map_index>:<try>``); no ``|``.
    :param ttl_s: how long a lease lives without renewal (a killed writer's lease expires after it).
    :param bulk_settings: apply :data:`BULK_SETTINGS` while writing; only for indices nobody searches
        yet (a backfill creating them), never for the live monthly index of the daily path.
    """

    def __init__(
        self,
        es: Elasticsearch,
        prefix: str,
        indices: Iterable[str],
        holder: str,
        ttl_s: float = DEFAULT_LEASE_TTL_S,
        *,
        bulk_settings: bool = False,
    ) -> None:
        if not holder or "|" in holder:
            raise ValueError(f"holder must be a non-empty string without '|', got {holder!r}")
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        self.es = es
        self.prefix = validate_prefix(prefix)
        self.indices = sorted(set(indices))
        self.holder = holder
        self.ttl_s = float(ttl_s)
        self.bulk_settings = bulk_settings
        self.applied: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _write_leases(self, acquired_at: datetime | None = None) -> None:
        now = instants.now()
        for index in self.indices:
            self.es.index(
                index=writers_index(self.prefix),
                id=_lease_id(index, self.holder),
                refresh=True,
                document={
                    "kind": "lease",
                    "index": index,
                    "holder": self.holder,
                    "acquired_at": format_ms(acquired_at or now),
                    "expires_at": format_ms(now + timedelta(seconds=self.ttl_s)),
                },
            )

    def acquire(self) -> WriterSession:
        """Take the leases and, when asked for, apply bulk settings to indices nobody else is writing to."""
        create_if_missing(self.es, writers_index(self.prefix), load_template("writers", self.prefix))
        ensure_monthly_indices(self.es, self.prefix, self.indices)
        self._acquired_at = instants.now()
        self._write_leases(self._acquired_at)
        if self.bulk_settings:
            self.applied = [i for i in self.indices if _apply_bulk_settings(self.es, self.prefix, i)]
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-{self.holder}", daemon=True)
        self._thread.start()
        return self

    def renew(self) -> None:
        """Extend the leases by ``ttl_s`` from now."""
        self._write_leases(self._acquired_at)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.renew()
            except Exception:  # keep renewing; the writer itself reports real failures
                log.warning("Could not renew writer leases of %s", self.holder, exc_info=True)

    def __enter__(self) -> WriterSession:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> list[str]:
        """Drop the leases; where this was the last live writer, restore the settings and refresh.

        Only the last writer refreshes: a refresh per partition end would cut many small segments
        (and merge them again) while the other partitions are still writing.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for index in self.indices:
            self.es.options(ignore_status=404).delete(
                index=writers_index(self.prefix), id=_lease_id(index, self.holder), refresh=True
            )
        restored = [index for index in self.indices if _restore_if_unheld(self.es, self.prefix, index)]
        if restored:
            self.es.options(ignore_status=404).indices.refresh(index=",".join(restored))
        return restored
