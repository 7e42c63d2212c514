"""Profile one partition task (the operator's execute) with pyinstrument; the simulator runs in its own process.

    .venv/bin/python -m bench.profile_partition [--conversations 2000] [--es-url URL] [--html out.html]

Prints the call tree of the task process only (the simulator's and Elasticsearch's CPU are not in it).
"""

from __future__ import annotations

import argparse
import logging
from types import SimpleNamespace

from bench.common import (
    DAY,
    DAY_END,
    DAY_START,
    es_client,
    prepare_index,
    set_connections,
    setup_airflow_env,
    simulator,
)


def main() -> None:
    """Run one partition covering the whole benchmark day under the profiler."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--es-url", default="http://127.0.0.1:9400")
    parser.add_argument("--html", default=None)
    parser.add_argument("--pii", default="drop")
    parser.add_argument("--cprofile", action="store_true", help="CPU view (cProfile, by own time) instead")
    args = parser.parse_args()
    setup_airflow_env()
    from pyinstrument import Profiler

    from genesys_es.extract.planning import Partition, make_label
    from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator
    from genesys_es.run_config import build_run_config

    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    es = es_client(args.es_url)
    prepare_index(es, "bench-profile")
    config = build_run_config(
        {
            "date_from": DAY.isoformat(),
            "date_to": DAY.isoformat(),
            "index_prefix": "bench-profile",
            "pii": args.pii,
        },
        None,
    )
    partition = Partition(
        start=DAY_START,
        end=DAY_END,
        first_page=1,
        last_page=None,
        page_size=100,
        expected=args.conversations,
        label=make_label(DAY_START, DAY_END, 1, None),
    )
    with simulator({DAY: args.conversations}) as sim:
        set_connections(args.es_url, sim.base_url)
        op = GenesysToElasticsearchOperator(
            task_id="extract_and_index", partition=partition.to_xcom(), run_config=config.to_xcom()
        )
        context = {"ti": SimpleNamespace(try_number=1, map_index=0), "run_id": "bench__profile"}
        if args.cprofile:
            import cProfile
            import pstats

            cpu = cProfile.Profile()
            summary = cpu.runcall(op.execute, context)
            print(summary)
            pstats.Stats(cpu).sort_stats("tottime").print_stats(25)
            return
        profiler = Profiler(interval=0.001)
        profiler.start()
        summary = op.execute(context)
        profiler.stop()
    print(summary)
    print(profiler.output_text(unicode=False, color=False, show_all=False, timeline=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())


if __name__ == "__main__":
    main()
