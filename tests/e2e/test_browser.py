"""The Airflow UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Log in on the SimpleAuthManager page, open the DAG, open the trigger form, fill its params, trigger, and see
the run succeed in the UI. The screenshot of the finished run is saved in ``test-artifacts/``.
Playwright never downloads a browser here: it launches ``/usr/bin/chromium``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from elasticsearch import Elasticsearch

from tests.e2e.airflow_api import AirflowAPI
from tests.e2e.stack import ARTIFACTS, Stack, past_day
from tests.e2e.targets import (
    PROBE_CONVERSATIONS_PER_DAY,
    Target,
    assert_day_matches_source,
    assert_run_succeeded,
)

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_DAY = past_day(12)
SCREENSHOT = ARTIFACTS / "airflow-ui-run-success.png"


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    """A fresh headless Chromium page (no downloaded browser, no network beyond localhost)."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (run scripts/install-system-deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            # Generous: on 2 shared cores the UI's first render can take many seconds.
            page.set_default_timeout(90_000)
            yield page
        finally:
            browser.close()


def log_in(page: Any, stack: Stack) -> None:
    """Sign in on the SimpleAuthManager page (the page must show it: a fresh browser context)."""
    from playwright.sync_api import expect

    page.goto(f"{stack.base_url}/")
    username = page.get_by_label("Username")
    signed_in = page.get_by_role("link", name="Dags")
    expect(username.or_(signed_in).first).to_be_visible()
    if not username.is_visible():
        return  # this module's page is already signed in
    expect(page).to_have_url(re.compile(r"/auth/login"))
    username.fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.base_url}/")


def form_values(target: Target, prefix: str) -> tuple[dict[str, str], dict[str, int]]:
    """Return the text/date fields and the number fields the test types into the trigger form."""
    text = {"date_from": UI_DAY, "date_to": UI_DAY, "index_prefix": prefix}
    if target.dag_id == "e2e_probe":
        numbers = {"conversations_per_day": PROBE_CONVERSATIONS_PER_DAY}
    else:
        numbers = {"pages_per_partition": 1, "refresh_open_days": 0}
    return text, numbers


