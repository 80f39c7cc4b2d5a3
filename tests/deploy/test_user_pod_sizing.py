"""A user pod's CPU and memory: sized from measurements, within Autopilot's rules, costed in the guide.

The chart's defaults (helm/oh-my-agent/values.yaml, userServers.cpu and .memory)
and hub_config's (ClusterSettings, for a hub configured without the chart)
are one decision, written down in docs/deploy-gke.md ("What it costs"). These
tests keep the three together and hold the decision to what was measured.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hub_config.kubernetes import ClusterSettings

PROJECT = Path(__file__).resolve().parents[2]
GUIDE = PROJECT / "docs" / "deploy-gke.md"
GiB = 1024**3
# Measured on the development machine (2 cores), in bytes of PSS (what a pod's memory
# cgroup charges, a shared page once):
MEASURED = {
    # benchmarks/kernel_memory.py: five agent notebooks open, four of them parked, one working
    "five agent notebooks": 543e6,
    # benchmarks/images.py: the user image's server once JupyterLab's page was served
    "the user server": 96e6,
}
# Room above what was measured, for what an agent's tools use besides (git, a Python script).
HEADROOM = 1.25
# Autopilot's general-purpose pods: requests below 0.25 vCPU or 0.5 GiB are raised (on clusters
# without bursting; with bursting the minimum is lower), CPU goes in steps of 0.25 vCPU there, and
# memory per vCPU must lie between 1 and 6.5 GiB, or Autopilot raises one of them to fit: a pod would
# then be billed for more than the chart says.
AUTOPILOT_MIN_CPU, AUTOPILOT_CPU_STEP, AUTOPILOT_MIN_MEMORY = 0.25, 0.25, 0.5 * GiB
AUTOPILOT_GIB_PER_CPU = (1.0, 6.5)
# docs/deploy-gke.md's prices (us-central1, on demand), per hour: a vCPU, a GiB of memory, a GiB of
# ephemeral storage (Autopilot's default 1 GiB request for a container that names none).
PRICES = {"vCPU": "0.0445", "memory": "0.0049225", "ephemeral storage": "0.0000548"}
PRICE_CPU, PRICE_MEMORY, PRICE_EPHEMERAL = (float(price) for price in PRICES.values())


def kubespawner_bytes(size: str) -> float:
    """KubeSpawner's units: K, M, G, T are powers of 1024."""
    number, unit = re.fullmatch(r"([0-9.]+)([KMGT])", size).groups()
    return float(number) * 1024 ** ("KMGT".index(unit) + 1)


@pytest.fixture(scope="module")
def chart() -> dict:
    values = yaml.safe_load((PROJECT / "helm" / "oh-my-agent" / "values.yaml").read_text(encoding="utf-8"))
    servers = values["userServers"]
    return {"cpu_request": float(servers["cpu"]["request"]), "cpu_limit": float(servers["cpu"]["limit"]),
            "memory_request": kubespawner_bytes(servers["memory"]["request"]),
            "memory_limit": kubespawner_bytes(servers["memory"]["limit"])}


def test_the_memory_request_holds_the_measured_pod_with_room(chart):
    needed = sum(MEASURED.values()) * HEADROOM
    assert chart["memory_request"] >= needed, (
        f"userServers.memory.request is {chart['memory_request'] / GiB:.2f} GiB; the measured pod "
        f"({', '.join(MEASURED)}) with {HEADROOM:.0%} of it needs {needed / GiB:.2f} GiB")
    assert chart["memory_limit"] >= chart["memory_request"]


def test_the_requests_keep_to_autopilots_rules(chart):
    cpu, memory = chart["cpu_request"], chart["memory_request"]
    assert cpu >= AUTOPILOT_MIN_CPU and memory >= AUTOPILOT_MIN_MEMORY
    assert (cpu / AUTOPILOT_CPU_STEP).is_integer(), f"{cpu} vCPU is not a step of {AUTOPILOT_CPU_STEP}"
    low, high = AUTOPILOT_GIB_PER_CPU
    assert low <= memory / GiB / cpu <= high, f"{memory / GiB / cpu:.2f} GiB per vCPU: Autopilot would change it"
    assert chart["cpu_limit"] >= cpu


def test_a_hub_without_the_chart_sizes_user_pods_the_same(chart, monkeypatch):
    for name in ("OMA_USER_CPU_GUARANTEE", "OMA_USER_CPU_LIMIT", "OMA_USER_MEM_GUARANTEE", "OMA_USER_MEM_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    settings = ClusterSettings()
    assert (settings.cpu_guarantee, settings.cpu_limit) == (chart["cpu_request"], chart["cpu_limit"])
    assert kubespawner_bytes(settings.mem_guarantee) == chart["memory_request"]
    assert kubespawner_bytes(settings.mem_limit) == chart["memory_limit"]


def test_the_guide_states_the_requests_and_what_an_hour_of_a_server_costs(chart):
    guide = GUIDE.read_text(encoding="utf-8")
    row = re.search(r"^\| a person's server \| ([0-9.]+) \| ([0-9.]+) GiB \|", guide, re.MULTILINE)
    assert row, "docs/deploy-gke.md's cost table has no row for a person's server"
    assert (float(row.group(1)), float(row.group(2)) * GiB) == (chart["cpu_request"], chart["memory_request"])
    hourly = chart["cpu_request"] * PRICE_CPU + chart["memory_request"] / GiB * PRICE_MEMORY + PRICE_EPHEMERAL
    stated = re.search(r"\*\*\$([0-9.]+) per hour of a running server\*\*", guide)
    assert stated and float(stated.group(1)) == pytest.approx(hourly, abs=0.00005), (stated, hourly)
    prose = " ".join(guide.split())
    for what, price in PRICES.items():
        assert f"{what} ${price} per" in prose, f"the guide does not list the {what} price ${price} costed here"
