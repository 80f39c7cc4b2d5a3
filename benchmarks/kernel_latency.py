"""Latency and memory of the Claude kernel, against a fake model that answers instantly.

What it measures (all against ``tests.fake_model.FakeModel``, started in this
process, answering every request with "OK." and no delay, so every figure is
overhead of the kernel / SDK / CLI, never model time):

1. Kernel path: the ``claude`` kernelspec started with jupyter_client.

   * *kernel start to ready*: from the start call until the kernel answered
     ``kernel_info`` (what ``jupyter_client.manager.start_new_kernel`` waits
     for; its steps are done one by one here so that a failed or interrupted
     start can still be cleaned up).
   * *kernel start to first answer*: from the same start call until the first
     streamed output of one warm-up cell (includes importing the SDK and
     starting the Claude Code CLI in the background).
   * *time to first streamed output*, per cell, over N cells: from
     ``kc.execute(code)`` until the first iopub ``display_data`` or ``stream``
     message whose parent is that request. Each cell's ``execute_reply`` is
     awaited before the next one is sent (its time is reported as
     *turn complete*).

2. Baseline (a), a fresh ``claude -p PROMPT --output-format stream-json
   --verbose --include-partial-messages`` process per prompt (the CLI bundled
   with claude-agent-sdk, working directory = the agent folder): from spawning
   the process to the first stdout line carrying assistant text (a
   ``stream_event`` with a ``text_delta``, or an ``assistant`` message). It is
   slow, so by default it runs min(N, 15) times (``--fresh-runs``), after one
   uncounted warm-up spawn.

3. Baseline (b), ``claude_agent_sdk.ClaudeSDKClient`` driven directly in this
   process (``ClaudeAgentOptions(cwd=agent folder,
   include_partial_messages=True)``): connected once, one uncounted warm-up
   prompt, then per prompt from calling ``client.query(...)`` to the first
   ``StreamEvent`` with a ``text_delta`` (or ``AssistantMessage`` with text);
   ``receive_response()`` is drained to the ``ResultMessage`` every time.

4. Memory: resident set size (psutil) of the kernel process and, separately,
   of its child processes (the Claude Code CLI) after the N cells. As a
   reference, the start-to-ready time of the bare ``python3`` (ipykernel)
   kernel, if that kernelspec exists.

Everything started gets this environment: ``ANTHROPIC_BASE_URL`` = the fake
model, ``ANTHROPIC_API_KEY=sk-bench``,
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``, and temporary
``CLAUDE_CONFIG_DIR``, ``CLAUDE_AGENT_DIR`` (an empty agent folder) and
``CLAUDE_KERNEL_STATE_DIR``, all removed at the end.

Run from the project root::

    .venv/bin/python benchmarks/kernel_latency.py              # 50 cells
    .venv/bin/python benchmarks/kernel_latency.py --cells 10   # quicker
    .venv/bin/python benchmarks/kernel_latency.py --json out.json   # also dump figures

The figures are printed, not asserted: targets (kernel p50 within 30 ms of
the SDK client's, kernel ready within 1 s) are shown next to them. Progress
goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

from tests.fake_model import FakeModel  # noqa: E402

# Same trick as claude_kernel/conversation.py: jsonschema (under the SDK) would
# otherwise compile an IRI grammar for seconds at import. Only speeds up this
# script's own import of the SDK; it does not touch anything measured.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
import claude_agent_sdk  # noqa: E402

CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
MB = 1024 * 1024
# Variables that would change what the kernel or the CLI does (resume a
# remembered session, other credentials, other timeouts): removed for the run.
UNSET = (
    "JPY_SESSION_NAME", "CLAUDE_KERNEL_STALL_TIMEOUT", "CLAUDE_KERNEL_TOOL_TIMEOUT",
    "CLAUDE_KERNEL_API_RETRIES", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_MODEL",
)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def prompt_for(i: int) -> str:
    return f"Benchmark prompt {i}: answer with OK."


# -- statistics ---------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values_s: list[float]) -> dict[str, Any] | None:
    """p50/p95/mean/min/max in milliseconds of timings given in seconds."""
    if not values_s:
        return None
    ms = [v * 1000 for v in values_s]
    return {
        "p50": percentile(ms, 50), "p95": percentile(ms, 95), "mean": statistics.fmean(ms),
        "min": min(ms), "max": max(ms), "runs": len(ms), "samples_ms": [round(v, 2) for v in ms],
    }


# -- processes ----------------------------------------------------------------
def rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / MB
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


def tree_memory(pid: int) -> dict[str, Any]:
    """RSS of a process and, separately, of all its descendants."""
    root = psutil.Process(pid)
    try:
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    child_rows = []
    for child in children:
        try:
            name = child.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            name = "?"
        child_rows.append({"pid": child.pid, "name": name, "rss_mb": round(rss_mb(child), 1)})
    own = rss_mb(root)
    kids = sum(row["rss_mb"] for row in child_rows)
    return {"kernel_mb": round(own, 1), "cli_mb": round(kids, 1), "total_mb": round(own + kids, 1),
            "children": child_rows}


def end_processes(pids: list[int]) -> None:
    """Terminate (then kill) processes this script started that are still alive."""
    alive = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.terminate()
            alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    _, still = psutil.wait_procs(alive, timeout=3)
    for proc in still:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


# -- kernels ------------------------------------------------------------------
class StartedKernel:
    """A kernel started step by step as ``start_new_kernel`` does, timed."""

    def __init__(self, name: str, stderr_path: Path | None = None) -> None:
        self.name = name
        self.km = KernelManager(kernel_name=name)
        self.kc = None
        self.pid: int | None = None
        self.descendants: list[int] = []
        self._stderr = open(stderr_path, "ab") if stderr_path else None
        self.started_at = 0.0

    def start(self, timeout: float) -> float:
        """Start it; returns seconds from the start call to the kernel_info reply."""
        kwargs = {"stderr": self._stderr} if self._stderr else {}
        self.started_at = time.perf_counter()
        self.km.start_kernel(**kwargs)
        self.pid = getattr(self.km.provisioner, "pid", None)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=timeout)
        return time.perf_counter() - self.started_at

    def remember_descendants(self) -> None:
        if self.pid:
            try:
                self.descendants = [p.pid for p in psutil.Process(self.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass

    def shutdown(self) -> None:
        self.remember_descendants()
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        except Exception:
            pass
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)
        except Exception as err:
            log(f"  ({self.name} kernel did not shut down cleanly: {err}; ending it)")
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        end_processes(self.descendants)  # a CLI left behind by the kernel, if any
        if self._stderr:
            self._stderr.close()


def run_cell(kc, code: str, timeout: float) -> tuple[float | None, float, str, float]:
    """Execute one cell; returns (seconds to first display_data/stream output or None,
    seconds to execute_reply, reply status, perf_counter at the execute call).
    Drains iopub to the cell's idle status."""
    started = time.perf_counter()
    msg_id = kc.execute(code)
    deadline = started + timeout
    first: float | None = None
    idle = False
    while first is None and not idle:
        msg = kc.get_iopub_msg(timeout=max(deadline - time.perf_counter(), 0.001))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in ("display_data", "stream"):
            first = time.perf_counter() - started
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    while True:
        reply = kc.get_shell_msg(timeout=max(deadline - time.perf_counter(), 0.001))
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    done = time.perf_counter() - started
    while not idle:  # leave nothing of this cell on iopub for the next one
        msg = kc.get_iopub_msg(timeout=max(deadline - time.perf_counter(), 0.001))
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            idle = True
    return first, done, reply["content"]["status"], started


