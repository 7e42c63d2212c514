"""Turn a benchmark result into latest.json, the markdown table (latest.md) and the scale chart (scale.png)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SECTIONS = (
    "compare",
    "compare_split",
    "latency",
    "workers_sweep",
    "bulk_settings",
    "throttled",
    "jobs",
    "airflow",
    "scale",
    "search",
)


def merge_previous(result: dict[str, Any], previous_path: Path) -> dict[str, Any]:
    """Carry over sections this run skipped from the previous latest.json (each keeps its own date)."""
    if not previous_path.exists():
        return result
    previous = json.loads(previous_path.read_text())
    for section in SECTIONS:
        if section not in result and section in previous:
            result[section] = previous[section]
            result.setdefault("carried_over", {})[section] = previous.get("section_dates", {}).get(
                section, previous.get("when")
            )
    dates = dict(previous.get("section_dates", {}))
    for section in SECTIONS:
        if section in result and section not in result.get("carried_over", {}):
            dates[section] = result["when"]
    result["section_dates"] = dates
    return result


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(result: dict[str, Any]) -> str:
    """Return the markdown table of the headline numbers."""
    rows: list[tuple[str, str, str]] = []
    comp = result.get("compare")
    if comp:
        c, p, b = comp["ceiling_docs_per_s"], comp["pipeline_docs_per_s"], comp["baseline_docs_per_s"]
        best = comp["ceiling_best"]
        rows += [
            (
                "Raw bulk ceiling (pre-serialized, posted and refreshed)",
                f"{_fmt(c['median'])} docs/s",
                f"{best['threads']} thread(s) x {best['chunk_docs']} docs; runs {c['runs']}",
            ),
            (
                "Pipeline end to end, unthrottled",
                f"{_fmt(p['median'])} docs/s",
                f"{comp['pipeline_workers']} partition tasks at once; runs {p['runs']}",
            ),
            ("Naive baseline", f"{_fmt(b['median'])} docs/s", f"runs {b['runs']}"),
        ]
        cpu = comp.get("cpu_ms_per_doc", {}).get("pipeline")
        if cpu:
            rows.append(
                (
                    "CPU per document, pipeline run",
                    f"{cpu['total']:.2f} ms",
                    f"Elasticsearch {cpu['elasticsearch']:.2f}, simulator {cpu['simulator']:.2f}, "
                    f"partition tasks {cpu['tasks'] + cpu['harness']:.2f} "
                    f"(ceiling run: Elasticsearch {comp['cpu_ms_per_doc']['ceiling']['elasticsearch']:.2f})",
                )
            )
        posting = comp.get("ceiling_posting_only_docs_per_s")
        if posting:
            rows.append(
                (
                    "Raw bulk posting alone (no refresh)",
                    f"{_fmt(posting['median'])} docs/s",
                    f"same runs; pipeline / this: {comp['ratio_pipeline_posting_only']:.2f} "
                    "(the segments of these documents are not written yet when the clock stops)",
                )
            )
        rows += [
            (
                "**Pipeline / ceiling**",
                f"**{comp['ratio_pipeline_ceiling']:.2f}**",
                "all on the same cores; goal >= 0.8 (issue 5: >= 0.7)",
            ),
            ("**Pipeline / baseline**", f"**{comp['ratio_pipeline_baseline']:.1f}x**", "goal >= 5x"),
        ]
        if "parallel_baseline_docs_per_s" in comp:
            fair = comp["parallel_baseline_docs_per_s"]
            rows += [
                (
                    "Fair baseline: thread pool + `parallel_bulk`",
                    f"{_fmt(fair['median'])} docs/s",
                    f"4 page threads, parallel_bulk 4 x 500, refresh off while loading; runs {fair['runs']}",
                ),
                (
                    "**Pipeline / fair baseline**",
                    f"**{comp['ratio_pipeline_parallel_baseline']:.2f}x**",
                    "what budget, retries, dead letters and partitions cost (or save) against an afternoon's code",
                ),
            ]
    split = result.get("compare_split")
    if split:
        c, p = split["ceiling_docs_per_s"], split["pipeline_docs_per_s"]
        where = (
            f"Elasticsearch pinned to CPU(s) {split['elasticsearch_cpus']}, harness, simulator and "
            f"partition tasks to {split['pipeline_cpus']}"
        )
        cpu = split.get("cpu_ms_per_doc", {}).get("pipeline", {})
        rows += [
            (
                "Raw bulk ceiling, Elasticsearch on cores of its own",
                f"{_fmt(c['median'])} docs/s",
                f"{where}; {split['ceiling_best']['threads']} thread(s) x "
                f"{split['ceiling_best']['chunk_docs']} docs; runs {c['runs']}",
            ),
            (
                "Pipeline end to end, Elasticsearch on cores of its own",
                f"{_fmt(p['median'])} docs/s",
                f"runs {p['runs']}; CPU per document: Elasticsearch {cpu.get('elasticsearch', 0):.2f} ms, "
                f"partition tasks {cpu.get('tasks', 0) + cpu.get('harness', 0):.2f} ms",
            ),
            (
                "**Pipeline / ceiling, Elasticsearch on cores of its own**",
                f"**{split['ratio_pipeline_ceiling']:.2f}**",
                f"as deployed (the node does not share cores with Airflow workers); "
                f"vs posting alone {split['ratio_pipeline_posting_only']:.2f}",
            ),
        ]
    lat = result.get("latency")
    if lat:
        rows += [
            (
                f"Pipeline, API answering in +{lat['api_latency_seconds']:g} s",
                f"{_fmt(lat['pipeline_docs_per_s']['median'])} docs/s",
                f"runs {lat['pipeline_docs_per_s']['runs']}",
            ),
            (
                f"Naive baseline, API answering in +{lat['api_latency_seconds']:g} s",
                f"{_fmt(lat['baseline_docs_per_s']['median'])} docs/s",
                f"runs {lat['baseline_docs_per_s']['runs']}",
            ),
            (
                "**Pipeline / baseline with API latency**",
                f"**{lat['ratio_pipeline_baseline']:.1f}x**",
                "a remote Genesys answers a details page in hundreds of ms; the local simulator in a few",
            ),
        ]
    sweep = result.get("workers_sweep")
    if sweep:
        rows.append(
            (
                "Pipeline by partition tasks at once",
                ", ".join(f"{r['workers']}: {_fmt(r['docs_per_s']['median'])}" for r in sweep["rows"]),
                "docs/s, unthrottled, interleaved runs (the DAG's default is 4: `[genesys_es] max_active_partitions`)",
            )
        )
    thr = result.get("throttled")
    if thr:
        rows.append(
            (
                "**Achieved / allowed request rate**",
                f"**{thr['ratio_achieved_allowed']:.2f}**",
                f"{_fmt(thr['achieved_requests_per_minute'], 1)} of {thr['allowed_requests_per_minute']} "
                f"requests/min, {thr['api_retries']} retries",
            )
        )
    jobs = result.get("jobs")
    if jobs:
        rate = jobs["requests_per_minute"]
        rows += [
            (
                f"Jobs path at {rate} requests/min",
                f"{_fmt(jobs['jobs_docs_per_s']['median'])} docs/s",
                f"{jobs['conversations']:,}-conversation day, end to end into Elasticsearch (plan, submit, wait "
                f"deferred, read by cursor, index); runs {jobs['jobs_docs_per_s']['runs']}",
            ),
            (
                f"Sync path at {rate} requests/min",
                f"{_fmt(jobs['sync']['docs_per_s'])} docs/s",
                f"same day, same run; {jobs['sync']['api_requests']} requests",
            ),
            (
                "**Jobs path / sync path**",
                f"**{jobs['ratio_jobs_sync']:.1f}x**",
                f"{_fmt(jobs['ratio_jobs_sync'] * jobs['sync']['docs_per_s'] * 60)} against "
                f"{_fmt(jobs['sync']['docs_per_s'] * 60)} conversations/min; goal >= 5x",
            ),
            (
                "**Jobs path / raw bulk ceiling**",
                f"**{jobs['ratio_jobs_ceiling']:.2f}**",
                f"ceiling of the same (jobs-shaped) documents {_fmt(jobs['ceiling_docs_per_s']['median'])} docs/s, "
                f"interleaved; goal >= 0.7; at {rate} requests/min the jobs path cannot pass "
                f"{_fmt(jobs['jobs_budget_bound_docs_per_s'])} docs/s (1,000 per request)",
            ),
            (
                "Jobs path without a budget / ceiling",
                f"{jobs['ratio_unbudgeted_ceiling']:.2f}",
                f"{_fmt(jobs['jobs_unbudgeted_docs_per_s']['median'])} docs/s, same day and tasks, simulator "
                f"unlimited (a raised budget); runs {jobs['jobs_unbudgeted_docs_per_s']['runs']}",
            ),
            *_jobs_cpu_rows(jobs),
            (
                "Jobs path, peak RSS per task by slice",
                ", ".join(
                    f"{m['slice_conversations'] // 1000}k: {m['peak_rss_mb_per_task']:.0f} MB"
                    for m in jobs["memory_by_slice"]
                ),
                "one task reads the whole slice by cursor (goal: flat)",
            ),
        ]
    for section in result.get("airflow", []):
        measured = section["runs"][-1]
        rows.append(
            (
                f"Through real Airflow ({section['executor']}), day of {section['conversations']:,}",
                f"{_fmt(measured['docs_per_s_run'])} docs/s",
                f"trigger to success {measured['run_seconds']:.0f} s (plan, {measured['partitions']} partitions on "
                f"{section['slots']} slots, verify, publish); partition phase alone "
                f"{_fmt(measured['docs_per_s_partition_phase'])} docs/s; after one warm-up run",
            )
        )
    for row in result.get("scale", []):
        rows.append(
            (
                f"Day of {row['day_conversations']:,} conversations",
                f"{_fmt(row['docs_per_s'])} docs/s",
                f"{row['seconds']:,.0f} s, {row['partitions']} partitions, peak RSS per task "
                f"{row['peak_rss_mb_per_task']:.0f} MB (+{row['peak_growth_mb_per_task']:.0f} MB over its start); "
                "one cold pass (the simulator renders every page)",
            )
        )
    search = result.get("search")
    if search:
        rows.append(
            (
                f"Search p50 / p95 at {search['indexed_conversations']:,} conversations",
                f"{search['client_p50_ms']:.0f} / {search['client_p95_ms']:.0f} ms",
                f"{len(search['probes'])} probes x {search['runs_per_probe']} runs, client-side "
                f"(server took p95 {search['took_p95_ms']:.0f} ms)",
            )
        )
    machine = result.get("machine_at_start", {})
    header = (
        f"Measured {result['when'][:10]} ({result['mode']} mode) on {machine.get('cpus')} CPUs shared with other "
        f"work (load average {machine.get('load_average_1m')}), Elasticsearch {result.get('elasticsearch')}, "
        "medians of repeated runs.\n\n"
    )
    lines = ["| Measure | Result | Notes |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    carried = result.get("carried_over")
    footer = ""
    if carried:
        footer = "\n\nCarried over from earlier runs: " + ", ".join(
            f"{k} ({v[:10]})" for k, v in carried.items()
        )
    return header + "\n".join(lines) + footer + "\n"


def chart(result: dict[str, Any], path: Path) -> bool:
    """Draw throughput and peak memory per task by day size; return False when there is no scale data."""
    rows = result.get("scale")
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["day_conversations"] for r in rows]
    labels = [f"{s // 1000:,}k" for s in sizes]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.bar(labels, [r["docs_per_s"] for r in rows], color="#4c72b0", label="pipeline")
    comp = result.get("compare")
    if comp:
        ax1.axhline(
            comp["ceiling_docs_per_s"]["median"],
            color="#c44e52",
            ls="--",
            label="raw bulk ceiling (comparison day)",
        )
        ax1.axhline(
            comp["baseline_docs_per_s"]["median"],
            color="#999999",
            ls=":",
            label="naive baseline (comparison day)",
        )
    ax1.set_title("Throughput by day size")
    ax1.set_xlabel("conversations in the day")
    ax1.set_ylabel("documents / s (end to end)")
    ax1.legend(loc="center left", fontsize=8)
    ax2.bar(labels, [r["peak_rss_mb_per_task"] for r in rows], color="#55a868", label="peak RSS")
    ax2.bar(
        labels,
        [r["start_rss_mb_per_task"] for r in rows],
        color="#8172b2",
        label="RSS at task start (forked)",
    )
    ax2.set_title("Peak memory of one partition task")
    ax2.set_xlabel("conversations in the day")
    ax2.set_ylabel("MB")
    ax2.legend(loc="lower center", fontsize=8, framealpha=0.9)
    fig.suptitle(
        f"genesys-es benchmark {result['when'][:10]} ({result['machine_at_start'].get('cpus')} CPUs)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_outputs(result: dict[str, Any], directory: Path) -> str:
    """Write latest.json, latest.md and scale.png into ``directory``; return the markdown table."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    md = table(result)
    (directory / "latest.md").write_text(md)
    chart(result, directory / "scale.png")
    return md


