#!/usr/bin/env python3
"""What the model gateway adds to a streamed answer: direct to the fake model against through the gateway.

    .venv/bin/python benchmarks/gateway.py [--turns 200] [--samples 200]

Runs, on this machine, the fake model (tests/fake_model.py) in a process of its own, a stand-in for the
hub's token API (the gateway keeps its answer for a few seconds, as in production), and the real gateway
process (python -m model_gateway, with its SQLite store: budgets checked and usage recorded for every
request). Then, from this process, with one aiohttp client:

1. time to the first streamed byte, one request at a time: p50 and p95, direct and through the gateway;
2. the arrival time of each event of an answer streamed 20 ms apart: the spacing through the gateway
   against direct (a gateway that buffered would deliver them bunched);
3. N concurrent streaming turns at once: all complete?, p95 of the turn's duration, direct and through the
   gateway, and the gateway's memory (RSS) at the end.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.network import ThreadedApp, free_port  # noqa: E402

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}


def run_fake_model(port: int, text: str, chunk: int, delay: float) -> None:
    from tests.fake_model import FakeModel, Reply

    model = FakeModel().start(port)
    model.script(Reply(text=text, chunk=chunk, delay=delay, sticky=True))
    while True:
        time.sleep(3600)


def fake_hub_api() -> ThreadedApp:
    async def user(request: web.Request) -> web.Response:
        return web.json_response({"kind": "user", "name": "bench@example.org",
                                  "scopes": ["access:services!service=model-gateway"]})

    app = web.Application()
    app.router.add_get("/hub/api/user", user)
    return ThreadedApp(app, "fake-hub-api")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def first_byte(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.post(url + "/v1/messages", json=BODY, headers=HEADERS) as answer:
        await answer.content.readany()
        elapsed = time.perf_counter() - started
        await answer.read()
    return elapsed


async def event_times(session: aiohttp.ClientSession, url: str) -> list[float]:
    started = time.perf_counter()
    times = []
    async with session.post(url + "/v1/messages", json=BODY, headers=HEADERS) as answer:
        async for line in answer.content:
            if line.startswith(b"data:") and b"text_delta" in line:
                times.append(time.perf_counter() - started)
    return times


async def turn(session: aiohttp.ClientSession, url: str) -> tuple[bool, float]:
    started = time.perf_counter()
    try:
        async with session.post(url + "/v1/messages", json=BODY, headers=HEADERS) as answer:
            raw = await answer.read()
        return answer.status == 200 and b"message_stop" in raw, time.perf_counter() - started
    except aiohttp.ClientError:
        return False, time.perf_counter() - started


HEADERS = {"anthropic-version": "2023-06-01", "Authorization": "Bearer bench-token"}


async def measure(direct: str, gateway: str, samples: int, turns: int, gateway_pid: int) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in (direct, gateway):  # warm up both paths (connections, the token cache, SQLite)
            for _ in range(5):
                await first_byte(session, url)
        print("1. time to the first streamed byte, one request at a time "
              f"({samples} each, interleaved):")
        firsts: dict[str, list[float]] = {direct: [], gateway: []}
        for _ in range(samples):
            for url in (direct, gateway):
                firsts[url].append(await first_byte(session, url))
        for label, url in (("direct", direct), ("gateway", gateway)):
            values = firsts[url]
            print(f"   {label:8} p50 {percentile(values, 50) * 1000:6.2f} ms   p95 {percentile(values, 95) * 1000:6.2f} ms")
        print(f"   added    p50 {(percentile(firsts[gateway], 50) - percentile(firsts[direct], 50)) * 1000:6.2f} ms   "
              f"p95 {(percentile(firsts[gateway], 95) - percentile(firsts[direct], 95)) * 1000:6.2f} ms")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        print("2. arrival of each streamed event (deltas sent 20 ms apart), from the request:")
        direct_times = await event_times(session, direct)
        gateway_times = await event_times(session, gateway)
        gaps_direct = [b - a for a, b in zip(direct_times, direct_times[1:])]
        gaps_gateway = [b - a for a, b in zip(gateway_times, gateway_times[1:])]
        print("   direct  (ms): " + " ".join(f"{t * 1000:.0f}" for t in direct_times))
        print("   gateway (ms): " + " ".join(f"{t * 1000:.0f}" for t in gateway_times))
        print(f"   spacing direct mean {statistics.mean(gaps_direct) * 1000:.1f} ms (min {min(gaps_direct) * 1000:.1f}), "
              f"gateway mean {statistics.mean(gaps_gateway) * 1000:.1f} ms (min {min(gaps_gateway) * 1000:.1f}); "
              f"events {len(direct_times)} / {len(gateway_times)}")

    for label, url in (("direct", direct), ("gateway", gateway)):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            started = time.perf_counter()
            results = await asyncio.gather(*(turn(session, url) for _ in range(turns)))
            wall = time.perf_counter() - started
        durations = [d for _, d in results]
        done = sum(ok for ok, _ in results)
        if label == "direct":
            direct_p95 = percentile(durations, 95)
            print(f"3. {turns} concurrent streaming turns (20 deltas, 20 ms apart):")
        print(f"   {label:8} complete {done}/{turns}   p50 {percentile(durations, 50) * 1000:7.1f} ms   "
              f"p95 {percentile(durations, 95) * 1000:7.1f} ms   all done in {wall:.2f} s")
    print(f"   added at p95 {(percentile(durations, 95) - direct_p95) * 1000:.1f} ms; "
          f"gateway RSS {psutil.Process(gateway_pid).memory_info().rss / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()

    model_port = free_port()
    model = multiprocessing.get_context("spawn").Process(
        target=run_fake_model, args=(model_port, "word " * 16, 4, 0.02), daemon=True)
    model.start()
    hub = fake_hub_api()
    hub_port = hub.start()
    folder = tempfile.mkdtemp(prefix="gateway-bench-")
    gateway_port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{gateway_port}",
           "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
           "OMA_STORE_URL": f"sqlite:///{folder}/store.sqlite", "ANTHROPIC_API_KEY": "sk-bench",
           "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{model_port}"}
    gateway = subprocess.Popen([sys.executable, "-m", "model_gateway"], env=env, cwd=PROJECT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import requests

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{gateway_port}/health", timeout=1).ok and \
                        requests.get(f"http://127.0.0.1:{model_port}/", timeout=1).status_code == 404:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        print(f"gateway benchmark on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}")
        asyncio.run(measure(f"http://127.0.0.1:{model_port}", f"http://127.0.0.1:{gateway_port}", args.samples,
                            args.turns, gateway.pid))
    finally:
        gateway.terminate()
        gateway.wait(10)
        model.terminate()
        model.join(5)
        hub.stop()


if __name__ == "__main__":
    main()