def test_trigger_from_the_ui_form_and_see_success(
    browser_page: Any, airflow_stack: Stack, airflow_api: AirflowAPI, target: Target, es: Elasticsearch
) -> None:
    """Log in, open the DAG, fill the trigger form, trigger, and watch the run succeed."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    page = browser_page
    base = airflow_stack.base_url

    # 1. The SimpleAuthManager login page.
    log_in(page, airflow_stack)

    # 2. The DAG's page and its trigger form.
    page.goto(f"{base}/dags/{target.dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Trigger Dag - {target.dag_id}")).to_be_visible()
    expect(dialog.get_by_text("Run Parameters")).to_be_visible()

    # 3. Fill the params (dates, a private index prefix, numbers), as a user would.
    prefix = f"e2e-ui-{uuid.uuid4().hex[:8]}"
    text, numbers = form_values(target, prefix)
    for name, value in text.items():
        field = dialog.locator(f"#element_{name}")
        field.fill(value)
        expect(field).to_have_value(value)
    for name, value in numbers.items():
        field = dialog.locator(f"[name=element_{name}]")
        field.fill(str(value))
        expect(field).to_have_value(str(value))

    # The form turns into the run's configuration (checked on the run below: the JSON editor under Advanced
    # Options renders only the lines in view, so a longer form hides some of them).
    expected_conf = {**text, **numbers}

    # 4. Trigger: the UI opens the new run.
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url(re.compile(rf"/dags/{target.dag_id}/runs/.+"))
    run_id = unquote(page.url.rsplit("/runs/", 1)[1].split("?")[0])
    run = airflow_api.run(target.dag_id, run_id)
    assert run["run_type"] == "manual" and run["triggering_user_name"] == airflow_stack.username
    for name, value in expected_conf.items():
        assert run["conf"][name] == value, name

    # 5. The run succeeds, and the UI says so.
    run = airflow_api.wait_for_run(target.dag_id, run_id)
    assert_run_succeeded(airflow_api, target, run)
    page.reload()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text(target.mapped_task).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d+ Task Instances$"))).to_be_visible()
    tis = airflow_api.task_instances(target.dag_id, run_id)
    assert tis and all(ti["state"] == "success" for ti in tis)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    # 6. A partition's log reads as a story: its start, progress, a one-sentence summary, no client chatter.
    partition = next(ti for ti in tis if ti["task_id"] == target.mapped_task and ti["map_index"] == 0)
    label = partition["rendered_map_index"]
    page.goto(f"{base}/dags/{target.dag_id}/runs/{quote(run_id)}/tasks/{target.mapped_task}/mapped/0")
    if target.dag_id == "genesys_conversations_to_es":
        expect(page.get_by_text(f"partition {label}: pages", exact=False)).to_be_visible()
        expect(page.get_by_text("progress: 1 page(s)", exact=False).first).to_be_visible()
        expect(page.get_by_text(f"partition {label} done:", exact=False)).to_be_visible()
        body = page.locator("body").inner_text()
        assert not re.search(r"(POST|GET|PUT|HEAD) http", body), "Elasticsearch client request lines at INFO"
        # The day's reconciliation is in the verify task's log.
        page.goto(f"{base}/dags/{target.dag_id}/runs/{quote(run_id)}/tasks/verify")
        expect(page.get_by_text("Reconciliation per UTC day", exact=False)).to_be_visible()
        expect(page.get_by_text(re.compile(rf"{UI_DAY}\s+\d+\s+\d+\s+0\s"))).to_be_visible()

    # The run did real work: the day is in Elasticsearch under the prefix typed into the form.
    ui_target = Target(
        dag_id=target.dag_id, mapped_task=target.mapped_task, prefix=prefix, stack=airflow_stack
    )
    try:
        assert_day_matches_source(ui_target, es, UI_DAY)
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def test_connections_are_in_admin_and_their_test_button_answers(
    browser_page: Any, airflow_stack: Stack, airflow_api: AirflowAPI
) -> None:
    """Admin -> Connections lists the connections; Test succeeds, and names the cause after a wrong secret."""
    from playwright.sync_api import expect

    if airflow_stack.simulator is None:
        pytest.skip("the genesys_cloud connection needs the simulator")
    expect.set_options(timeout=60_000)
    page = browser_page
    log_in(page, airflow_stack)
    page.goto(f"{airflow_stack.base_url}/connections")
    expect(page.get_by_role("row").filter(has_text="elasticsearch_default")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="genesys_cloud_default")
    expect(row).to_be_visible()

    row.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_text("Test Connection Successful")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Connected to Genesys Cloud at http"))).to_be_visible()

    def save_secret(secret: str) -> None:
        row.get_by_role("button", name="Edit Connection").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Client secret")).to_be_visible()
        dialog.locator("[name=password]").fill(secret)
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()

    # Edited in the UI: a wrong secret, tested from the list.
    save_secret("not-the-secret")
    try:
        row.get_by_role("button", name="Test Connection").click()
        expect(page.get_by_text("Test Connection Failed")).to_be_visible()
        failure = page.get_by_text(re.compile(r"refused the OAuth client credentials of client id"))
        expect(failure).to_be_visible()
        expect(failure).to_contain_text("check the client id and secret")
        expect(failure).to_contain_text(airflow_stack.simulator.base_url)
    finally:
        save_secret("demo-secret")
    stored = airflow_api.get("/connections/genesys_cloud_default")
    assert stored["login"] == "demo-client" and stored["port"] == 443


def test_a_refused_index_prefix_is_named_with_its_rule(
    browser_page: Any, airflow_stack: Stack, airflow_api: AirflowAPI, target: Target
) -> None:
    """The form takes the prefix; the run's first task refuses it, naming the field and the rule."""
    from playwright.sync_api import expect

    if target.dag_id != "genesys_conversations_to_es":
        pytest.skip("the ingest DAG's form")
    expect.set_options(timeout=60_000)
    page = browser_page
    log_in(page, airflow_stack)
    page.goto(f"{airflow_stack.base_url}/dags/{target.dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Run Parameters")).to_be_visible()
    expect(dialog.get_by_text("starting with a letter")).to_be_visible()  # the field states its rule
    dialog.locator("#element_index_prefix").fill("Bad Prefix!")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url(re.compile(rf"/dags/{target.dag_id}/runs/.+"))
    run_id = unquote(page.url.rsplit("/runs/", 1)[1].split("?")[0])
    run = airflow_api.wait_for_run(target.dag_id, run_id)
    assert run["state"] == "failed"
    states = {ti["task_id"]: ti["state"] for ti in airflow_api.task_instances(target.dag_id, run_id)}
    assert states["resolve_run"] == "failed" and states.get(target.mapped_task) != "success", states
    page.goto(f"{airflow_stack.base_url}/dags/{target.dag_id}/runs/{quote(run_id)}/tasks/resolve_run")
    expect(
        page.get_by_text(
            "index_prefix: invalid index prefix 'Bad Prefix!': use lowercase letters", exact=False
        ).first
    ).to_be_visible()
