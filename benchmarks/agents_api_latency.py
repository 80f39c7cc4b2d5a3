"""Agent create/read/update/list latency through the user server, the agents service and the store,
on both store backends.

Starts a real hub (the platform's configuration, with its proxy and the agents
service) per backend: SQLite, then Google Firestore on the emulator started
here (``gcloud emulators firestore start``). An approved person, with a
JupyterHub token of their own, then makes each operation ``--ops`` times over
one kept-alive connection, twice: through their own server (``/user/<name>/api/agents``:
proxy -> user server, which forwards to the service and keeps the agent's folder and
kernelspec in step -> service -> store), and straight to the service (proxy -> service
-> store), to show what the user server's hop costs:

  create   POST  api/agents                 (a new agent each time)
  read     GET   api/agents/<id>            (with its usage)
  update   PATCH api/agents/<id>            (one field; the version grows)
  list     GET   api/agents                 (all of them, with usage: ``--ops`` agents by then)

Run from the project root:

    .venv/bin/python benchmarks/agents_api_latency.py [--ops 200] [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hub.conftest import ADMIN, SERVICE, Hub  # noqa: E402
from tests.store.conftest import running_firestore_emulator  # noqa: E402

AGENTS = SERVICE + "api/agents"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call: Callable[[], requests.Response], expected: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != expected:
        raise RuntimeError(f"expected HTTP {expected}, got {response.status_code}: {response.text[:300]}")
    return elapsed


def approved_session(hub: Hub) -> tuple[requests.Session, str]:
    """An approved person's HTTP session (their own JupyterHub token) and their running server's agents URL."""
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = f"bench-{uuid.uuid4().hex[:6]}@example.org"
    token = hub.token_for(hub.sign_in(email))
    hub.api(token, "POST", SERVICE + "api/beta/applications", json={"name": "Bench", "purpose": "Benchmarks"})
    decided = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
    decided.raise_for_status()
    hub.start_server(token, email)
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    return session, f"{hub.url}/user/{email}/api/agents"


def measure(hub: Hub, ops: int) -> dict[str, dict[str, list[float]]]:
    http, server_url = approved_session(hub)
    return {"user server": measure_path(http, server_url, ops, "S"), "service": measure_path(http, hub.url + AGENTS, ops, "D")}


def measure_path(http: requests.Session, url: str, ops: int, tag: str) -> dict[str, list[float]]:
    # Warm up: the service's first look-up of the token at the hub, connections, the store's first queries.
    warm = http.post(url, json={"name": "warm-up"}, timeout=30).json()
    http.get(f"{url}/{warm['id']}", timeout=30)
    http.delete(f"{url}/{warm['id']}", timeout=30)

    times: dict[str, list[float]] = {"create": [], "read": [], "update": [], "list": []}
    ids = []
    for n in range(ops):
        started = time.perf_counter()
        response = http.post(url, json={"name": f"Agent {tag}{n}", "instructions": "Be brief.", "allowed_tools": ["Read"]},
                             timeout=30)
        times["create"].append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"create failed: HTTP {response.status_code} {response.text[:300]}")
        ids.append(response.json()["id"])
    for agent_id in ids:
        times["read"].append(timed(lambda: http.get(f"{url}/{agent_id}", timeout=30), 200))
    for n, agent_id in enumerate(ids):
        times["update"].append(timed(lambda: http.patch(f"{url}/{agent_id}", json={"description": f"v{n}"}, timeout=30), 200))
    for _ in range(ops):
        times["list"].append(timed(lambda: http.get(url, timeout=30), 200))
    http.close()
    return times


def run_backend(workdir: Path, ops: int, env: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    hub = Hub(workdir, env)
    try:
        return measure(hub, ops)
    finally:
        hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=200, help="operations of each kind (default 200)")
    parser.add_argument("--backends", default="sqlite,firestore", help="comma-separated: sqlite, firestore")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="oma-agents-bench-") as tmp:
        root = Path(tmp)
        for backend in backends:
            workdir = root / backend
            workdir.mkdir()
            print(f"[{backend}] starting the hub and measuring {args.ops} operations of each kind ...", flush=True)
            if backend == "sqlite":
                results[backend] = run_backend(workdir, args.ops, {})
            elif backend == "firestore":
                with running_firestore_emulator(workdir / "emulator.log") as host:
                    env = {"OMA_STORE_URL": f"firestore://oma-bench?prefix=b{uuid.uuid4().hex[:8]}_",
                           "FIRESTORE_EMULATOR_HOST": host}
                    results[backend] = run_backend(workdir, args.ops, env)
            else:
                raise SystemExit(f"unknown backend {backend!r}: use sqlite or firestore")

    print()
    print("Agents API latency (one client, sequential requests, kept-alive connection, JupyterHub token;")
    print(f"{args.ops} operations of each kind; list = {args.ops} agents). 'user server' is the path people and")
    print("the dashboard use: proxy -> user server (forwards, writes the folder and kernelspec) -> service -> store;")
    print("'service' skips the user server: proxy -> service -> store.")
    print()
    print(f"{'backend':<10} {'path':<12} {'operation':<8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'max ms':>8}")
    for backend, paths in results.items():
        for path, times in paths.items():
            for operation, values in times.items():
                ms = [v * 1000 for v in values]
                print(f"{backend:<10} {path:<12} {operation:<8} {percentile(ms, 0.5):8.1f} {percentile(ms, 0.95):8.1f} "
                      f"{statistics.fmean(ms):8.1f} {max(ms):8.1f}")


if __name__ == "__main__":
    main()