if __name__ == "__main__":
    # Re-render latest.md and scale.png from latest.json: python -m bench.report
    from bench.common import RESULTS

    print(write_outputs(json.loads((RESULTS / "latest.json").read_text()), RESULTS))


def _jobs_cpu_rows(jobs: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for where the unbudgeted jobs path spends CPU, and its ratio with Elasticsearch on its own cores."""
    rows = []
    cpu = jobs.get("jobs_unbudgeted_cpu_ms_per_doc")
    if cpu:
        rows.append(
            (
                "CPU per document, jobs path without a budget",
                f"{cpu['total']:.2f} ms",
                f"Elasticsearch {cpu['elasticsearch']:.2f}, simulator {cpu['simulator']:.2f}, "
                f"partition tasks {cpu['tasks']:.2f}; the ceiling spends only Elasticsearch's share",
            )
        )
    split = jobs.get("split")
    if split and "skipped" not in split:
        rows.append(
            (
                "Jobs path without a budget / ceiling, Elasticsearch on cores of its own",
                f"{split['ratio']:.2f}",
                f"{_fmt(split['jobs_docs_per_s']['median'])} of {_fmt(split['ceiling_docs_per_s']['median'])} "
                f"docs/s; Elasticsearch on CPU(s) {split['elasticsearch_cpus']}, the rest on "
                f"{split['pipeline_cpus']}; runs {split['jobs_docs_per_s']['runs']}",
            )
        )
    elif split:
        rows.append(("Jobs path, Elasticsearch on cores of its own", "not measured", split["skipped"]))
    return rows
