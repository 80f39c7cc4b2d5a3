"""Latency and memory of the Claude kernel, against a fake model that answers instantly.

What it measures (all against ``tests.fake_model.FakeModel``, started in this
process, answering every request with "OK." and no delay, so every figure is
overhead of the kernel / SDK / CLI, never model time):

1. Kernel path: the ``claude`` kernelspec started with jupyter_client.

   * *kernel start to ready*: from the start call until the kernel answered
     ``kernel_info`` (what ``jupyter_client.manager.start_new_kernel`` waits
     for; its steps are done one by one here so that a failed or interrupted
     start can still be cleaned up). Note that ``wait_for_ready`` itself
     waits for 0.2 s of IOPub silence after the reply, for every kernel.
   * *kernel start to first answer*: from the same start call until the first
     streamed output of one warm-up cell sent as soon as the kernel is ready
     (includes importing the SDK and starting the Claude Code CLI, which the
     kernel does in the background once it has answered ``kernel_info``).
   * Both are medians over ``--kernel-starts`` starts (default 3); the N
     cells run in the last kernel started.
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
   A second client with the options the kernel itself passes (Claude Code's
   system prompt preset, a permission callback, a stderr callback) runs
   alongside, prompts alternating between the two, so that the kernel's own
   overhead can be told apart from the effect of its CLI options
   (``--skip sdk-kernel-options`` leaves it out).

4. Memory: resident set size (psutil) of the kernel process and, separately,
   of its child processes (the Claude Code CLI) after the N cells (and after
   the warm-up cell). As a reference, the start-to-ready time of the bare
   ``python3`` (ipykernel) kernel, if that kernelspec exists (median of
   ``--python3-starts``, run first so that jupyter_client's one-time costs in
   this process do not land on the claude kernel's figure).

5. Containment, today's sandbox against the new one, in the same run
   (issue 8): ``bwrap`` only (``CLAUDE_KERNEL_NETWORK=off``) and bwrap +
   Landlock + the agent's proxy (``CLAUDE_KERNEL_NETWORK=proxy``), in
   ``--containment-rounds`` rounds (default 3) that alternate the two, each
   round one kernel start (ready, first answer) and cells/rounds cells
   (first streamed output). Then, per kernel, one cell whose Bash tool
   downloads ``--download-mb`` (default 128) from a local HTTP server
   standing for the internet (served with sendfile; reachable through
   ``CLAUDE_KERNEL_NETWORK_ALLOW``, since every address here is loopback)
   with curl, which reports each rate: nine times at full loopback speed
   (what the path costs in CPU, on a machine whose two cores it shares; each
   takes a tenth of a second, so one moment of someone else's load would
   decide a median of fewer) and three times paced at ``--paced-mb-s`` (default 100 MB/s, a fast internet
   link: what an agent would see). The same curls run directly by this
   script, outside any sandbox, right before each agent's download cell, give
   the direct rates: measured next to each other, both see the same load on
   a machine others share (the 1-minute load average at each is printed
   with the figures).
   Budgets shown next to the figures: first output p50 at most +10 ms,
   kernel ready at most +150 ms, the agent's download at least 80% of the
   direct rate.

Everything started gets the fake model's client environment
(``FakeModel.client_environment()``: its URL, a test key,
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``), and temporary
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
import threading
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
    "CLAUDE_KERNEL_API_RETRIES", "CLAUDE_KERNEL_NETWORK", "CLAUDE_KERNEL_NETWORK_ALLOW", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX",
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
    try:
        return _run_cell(kc, code, timeout)
    except queue.Empty:
        raise TimeoutError(f"the kernel did not finish a cell within {timeout:g} s") from None


def _run_cell(kc, code: str, timeout: float) -> tuple[float | None, float, str, float]:
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


def start_and_warm_up(args, tmp: Path, results: dict[str, Any]) -> tuple[StartedKernel, float, float]:
    """Start a claude kernel and run the warm-up cell; returns (kernel, start-to-ready s, start-to-first-answer s)."""
    kernel = StartedKernel("claude", tmp / "claude-kernel-stderr.log")
    try:
        ready = kernel.start(args.timeout)
        first, done, status, sent = run_cell(kernel.kc, prompt_for(0), args.timeout)
        if first is None:
            raise RuntimeError(f"the warm-up cell gave no output (status {status})")
        answer = sent + first - kernel.started_at
        results.setdefault("kernel_warmup_cells", []).append(
            {"ready_s": round(ready, 4), "first_output_ms": round(first * 1000, 1), "reply_ms": round(done * 1000, 1),
             "first_answer_s": round(answer, 4), "status": status})
        log(f"  ready after {ready:.3f} s; warm-up cell: first output {first * 1000:.0f} ms after execute"
            f" (status {status}), so the first answer came {answer:.2f} s after the start call")
        return kernel, ready, answer
    except BaseException:
        kernel.shutdown()
        raise


def bench_kernel(args, model: FakeModel, tmp: Path, results: dict[str, Any]) -> None:
    starts = max(args.kernel_starts, 1)
    log(f"[kernel] {starts} start(s) of the claude kernel with a warm-up cell, then {args.cells} cells in the last")
    readies, answers = [], []
    for _ in range(starts - 1):
        kernel, ready, answer = start_and_warm_up(args, tmp, results)
        kernel.shutdown()
        readies.append(ready)
        answers.append(answer)
    kernel, ready, answer = start_and_warm_up(args, tmp, results)
    try:
        readies.append(ready)
        answers.append(answer)
        results["kernel_start_to_ready_s"] = statistics.median(readies)
        results["kernel_start_to_first_answer_s"] = statistics.median(answers)
        results["kernel_starts"] = starts
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
        if firsts:
            log(f"  {args.cells} cells: first output p50 {results['kernel_first_output']['p50']:.1f} ms")
    finally:
        kernel.shutdown()
        results["kernel_stderr_tail"] = stderr_tail(tmp / "claude-kernel-stderr.log")


NOISE = ("Kernel is running over TCP without encryption",)


def stderr_tail(path: Path, lines: int = 15) -> list[str]:
    """The last lines a kernel wrote to stderr, without ipykernel's usual warning."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    kept = [line for line in text.splitlines() if line.strip() and not any(n in line for n in NOISE)]
    return kept[-lines:]


