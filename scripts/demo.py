"""Run the ingest DAG over three days with real task code and print a report per day."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _prepare_airflow() -> None:
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True)
    subprocess.run(
        [AIRFLOW, "pools", "set", "genesys_api", "4", "Genesys Cloud API: 300 requests/minute per client"],
        check=True,
        capture_output=True,
    )


def main() -> int:
    """Ingest three days and print the report table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3, help="how many closed UTC days to ingest")
    parser.add_argument("--verbose", action="store_true", help="show the task logs")
    args = parser.parse_args()
    if not args.verbose:
        # The task logs (progress, partition summaries) stay in Airflow; the demo prints a report.
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    _prepare_airflow()
    import logging
    import warnings

    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    # dag.test() talks to Airflow's in-process API through Starlette's test client, which warns about httpx;
    # that is Airflow's own plumbing, not something a demo user should install anything for.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")

    from airflow.dag_processing.dagbag import DagBag

    from genesys_es.extract.paging import ConversationPager
    from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
    from genesys_es.hooks.genesys_cloud import GenesysCloudHook
    from genesys_es.load.index_setup import deadletter_index
    from genesys_es.verify import health, latency

    bag = DagBag(dag_folder=str(REPO / "dags" / "genesys_conversations_to_es.py"))
    if bag.import_errors:
        print(bag.import_errors, file=sys.stderr)
        return 1
    dag = bag.get_dag("genesys_conversations_to_es")
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(args.days, 0, -1)]
    prefix = "genesys-conversations"
    rows = []
    es = ElasticsearchClientHook().get_conn()
    genesys = GenesysCloudHook()
    for day in days:
        started = time.monotonic()
        print(f"demo: ingesting {day} ...", flush=True)
        run = dag.test(
            run_conf={
                "date_from": day.isoformat(),
                "date_to": day.isoformat(),
                "latency_target_p95_ms": 2000,
            },
            logical_date=datetime.now(UTC),
        )
        seconds = time.monotonic() - started
        print(f"demo: {day} {run.state} in {seconds:.0f} s", flush=True)
        rows.append((day, run.state, seconds))

    probes = latency.load_probes(None)
    print()
    header = ("day", "run", "seconds", "genesys total", "indexed", "dead-lettered", "health", "query p95 ms")
    table = [header]
    for day, state, seconds in rows:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        window = {"range": {"conversationStart": {"gte": start.isoformat(), "lt": end.isoformat()}}}
        es.indices.refresh(index=prefix)
        indexed = es.count(index=prefix, query=window)["count"]
        dead = es.options(ignore_status=404).count(
            index=deadletter_index(prefix), query={"prefix": {"partition": day.isoformat()}}
        )
        state_of_index = health.check_health(es, prefix, "yellow").status
        params = latency.sample_parameters(es, prefix, start, end)
        report = latency.run_probes(es, prefix, probes, runs=10, warmup=2, params=params)
        table.append(
            (
                day.isoformat(),
                state,
                f"{seconds:.0f}",
                str(ConversationPager(genesys).count(start, end)),
                str(indexed),
                str(dead.get("count", 0) if dead.meta.status == 200 else 0),
                state_of_index,
                f"{report.client_p95_ms:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * width for width in widths))
    return 0 if all(state == "success" for _, state, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
