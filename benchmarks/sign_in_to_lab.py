"""Sign-in to JupyterLab-ready on the local spawner, with its breakdown.

Drives headless Chromium through a real hub (dev login, the platform's
configuration) for an approved person: sign in, press "Start My Server",
wait for JupyterLab's launcher. Each run is split into:

  sign-in         login form submitted -> hub home page shown
  server start    "Start" pressed -> the user server logs that it is running
  hub notices     server running -> the hub has seen it answer (the hub's polling)
  to JupyterLab   hub noticed -> browser at JupyterLab's URL (redirects, the server's OAuth)
  lab loads       JupyterLab URL -> launcher visible (a fresh browser profile: nothing cached)

The same runs are made against stock JupyterHub settings (its
SimpleLocalProcessSpawner and stock user server) in the same process, as the
baseline. Run from the project root:

    .venv/bin/python benchmarks/sign_in_to_lab.py [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_model import FakeModel  # noqa: E402
from tests.hub.conftest import ADMIN, Hub  # noqa: E402

NOTICED = re.compile(r"\[I (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) JupyterHub [^\]]*\] User \S+ took [\d.]+ seconds to start")
RUNNING = re.compile(r"\[I (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ServerApp\] Jupyter Server .* is running at")


def logged_at(pattern: re.Pattern, log: str, after: float) -> float | None:
    """When the first line matching ``pattern`` after ``after`` was logged."""
    for match in pattern.finditer(log):
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if stamp >= after - 0.5:
            return stamp
    return None


def one_run(hub: Hub, browser, email: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", email)
    t0 = time.time()
    page.click("#login_submit")
    page.wait_for_url(f"{hub.url}/hub/home")
    t1 = time.time()
    page.click("#start")
    t2 = time.time()
    page.wait_for_url(f"**/user/{email}/lab**", timeout=120_000)
    t3 = time.time()
    page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
    t4 = time.time()
    context.close()
    hub.logs()  # flushes the log file
    log = (hub.workdir / "hub.log").read_text()
    up = logged_at(RUNNING, log, t2) or t3
    noticed = logged_at(NOTICED, log, t2) or t3
    return {"sign-in": t1 - t0, "server start": up - t2, "hub notices": max(noticed - up, 0.0),
            "to JupyterLab": max(t3 - noticed, 0.0), "lab loads": t4 - t3, "total": t4 - t0}


def measure(label: str, extra_args: tuple[str, ...], runs: int, browser, model: FakeModel) -> list[dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="oma-bench-"))
    hub = Hub(workdir, model.client_environment(), extra_args)
    results = []
    try:
        admin = hub.sign_in(ADMIN)
        token = hub.token_for(admin)
        email = "bench@example.org"
        hub.api(token, "POST", "/hub/api/users/bench@example.org")
        hub.api(token, "POST", "/hub/api/groups/beta/users", json={"users": [email]})
        for i in range(runs + 1):  # the first run warms caches (pyc files, lab assets) and is not counted
            result = one_run(hub, browser, email)
            hub.stop_server(token, email)
            if i:
                results.append(result)
            print(f"  {label} run {i}{' (warm-up)' if not i else ''}: " +
                  ", ".join(f"{k} {v:.2f}s" for k, v in result.items()), flush=True)
    finally:
        hub.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    model = FakeModel().start()
    stock = ("--JupyterHub.spawner_class=simple",
             f"--SimpleLocalProcessSpawner.home_dir_template={tempfile.mkdtemp(prefix='oma-stock-')}/{{username}}",
             "--Spawner.args=['--allow-root']", f"--Spawner.cmd=['{Path(sys.executable).parent / 'jupyterhub-singleuser'}']")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        figures = {
            "stock JupyterHub": measure("stock", stock, args.runs, browser, model),
            "oh-my-agent": measure("oh-my-agent", (), args.runs, browser, model),
        }
        browser.close()
    model.stop()
    phases = ["sign-in", "server start", "hub notices", "to JupyterLab", "lab loads", "total"]
    print(f"\nmedian of {args.runs} runs (s)      " + "".join(f"{p:>14}" for p in phases))
    medians = {}
    for label, runs in figures.items():
        medians[label] = {p: statistics.median(r[p] for r in runs) for p in phases}
        print(f"{label:<28}" + "".join(f"{medians[label][p]:>14.2f}" for p in phases))
    ratio = medians["oh-my-agent"]["total"] / medians["stock JupyterHub"]["total"]
    print(f"\nsign-in to JupyterLab-ready: {medians['oh-my-agent']['total']:.2f} s "
          f"(stock: {medians['stock JupyterHub']['total']:.2f} s, ratio {ratio:.2f}; the seed's product: 3 s)")


if __name__ == "__main__":
    main()
