"""Writer leases: bulk-time settings applied by the first writer, restored after the last (real node)."""

from __future__ import annotations

import random
import threading
import time

import pytest
from elasticsearch import Elasticsearch

from genesys_es.load.index_setup import ensure_index_resources, ensure_monthly_indices, writers_index
from genesys_es.load.leases import BULK_SETTINGS, WriterSession, active_writer_indices, release_expired


@pytest.fixture
def prefix(es: Elasticsearch, index_prefix: str) -> str:
    ensure_index_resources(es, index_prefix, replicas=1)
    return index_prefix


def settings_of(es: Elasticsearch, index: str) -> dict[str, str | None]:
    flat = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
    return {name: flat.get(name) for name in BULK_SETTINGS}


ORIGINAL = {"index.refresh_interval": "5s", "index.number_of_replicas": "1"}


def test_single_session_applies_and_restores(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    with WriterSession(es, prefix, [index], "run-1:0:1", ttl_s=30, bulk_settings=True) as session:
        assert settings_of(es, index) == BULK_SETTINGS
        assert session.applied == [index]
        assert active_writer_indices(es, prefix) == {index}
        es.index(
            index=index,
            id="c1",
            document={"conversationId": "c1", "conversationStart": "2024-03-01T00:00:00Z"},
        )
    assert settings_of(es, index) == ORIGINAL
    assert active_writer_indices(es, prefix) == set()
    # release refreshes: the document is visible at once although refresh_interval was -1
    assert es.count(index=index)["count"] == 1


def test_an_index_without_explicit_refresh_interval_is_reset_to_default(
    es: Elasticsearch, prefix: str
) -> None:
    (index,) = ensure_monthly_indices(es, prefix, ["2024.05"])
    es.indices.put_settings(index=index, settings={"index.refresh_interval": None})
    with WriterSession(es, prefix, [index], "solo", ttl_s=30, bulk_settings=True):
        assert settings_of(es, index) == BULK_SETTINGS
    assert settings_of(es, index) == {"index.refresh_interval": None, "index.number_of_replicas": "1"}


def test_settings_are_restored_only_after_the_last_holder(es: Elasticsearch, prefix: str) -> None:
    march, april = f"{prefix}-2024.03", f"{prefix}-2024.04"
    first = WriterSession(es, prefix, [march], "run-1:0:1", ttl_s=30, bulk_settings=True).acquire()
    second = WriterSession(es, prefix, [march, april], "run-2:3:1", ttl_s=30, bulk_settings=True).acquire()
    assert first.applied == [march] and second.applied == [april]  # march was already in bulk mode
    assert active_writer_indices(es, prefix) == {march, april}
    assert first.release() == []  # run-2 still writes to march
    assert settings_of(es, march) == BULK_SETTINGS
    assert active_writer_indices(es, prefix) == {march, april}
    assert sorted(second.release()) == [march, april]
    assert settings_of(es, march) == ORIGINAL and settings_of(es, april) == ORIGINAL
    assert active_writer_indices(es, prefix) == set()


def test_an_expired_lease_is_ignored_and_cleaned(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    killed = WriterSession(es, prefix, [index], "killed-task", ttl_s=1, bulk_settings=True).acquire()
    killed._stop.set()  # the process dies: no more renewals, no release
    killed._thread.join()
    assert active_writer_indices(es, prefix) == {index}
    time.sleep(1.3)
    assert active_writer_indices(es, prefix) == set()
    # a new writer finds the index still in bulk mode; it restores the originals when it is done
    with WriterSession(es, prefix, [index], "retry-task", ttl_s=30, bulk_settings=True) as session:
        assert session.applied == []
        assert settings_of(es, index) == BULK_SETTINGS
    assert settings_of(es, index) == ORIGINAL
    es.indices.refresh(index=writers_index(prefix))
    leases = es.search(index=writers_index(prefix), query={"term": {"kind": "lease"}})["hits"]["hits"]
    assert leases == []


def test_release_expired_restores_after_a_killed_writer(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    killed = WriterSession(es, prefix, [index], "killed", ttl_s=1, bulk_settings=True).acquire()
    killed._stop.set()
    killed._thread.join()
    assert release_expired(es, prefix) == []  # still live
    time.sleep(1.3)
    assert release_expired(es, prefix) == [index]
    assert settings_of(es, index) == ORIGINAL
    assert release_expired(es, prefix) == []


def test_leases_are_renewed_while_the_session_lives(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    with WriterSession(es, prefix, [index], "long-task", ttl_s=1.2):
        time.sleep(2.0)  # longer than the ttl: only renewals keep the lease alive
        assert active_writer_indices(es, prefix) == {index}
    assert active_writer_indices(es, prefix) == set()


def test_concurrent_sessions_always_end_restored(es: Elasticsearch, prefix: str) -> None:
    indices = [f"{prefix}-2024.03", f"{prefix}-2024.04"]
    ensure_monthly_indices(es, prefix, indices)
    errors: list[BaseException] = []
    in_bulk_while_held: list[bool] = []

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            for round_ in range(3):
                chosen = rng.sample(indices, rng.choice([1, 2]))
                with WriterSession(es, prefix, chosen, f"w{n}-{round_}", ttl_s=30, bulk_settings=True):
                    time.sleep(rng.uniform(0, 0.2))
                    in_bulk_while_held.append(active_writer_indices(es, prefix) >= set(chosen))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert in_bulk_while_held and all(in_bulk_while_held)
    for index in indices:
        assert settings_of(es, index) == ORIGINAL
    assert active_writer_indices(es, prefix) == set()


def test_bad_holder_or_ttl(es: Elasticsearch, prefix: str) -> None:
    with pytest.raises(ValueError, match="holder"):
        WriterSession(es, prefix, [f"{prefix}-2024.03"], "a|b")
    with pytest.raises(ValueError, match="ttl_s"):
        WriterSession(es, prefix, [f"{prefix}-2024.03"], "a", ttl_s=0, bulk_settings=True)


def test_release_expired_repairs_an_interrupted_release(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    with WriterSession(es, prefix, [index], "first", ttl_s=30, bulk_settings=True):
        pass
    # the last releaser flipped the record but died before restoring the settings
    es.indices.put_settings(index=index, settings=BULK_SETTINGS)
    assert release_expired(es, prefix) == [index]
    assert settings_of(es, index) == ORIGINAL
    # while a writer holds the index, nothing is touched
    with WriterSession(es, prefix, [index], "second", ttl_s=30, bulk_settings=True):
        assert release_expired(es, prefix) == []
        assert settings_of(es, index) == BULK_SETTINGS