def bench_kernel(args, model: FakeModel, tmp: Path, results: dict[str, Any]) -> None:
    log(f"[kernel] starting the claude kernel, then {args.cells} cells")
    kernel = StartedKernel("claude", tmp / "claude-kernel-stderr.log")
    try:
        ready = kernel.start(args.timeout)
        results["kernel_start_to_ready_s"] = ready
        log(f"  ready after {ready:.3f} s")
        before = len(model.requests)
        first, done, status, sent = run_cell(kernel.kc, prompt_for(0), args.timeout)
        if first is None:
            raise RuntimeError(f"warm-up cell gave no output (status {status})")
        results["kernel_start_to_first_answer_s"] = sent + first - kernel.started_at
        results["kernel_warmup_cell"] = {"first_output_ms": first * 1000, "reply_ms": done * 1000,
                                         "status": status, "model_requests": len(model.requests) - before}
        log(f"  warm-up cell: first output {first * 1000:.0f} ms after execute, reply after {done * 1000:.0f} ms"
            f" (status {status}); first answer {results['kernel_start_to_first_answer_s']:.2f} s after start")
        if kernel.pid:
            results["memory_after_warmup"] = tree_memory(kernel.pid)

        firsts, totals, failed = [], [], []
        before = len(model.requests)
        for i in range(1, args.cells + 1):
            first, done, status, _ = run_cell(kernel.kc, prompt_for(i), args.timeout)
            if first is None or status != "ok":
                failed.append({"cell": i, "status": status, "first_output": first})
            if first is not None:
                firsts.append(first)
            totals.append(done)
        results["kernel_first_output"] = summary(firsts)
        results["kernel_turn_complete"] = summary(totals)
        results["kernel_model_requests_per_cell"] = (len(model.requests) - before) / max(args.cells, 1)
        if failed:
            results["kernel_failed_cells"] = failed
            log(f"  {len(failed)} cell(s) without output or not ok: {failed[:3]}")
        if kernel.pid:
            results["memory_after_cells"] = tree_memory(kernel.pid)
        log(f"  done: p50 {results['kernel_first_output']['p50']:.1f} ms" if firsts else "  done: no outputs")
    finally:
        kernel.shutdown()
        stderr = (tmp / "claude-kernel-stderr.log")
        text = stderr.read_text(errors="replace").strip() if stderr.exists() else ""
        if text:
            results["kernel_stderr_tail"] = text.splitlines()[-15:]


