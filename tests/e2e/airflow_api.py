"""A small client for Airflow 3's public REST API (v2) with a JWT from ``/auth/token``."""

from __future__ import annotations

import time
from typing import Any

import requests

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowAPIError(AssertionError):
    """The API answered with an unexpected status."""


class AirflowAPI:
    """Call ``/api/v2`` as one user; every call checks its status code."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        """Log in (``POST /auth/token``) and keep the bearer token.

        :param base_url: the api-server's URL, e.g. ``http://127.0.0.1:8280``.
        :param username: a SimpleAuthManager user.
        :param password: its password.
        :param timeout: seconds per request.
        """
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        answer = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": username, "password": password},
            timeout=timeout,
        )
        if answer.status_code not in (200, 201):
            raise AirflowAPIError(f"login failed: {answer.status_code} {answer.text[:300]}")
        self.token = answer.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Send one request to ``/api/v2<path>`` and return the decoded JSON answer."""
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=self.timeout, **kwargs)
        if answer.status_code not in expect:
            raise AirflowAPIError(f"{method} {path}: {answer.status_code} {answer.text[:1000]}")
        return answer.json() if answer.content else None

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters."""
        return self.call("GET", path, params=params or None)

    # --- DAGs -----------------------------------------------------------------------------------------
    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id``; fail early on its import error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=self.timeout)
            if answer.status_code == 200:
                details = self.session.get(
                    f"{self.base_url}/api/v2/dags/{dag_id}/details", timeout=self.timeout
                )
                if details.status_code == 200:
                    return answer.json()
            errors = self.get("/importErrors")["import_errors"]
            for error in errors:
                if error["filename"].endswith(f"{dag_id}.py"):
                    raise AirflowAPIError(f"{dag_id} does not import:\n{error['stack_trace']}")
            time.sleep(2)
        raise AirflowAPIError(f"DAG {dag_id} did not appear within {timeout:.0f}s")

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG so the scheduler runs its triggered and backfill runs."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False}, params={"update_mask": "is_paused"})

    # --- runs -----------------------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        """Trigger a run with params, as the UI's trigger form does (no logical date)."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Return one DAG run."""
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until a run is success or failed and return it."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            time.sleep(2)
        raise AirflowAPIError(
            f"run {run_id} still {run.get('state')} after {timeout:.0f}s: {self.describe(dag_id, run_id)}"
        )

    def task_instances(self, dag_id: str, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
        """Return the task instances of a run (mapped ones one per map index)."""
        params: dict[str, Any] = {"limit": 1000}
        if task_id:
            params["task_id"] = task_id
        items = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", **params)["task_instances"]
        return sorted(items, key=lambda ti: (ti["task_id"], ti["map_index"]))

    def describe(self, dag_id: str, run_id: str) -> str:
        """One line per task instance, for failure messages."""
        return "; ".join(
            f"{ti['task_id']}[{ti['map_index']}]={ti['state']} try {ti['try_number']}"
            for ti in self.task_instances(dag_id, run_id)
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """Return a task instance's log as text (for failure messages)."""
        answer = self.session.get(
            f"{self.base_url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"map_index": map_index, "full_content": True},
            headers={"Accept": "application/json"},
            timeout=self.timeout,
        )
        if answer.status_code != 200:
            raise AirflowAPIError(
                f"log of {task_id}[{map_index}] try {try_number}: {answer.status_code} {answer.text}"
            )
        content = answer.json().get("content")
        if isinstance(content, list):
            return "\n".join(
                " ".join(str(e.get(k, "")) for k in ("timestamp", "level", "event", "error_detail"))
                if isinstance(e, dict)
                else str(e)
                for e in content
            )
        return str(content)

    def clear_task_instances(self, dag_id: str, run_id: str, task_ids: list[Any]) -> list[dict[str, Any]]:
        """Clear exactly the given task ids / ``[task_id, map_index]`` pairs of one run (no neighbours)."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "only_failed": False,
            "include_upstream": False,
            "include_downstream": False,
            "reset_dag_runs": True,
        }
        return self.call("POST", f"/dags/{dag_id}/clearTaskInstances", json=body)["task_instances"]

    # --- backfills ------------------------------------------------------------------------------------
    def create_backfill(
        self, dag_id: str, from_date: str, to_date: str, conf: dict[str, Any], **extra: Any
    ) -> Any:
        """Create a backfill (``POST /api/v2/backfills``)."""
        body = {"dag_id": dag_id, "from_date": from_date, "to_date": to_date, "dag_run_conf": conf, **extra}
        return self.call("POST", "/backfills", json=body)

    def backfill_runs(self, dag_id: str, logical_dates: list[str]) -> list[dict[str, Any]]:
        """Return the backfill runs of a DAG whose logical date (``YYYY-MM-DD``) is one of ``logical_dates``."""
        runs = self.get(f"/dags/{dag_id}/dagRuns", limit=1000, run_type="backfill")["dag_runs"]
        own = [r for r in runs if r["logical_date"] and r["logical_date"][:10] in logical_dates]
        return sorted(own, key=lambda r: r["logical_date"])

    def wait_for_backfill(
        self, dag_id: str, backfill_id: int, logical_dates: list[str], timeout: float = 420.0
    ) -> list[dict[str, Any]]:
        """Wait until the backfill completed and its runs are terminal; return the runs."""
        deadline = time.monotonic() + timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            backfill = self.get(f"/backfills/{backfill_id}")
            runs = self.backfill_runs(dag_id, logical_dates)
            if (
                backfill.get("completed_at")
                and len(runs) == len(logical_dates)
                and all(r["state"] in TERMINAL_RUN_STATES for r in runs)
            ):
                return runs
            time.sleep(3)
        raise AirflowAPIError(
            f"backfill {backfill_id} not done after {timeout:.0f}s: "
            + ", ".join(f"{r['dag_run_id']}={r['state']}" for r in runs)
        )