def bench_python3_kernel(args, tmp: Path, results: dict[str, Any]) -> None:
    if "python3" not in KernelSpecManager().find_kernel_specs():
        log("[python3] no python3 kernelspec: skipped")
        return
    log(f"[python3] start-to-ready of the bare ipykernel, {args.python3_starts} time(s)")
    times = []
    for _ in range(args.python3_starts):
        kernel = StartedKernel("python3", tmp / "python3-kernel-stderr.log")
        try:
            times.append(kernel.start(args.timeout))
        finally:
            kernel.shutdown()
    results["python3_start_to_ready_s"] = statistics.median(times)
    results["python3_start_to_ready_samples_s"] = times
    log(f"  median {results['python3_start_to_ready_s']:.3f} s")


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
    """Seconds from spawning ``claude -p`` to its first line with assistant text (None if none came)."""
    cmd = [str(CLI), "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-partial-messages"]
    lines: queue.Queue[bytes | None] = queue.Queue()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=agent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)

    def pump() -> None:  # each line as soon as the CLI writes it, without blocking the timing loop
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="claude-p-stdout", daemon=True).start()
    first = None
    try:
        while True:
            remaining = timeout - (time.perf_counter() - started)
            if remaining <= 0:
                raise TimeoutError(f"claude -p did not finish within {timeout:.0f} s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                break
            if first is None and carries_text(line):
                first = time.perf_counter() - started
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


def kernel_like_options(agent: Path):
    """The options claude_kernel/conversation.py gives the SDK for an agent with default settings:
    Claude Code's system prompt preset, a permission callback, a stderr callback, no settings files."""
    async def can_use_tool(tool: str, tool_input: dict[str, Any], context: Any) -> Any:
        return claude_agent_sdk.PermissionResultDeny(message="benchmark")

    return claude_agent_sdk.ClaudeAgentOptions(
        cwd=str(agent), system_prompt={"type": "preset", "preset": "claude_code"}, permission_mode="default",
        allowed_tools=[], disallowed_tools=[], include_partial_messages=True, can_use_tool=can_use_tool,
        setting_sources=[], stderr=lambda line: None,
    )


async def sdk_bench(args, agent: Path, model: FakeModel, results: dict[str, Any]) -> None:
    """Baseline (b) with the options of the brief, and, unless skipped, the same with the
    kernel's own options; prompts alternate between the two so both see the same conditions."""
    variants = {"sdk": claude_agent_sdk.ClaudeAgentOptions(cwd=str(agent), include_partial_messages=True)}
    if "sdk-kernel-options" not in args.skip:
        variants["sdk_kernel_options"] = kernel_like_options(agent)
    clients: dict[str, Any] = {}
    cli_pids: dict[str, int] = {}
    try:
        for key, options in variants.items():
            client = claude_agent_sdk.ClaudeSDKClient(options)
            clients[key] = client
            started = time.perf_counter()
            await client.connect()
            results[f"{key}_connect_s"] = time.perf_counter() - started
            process = getattr(getattr(client, "_transport", None), "_process", None)
            if getattr(process, "pid", None):
                cli_pids[key] = process.pid
            first, _ = await sdk_turn(client, prompt_for(0))  # warm-up, as the kernel's first cell
            results[f"{key}_warmup_first_output_ms"] = first * 1000 if first is not None else None
            log(f"  {key}: connected in {results[f'{key}_connect_s']:.2f} s,"
                f" warm-up prompt's first text after {first * 1000 if first else float('nan'):.0f} ms")
        firsts: dict[str, list[float]] = {key: [] for key in clients}
        totals: dict[str, list[float]] = {key: [] for key in clients}
        requests = {key: 0 for key in clients}
        for i in range(1, args.cells + 1):
            for key, client in clients.items():
                before = len(model.requests)
                first, total = await sdk_turn(client, prompt_for(i))
                requests[key] += len(model.requests) - before
                if first is not None:
                    firsts[key].append(first)
                totals[key].append(total)
        for key in clients:
            results[f"{key}_first_output"] = summary(firsts[key])
            results[f"{key}_turn_complete"] = summary(totals[key])
            results[f"{key}_model_requests_per_prompt"] = requests[key] / max(args.cells, 1)
            if key in cli_pids:
                try:
                    results[f"{key}_cli_memory_mb"] = tree_memory(cli_pids[key])["total_mb"]
                except psutil.NoSuchProcess:
                    pass
            if firsts[key]:
                log(f"  {key}: first text p50 {results[f'{key}_first_output']['p50']:.1f} ms")
    finally:
        for key, client in clients.items():
            try:
                await asyncio.wait_for(client.disconnect(), 15)
            except Exception as err:
                log(f"  ({key} client did not disconnect cleanly: {err})")
        end_processes(list(cli_pids.values()))


def bench_sdk(args, agent: Path, model: FakeModel, results: dict[str, Any]) -> None:
    log(f"[SDK client] connect, 1 warm-up + {args.cells} prompts")
    asyncio.run(sdk_bench(args, agent, model, results))


# -- containment: today's sandbox against bwrap + Landlock + proxy ------------------
CONTAINMENTS = {
    "bwrap only": {"CLAUDE_KERNEL_SANDBOX": "bwrap", "CLAUDE_KERNEL_NETWORK": "off"},
    "bwrap + Landlock + proxy": {"CLAUDE_KERNEL_SANDBOX": "bwrap", "CLAUDE_KERNEL_NETWORK": "proxy"},
}


class DownloadServer:
    """A local stand-in for a web server on the internet: one big file, sent with sendfile, at full
    loopback speed (``/full``: what the path costs in CPU) or paced (``/paced``: a fast internet link)."""

    def __init__(self, folder: Path, megabytes: int, paced_mb_s: float) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.path = folder / "download.bin"
        with open(self.path, "wb") as out:
            block = os.urandom(MB)
            for _ in range(megabytes):
                out.write(block)
        size, path = self.path.stat().st_size, self.path

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                with open(path, "rb") as data:
                    if self.path != "/paced":
                        self.connection.sendfile(data)
                        return
                    started, sent = time.perf_counter(), 0
                    while sent < size:
                        sent += self.connection.sendfile(data, sent, MB)
                        time.sleep(max(sent / (paced_mb_s * MB) - (time.perf_counter() - started), 0))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="download-server", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PACES = ("full", "paced")
DOWNLOADS = {"full": 9, "paced": 3}


def download_command(address: str) -> str:
    """The downloads at full speed, then the paced ones; curl prints each one's rate."""
    return "; ".join(f"for i in $(seq {DOWNLOADS[pace]}); do curl -sS -o /dev/null -w '{pace} %{{speed_download}}\\n' "
                     f"http://{address}/{pace}; done" for pace in PACES)


def rates_in(text: str) -> dict[str, list[float]]:
    """The bytes/s figures curl printed, by pace."""
    words = text.replace("\\n", " ").replace('"', " ").split()
    rates: dict[str, list[float]] = {pace: [] for pace in PACES}
    for pace, value in zip(words, words[1:]):
        if pace in rates:
            try:
                rates[pace].append(float(value))
            except ValueError:
                pass
    return rates


def agent_download(kernel, model: FakeModel, address: str, timeout: float) -> dict[str, list[float]]:
    """Rates of the downloads the agent's Bash tool made in one cell."""
    from tests.fake_model import say, use_tool

    model.script(use_tool("Bash", {"command": download_command(address)}), say("Done."))
    _, _, status, _ = run_cell(kernel.kc, "Download it", timeout)
    shown = ""
    for message in model.requests[-1]["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                shown = inner if isinstance(inner, str) else json.dumps(inner)
    rates = rates_in(shown)
    if status != "ok" or any(len(rates[pace]) != DOWNLOADS[pace] for pace in PACES):
        raise RuntimeError(f"the agent's download cell did not give {DOWNLOADS} rates (status {status}): {shown[:300]}")
    return rates


def bench_containment(args, model: FakeModel, agent: Path, tmp: Path, results: dict[str, Any]) -> None:
    rounds = max(args.containment_rounds, 1)
    cells = max(args.cells // rounds, 1)
    log(f"[containment] {rounds} rounds alternating {' / '.join(CONTAINMENTS)}: a kernel start, {cells} cells and a "
        f"download cell ({' + '.join(f'{DOWNLOADS[pace]} {pace}' for pace in PACES)} x {args.download_mb} MB) each")
    server = DownloadServer(tmp, args.download_mb, args.paced_mb_s)
    saved = {name: os.environ.get(name) for name in ("CLAUDE_KERNEL_SANDBOX", "CLAUDE_KERNEL_NETWORK",
                                                     "CLAUDE_KERNEL_NETWORK_ALLOW")}
    os.environ["CLAUDE_KERNEL_NETWORK_ALLOW"] = server.address
    # The agent's settings live outside its folder, as the agents dashboard keeps them.
    settings = tmp / "agent-settings.json"
    settings.write_text(json.dumps({"allowed_tools": ["Bash"]}))
    saved["CLAUDE_AGENT_SETTINGS"] = os.environ.get("CLAUDE_AGENT_SETTINGS")
    os.environ["CLAUDE_AGENT_SETTINGS"] = str(settings)
    figures: dict[str, dict[str, list[float]]] = {
        name: {"ready_s": [], "first_answer_s": [], "first_output_s": [], "full": [], "paced": []}
        for name in CONTAINMENTS}
    direct: dict[str, list[float]] = {pace: [] for pace in PACES}
    loads: list[float] = []
    try:
        for round_ in range(rounds):
            for name, env in CONTAINMENTS.items():
                os.environ.update(env)
                scratch: dict[str, Any] = {}
                kernel, ready, answer = start_and_warm_up(args, tmp, scratch)
                try:
                    figures[name]["ready_s"].append(ready)
                    figures[name]["first_answer_s"].append(answer)
                    for i in range(1, cells + 1):
                        first, _, status, _ = run_cell(kernel.kc, prompt_for(i), args.timeout)
                        if first is not None and status == "ok":
                            figures[name]["first_output_s"].append(first)
                    loads.append(load_average())
                    done = subprocess.run(["bash", "-c", download_command(server.address)], capture_output=True,
                                          text=True, timeout=args.timeout)
                    for pace, found in rates_in(done.stdout).items():
                        direct[pace] += found
                    for pace, found in agent_download(kernel, model, server.address, args.timeout).items():
                        figures[name][pace] += found
                finally:
                    kernel.shutdown()
                log(f"  round {round_ + 1}, {name}: ready {ready:.3f} s, first output p50 "
                    f"{percentile(figures[name]['first_output_s'], 50) * 1000:.1f} ms so far, download "
                    f"{statistics.median(figures[name]['full']) / MB:.0f} MB/s so far")
    finally:
        settings.unlink(missing_ok=True)
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    results["containment"] = {
        "rounds": rounds, "cells_per_round": cells, "download_mb": args.download_mb, "paced_mb_s": args.paced_mb_s,
        "direct_download_bps": direct, "load_averages": loads,
        "variants": {name: {"kernel_start_to_ready_s": statistics.median(f["ready_s"]),
                            "kernel_start_to_first_answer_s": statistics.median(f["first_answer_s"]),
                            "first_output": summary(f["first_output_s"]),
                            "download_bps": {pace: f[pace] for pace in PACES}} for name, f in figures.items()},
    }


def load_average() -> float:
    """The 1-minute load average: how busy the machine was (others may run tests on it)."""
    with open("/proc/loadavg") as text:
        return float(text.read().split()[0])


def containment_report(found: dict[str, Any]) -> list[str]:
    (base_name, base), (new_name, new) = found["variants"].items()
    lines = [f"containment, same run ({found['rounds']} alternating rounds, {found['cells_per_round']} cells each):",
             f"{'':<34}{base_name:>14}{new_name:>26}{'difference':>12}   budget"]

    def row(label: str, a: float, b: float, unit: str, scale: float, budget: float | None) -> None:
        diff = (b - a) * scale
        verdict = "" if budget is None else f"   +{budget:g} {unit}: {'met' if diff <= budget else 'MISSED'}"
        lines.append(f"{label:<34}{a * scale:>11.1f} {unit:<2}{b * scale:>23.1f} {unit:<2}{diff:>+9.1f} {unit}{verdict}")

    row("kernel start to ready", base["kernel_start_to_ready_s"], new["kernel_start_to_ready_s"], "ms", 1000, 150)
    row("kernel start to first answer", base["kernel_start_to_first_answer_s"], new["kernel_start_to_first_answer_s"],
        "ms", 1000, None)
    row("first streamed output p50", base["first_output"]["p50"] / 1000, new["first_output"]["p50"] / 1000, "ms",
        1000, 10)
    row("first streamed output p95", base["first_output"]["p95"] / 1000, new["first_output"]["p95"] / 1000, "ms",
        1000, None)
    for pace in PACES:
        direct = statistics.median(found["direct_download_bps"][pace])
        old_rate = statistics.median(base["download_bps"][pace])
        new_rate = statistics.median(new["download_bps"][pace])
        ratio = new_rate / direct if direct else float("nan")
        what = ("at full loopback speed (CPU-bound)" if pace == "full"
                else f"paced at {found['paced_mb_s']:g} MB/s (a fast internet link)")
        lines.append(f"download of {found['download_mb']} MB {what}, median MB/s: direct (this script, no sandbox) "
                     f"{direct / MB:.0f}; agent, {base_name} {old_rate / MB:.0f}; agent, {new_name} {new_rate / MB:.0f}"
                     f" = {ratio:.0%} of direct (target at least 80%: {'met' if ratio >= 0.8 else 'MISSED'}), "
                     f"{new_rate / old_rate if old_rate else float('nan'):.0%} of {base_name}")
    if found.get("load_averages"):
        lines.append(f"1-minute load average at the download cells: {min(found['load_averages']):.2f} to "
                     f"{max(found['load_averages']):.2f} on {os.cpu_count()} cores")
    return lines


# -- report -------------------------------------------------------------------
def report(args, results: dict[str, Any]) -> str:
    lines = []
    header = f"{'p50':>8}{'p95':>8}{'mean':>8}{'runs':>7}"

    def row(label: str, stats: dict[str, Any] | None, note: str = "") -> None:
        if not stats:
            lines.append(f"{label:<32}{'n/a':>8}")
            return
        lines.append(f"{label:<32}{stats['p50']:>8.1f}{stats['p95']:>8.1f}{stats['mean']:>8.1f}"
                     f"{stats['runs']:>7d}{note}")

    fresh_note = ""
    if results.get("fresh_cli_first_output") and results["fresh_cli_first_output"]["runs"] < args.cells:
        fresh_note = "   (fewer runs than cells: a new process each time)"
    lines.append(f"{'first streamed output (ms)':<32}{header}")
    row("kernel (claude)", results.get("kernel_first_output"))
    row("SDK client direct (b)", results.get("sdk_first_output"))
    if "sdk_kernel_options_first_output" in results:
        row("SDK client, kernel's options", results.get("sdk_kernel_options_first_output"))
    row("fresh claude -p (a)", results.get("fresh_cli_first_output"), fresh_note)
    lines.append("")
    lines.append(f"{'turn complete (ms)':<32}{header}")
    row("kernel: to execute_reply", results.get("kernel_turn_complete"))
    row("SDK (b): to ResultMessage", results.get("sdk_turn_complete"))
    if "sdk_kernel_options_turn_complete" in results:
        row("SDK, kernel's options", results.get("sdk_kernel_options_turn_complete"))
    lines.append("")

    kernel = results.get("kernel_first_output")
    sdk, sdk_k = results.get("sdk_first_output"), results.get("sdk_kernel_options_first_output")
    if kernel and sdk:
        diff = kernel["p50"] - sdk["p50"]
        verdict = "met" if diff <= 30 else "MISSED"
        extra = ""
        if sdk_k:
            extra = f"; minus SDK with the kernel's options: {kernel['p50'] - sdk_k['p50']:.1f} ms"
        lines.append(f"kernel p50 minus SDK p50: {diff:.1f} ms (target: within 30 ms, {verdict}{extra})")
    ready = results.get("kernel_start_to_ready_s")
    py3 = results.get("python3_start_to_ready_s")
    starts = results.get("kernel_starts", 1)
    of = f"median of {starts} starts, " if starts > 1 else ""
    if ready is not None:
        py3_text = f"bare python3 kernel: {py3:.3f} s" if py3 is not None else "no python3 kernelspec"
        verdict = "met" if ready <= 1.0 else "MISSED"
        lines.append(f"kernel start to ready: {ready:.3f} s ({of}target: within 1 s, {verdict}; {py3_text})")
    answer = results.get("kernel_start_to_first_answer_s")
    if answer is not None:
        notes = [f"median of {starts} starts"] if starts > 1 else []
        connect = results.get("sdk_kernel_options_connect_s", results.get("sdk_connect_s"))
        if connect is not None:
            notes.append(f"an SDK client's connect alone: {connect:.2f} s")
        lines.append(f"kernel start to first answer: {answer:.2f} s" + (f" ({'; '.join(notes)})" if notes else ""))
    mem = results.get("memory_after_cells")
    if mem:
        lines.append(f"memory after {args.cells} cells: kernel {mem['kernel_mb']:.0f} MB + CLI {mem['cli_mb']:.0f} MB"
                     f" = {mem['total_mb']:.0f} MB")
        warm = results.get("memory_after_warmup")
        sdk_mem = results.get("sdk_kernel_options_cli_memory_mb", results.get("sdk_cli_memory_mb"))
        if warm:
            lines.append(f"  (after the warm-up cell: kernel {warm['kernel_mb']:.0f} MB + CLI {warm['cli_mb']:.0f} MB;"
                         f" a CLI under the SDK client after as many prompts: "
                         f"{f'{sdk_mem:.0f} MB' if sdk_mem is not None else 'n/a'})")
    if results.get("containment"):
        lines.append("")
        lines += containment_report(results["containment"])
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
    parser.add_argument("--kernel-starts", type=int, default=3,
                        help="starts of the claude kernel (each with a warm-up cell); start figures are medians,"
                             " the cells run in the last one (default 3)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["kernel", "sdk", "sdk-kernel-options", "fresh", "python3", "containment"],
                        help="leave out a part (repeatable); sdk-kernel-options drops the extra SDK client that"
                             " uses the kernel's own options")
    parser.add_argument("--containment-rounds", type=int, default=3,
                        help="rounds alternating today's sandbox and the new containment (default 3)")
    parser.add_argument("--download-mb", type=int, default=128,
                        help="size of the download measured through each agent's network path (default 128)")
    parser.add_argument("--paced-mb-s", type=float, default=100.0,
                        help="rate of the paced download, standing for a fast internet link (default 100 MB/s)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kernel-latency-"))
    agent = tmp / "agents" / "bench"
    agent.mkdir(parents=True)
    model = FakeModel().start()
    saved_env = dict(os.environ)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update({
        **model.client_environment(),
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
    # python3 first: it also warms up jupyter_client's one-time costs in this process
    # (kernel provisioner entry points) so they do not count against the claude kernel.
    phases: list[tuple[str, Callable[[], None]]] = [
        ("python3", lambda: bench_python3_kernel(args, tmp, results)),
        ("kernel", lambda: bench_kernel(args, model, tmp, results)),
        ("sdk", lambda: bench_sdk(args, agent, model, results)),
        ("fresh", lambda: bench_fresh_cli(args, agent, results)),
        ("containment", lambda: bench_containment(args, model, agent, tmp, results)),
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