def bench_python3_kernel(args, results: dict[str, Any]) -> None:
    if "python3" not in KernelSpecManager().find_kernel_specs():
        log("[python3] no python3 kernelspec: skipped")
        return
    log(f"[python3] start-to-ready of the bare ipykernel, {args.python3_starts} time(s)")
    times = []
    for _ in range(args.python3_starts):
        kernel = StartedKernel("python3")
        try:
            times.append(kernel.start(args.timeout))
        finally:
            kernel.shutdown()
    results["python3_start_to_ready_s"] = statistics.median(times)
    results["python3_start_to_ready_samples_s"] = times


# -- baseline (a): a fresh claude -p per prompt -------------------------------
def carries_text(line: bytes) -> bool:
    try:
        msg = json.loads(line)
    except ValueError:
        return False
    if msg.get("type") == "stream_event":
        event = msg.get("event") or {}
        return event.get("type") == "content_block_delta" and (event.get("delta") or {}).get("type") == "text_delta"
    if msg.get("type") == "assistant":
        return any(block.get("type") == "text" and block.get("text")
                   for block in (msg.get("message") or {}).get("content") or [])
    return False


def fresh_cli_once(prompt: str, agent: Path, timeout: float) -> float | None:
    cmd = [str(CLI), "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-partial-messages"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=agent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    first = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # each line as soon as it is written
            if first is None and carries_text(line):
                first = time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                break
        proc.wait(timeout=max(timeout - (time.perf_counter() - started), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return first


def bench_fresh_cli(args, agent: Path, results: dict[str, Any]) -> None:
    runs = args.fresh_runs if args.fresh_runs is not None else min(args.cells, 15)
    results["fresh_runs_requested"] = runs
    if runs <= 0:
        return
    log(f"[fresh claude -p] 1 warm-up + {runs} process(es)")
    fresh_cli_once(prompt_for(0), agent, args.timeout)
    times = []
    for i in range(1, runs + 1):
        first = fresh_cli_once(prompt_for(i), agent, args.timeout)
        if first is None:
            log(f"  run {i}: no assistant text")
        else:
            times.append(first)
    results["fresh_cli_first_output"] = summary(times)


# -- baseline (b): ClaudeSDKClient in this process ------------------------------
def has_text(message: Any) -> bool:
    if isinstance(message, claude_agent_sdk.StreamEvent):
        event = message.event
        return event.get("type") == "content_block_delta" and (event.get("delta") or {}).get("type") == "text_delta"
    if isinstance(message, claude_agent_sdk.AssistantMessage):
        return any(isinstance(block, claude_agent_sdk.TextBlock) and block.text for block in message.content)
    return False


async def sdk_turn(client, prompt: str) -> tuple[float | None, float]:
    started = time.perf_counter()
    await client.query(prompt)
    first = None
    result = None
    async for message in client.receive_response():
        if first is None and has_text(message):
            first = time.perf_counter() - started
        if isinstance(message, claude_agent_sdk.ResultMessage):
            result = message
    if result is None:
        raise RuntimeError("the response ended without a ResultMessage")
    return first, time.perf_counter() - started


async def sdk_bench(args, agent: Path, model: FakeModel, results: dict[str, Any]) -> None:
    options = claude_agent_sdk.ClaudeAgentOptions(cwd=str(agent), include_partial_messages=True)
    client = claude_agent_sdk.ClaudeSDKClient(options)
    cli_pid = None
    try:
        started = time.perf_counter()
        await client.connect()
        results["sdk_connect_s"] = time.perf_counter() - started
        process = getattr(getattr(client, "_transport", None), "_process", None)
        cli_pid = getattr(process, "pid", None)
        first, _ = await sdk_turn(client, prompt_for(0))  # warm-up, as the kernel's first cell
        results["sdk_warmup_first_output_ms"] = first * 1000 if first is not None else None
        log(f"  connected in {results['sdk_connect_s']:.2f} s")
        firsts, totals = [], []
        before = len(model.requests)
        for i in range(1, args.cells + 1):
            first, total = await sdk_turn(client, prompt_for(i))
            if first is not None:
                firsts.append(first)
            totals.append(total)
        results["sdk_first_output"] = summary(firsts)
        results["sdk_turn_complete"] = summary(totals)
        results["sdk_model_requests_per_prompt"] = (len(model.requests) - before) / max(args.cells, 1)
        if cli_pid:
            try:
                results["sdk_cli_memory_mb"] = round(tree_memory(cli_pid)["total_mb"], 1)
            except psutil.NoSuchProcess:
                pass
    finally:
        try:
            await asyncio.wait_for(client.disconnect(), 15)
        except Exception as err:
            log(f"  (SDK client did not disconnect cleanly: {err})")
        if cli_pid:
            end_processes([cli_pid])


def bench_sdk(args, agent: Path, model: FakeModel, results: dict[str, Any]) -> None:
    log(f"[SDK client] connect, 1 warm-up + {args.cells} prompts")
    asyncio.run(sdk_bench(args, agent, model, results))


# -- report -------------------------------------------------------------------
def report(args, results: dict[str, Any]) -> str:
    lines = []

    def row(label: str, stats: dict[str, Any] | None, note: str = "") -> None:
        if not stats:
            lines.append(f"{label:<30}{'n/a':>8}")
            return
        lines.append(f"{label:<30}{stats['p50']:>8.1f}{stats['p95']:>8.1f}{stats['mean']:>8.1f}"
                     f"{stats['runs']:>7d}{note}")

    fresh_note = ""
    if results.get("fresh_runs_requested", 0) < args.cells:
        fresh_note = f"   (fewer runs: one process each)"
    lines.append(f"{'first streamed output (ms)':<30}{'p50':>8}{'p95':>8}{'mean':>8}{'runs':>7}")
    row("kernel (claude)", results.get("kernel_first_output"))
    row("SDK client direct (b)", results.get("sdk_first_output"))
    row("fresh claude -p (a)", results.get("fresh_cli_first_output"), fresh_note)
    lines.append("")
    lines.append(f"{'turn complete (ms)':<30}{'p50':>8}{'p95':>8}{'mean':>8}{'runs':>7}")
    row("kernel: execute_reply", results.get("kernel_turn_complete"))
    row("SDK: ResultMessage", results.get("sdk_turn_complete"))
    lines.append("")

    kernel, sdk = results.get("kernel_first_output"), results.get("sdk_first_output")
    if kernel and sdk:
        diff = kernel["p50"] - sdk["p50"]
        verdict = "met" if diff <= 30 else "MISSED"
        lines.append(f"kernel p50 minus SDK p50: {diff:.1f} ms (target: within 30 ms; {verdict})")
    ready = results.get("kernel_start_to_ready_s")
    py3 = results.get("python3_start_to_ready_s")
    if ready is not None:
        py3_text = f"bare python3 kernel: {py3:.2f} s" if py3 is not None else "no python3 kernelspec"
        verdict = "met" if ready <= 1.0 else "MISSED"
        lines.append(f"kernel start to ready: {ready:.2f} s (target: within 1 s, {verdict}; {py3_text})")
    answer = results.get("kernel_start_to_first_answer_s")
    if answer is not None:
        connect = results.get("sdk_connect_s")
        extra = f" (SDK client connect alone: {connect:.2f} s)" if connect is not None else ""
        lines.append(f"kernel start to first answer: {answer:.2f} s{extra}")
    mem = results.get("memory_after_cells")
    if mem:
        lines.append(f"memory after {args.cells} cells: kernel {mem['kernel_mb']:.0f} MB + CLI {mem['cli_mb']:.0f} MB"
                     f" = {mem['total_mb']:.0f} MB")
        warm = results.get("memory_after_warmup")
        if warm:
            lines.append(f"  (after the warm-up cell: kernel {warm['kernel_mb']:.0f} MB + CLI {warm['cli_mb']:.0f} MB;"
                         f" CLI under the SDK client direct: {results.get('sdk_cli_memory_mb', 'n/a')} MB)")
    kreq, sreq = results.get("kernel_model_requests_per_cell"), results.get("sdk_model_requests_per_prompt")
    if kreq is not None or sreq is not None:
        lines.append(f"model requests per turn: kernel {kreq if kreq is not None else 'n/a'},"
                     f" SDK {sreq if sreq is not None else 'n/a'}")
    for phase, error in results.get("errors", {}).items():
        lines.append(f"{phase}: FAILED ({error})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=50, help="cells / prompts per path (default 50)")
    parser.add_argument("--fresh-runs", type=int, default=None,
                        help="fresh `claude -p` processes (default min(cells, 15))")
    parser.add_argument("--python3-starts", type=int, default=3,
                        help="starts of the python3 reference kernel, median reported (default 3)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds allowed per start / cell (default 90)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH ('-' for stdout)")
    parser.add_argument("--skip", action="append", default=[], choices=["kernel", "sdk", "fresh", "python3"],
                        help="leave out a part (repeatable)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kernel-latency-"))
    agent = tmp / "agents" / "bench"
    agent.mkdir(parents=True)
    model = FakeModel().start()
    saved_env = dict(os.environ)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update({
        "ANTHROPIC_BASE_URL": model.base_url,
        "ANTHROPIC_API_KEY": "sk-bench",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CONFIG_DIR": str(tmp / "claude-config"),
        "CLAUDE_AGENT_DIR": str(agent),
        "CLAUDE_KERNEL_STATE_DIR": str(tmp / "kernel-state"),
    })
    results: dict[str, Any] = {
        "cells": args.cells,
        "platform": {"python": platform.python_version(), "machine": platform.machine(),
                     "cpus": os.cpu_count(), "claude_agent_sdk": getattr(claude_agent_sdk, "__version__", "?")},
        "errors": {},
    }
    phases: list[tuple[str, Callable[[], None]]] = [
        ("kernel", lambda: bench_kernel(args, model, tmp, results)),
        ("sdk", lambda: bench_sdk(args, agent, model, results)),
        ("fresh", lambda: bench_fresh_cli(args, agent, results)),
        ("python3", lambda: bench_python3_kernel(args, results)),
    ]
    try:
        log(f"fake model at {model.base_url}; temp dir {tmp}")
        for name, run in phases:
            if name in args.skip:
                continue
            try:
                run()
            except KeyboardInterrupt:
                raise
            except Exception as err:
                results["errors"][name] = f"{type(err).__name__}: {err}"
                log(f"[{name}] failed:\n{traceback.format_exc()}")
    finally:
        try:
            model.stop()
        except Exception:
            pass
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(tmp, ignore_errors=True)

    if results.get("kernel_stderr_tail"):
        log("claude kernel stderr (last lines):\n  " + "\n  ".join(results["kernel_stderr_tail"]))
    print(report(args, results))
    if args.json:
        text = json.dumps(results, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
