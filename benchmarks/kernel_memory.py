"""Memory of Claude kernels in a pod, and what parking an idle CLI costs the next cell (issue 10, point 6).

Against ``tests.fake_model.FakeModel`` in this process (so no model time), with
the isolation a pod uses (``CLAUDE_KERNEL_SANDBOX=landlock`` by default) and
the agent's network proxy:

1. One kernel: the memory of the kernel and of all its processes (the Claude
   Code CLI, and whatever the sandbox runs) *idle* (the CLI started, no turn),
   *active* (sampled in the middle of a streamed answer) and *parked* (after
   ``CLAUDE_KERNEL_PARK_AFTER`` seconds without use, the CLI stopped).
2. A pod: five agent notebooks open, four parked, one working; the total
   against 1 GiB.
3. Latency: a cell whose CLI is running against the first cell after parking
   (which starts a CLI resuming the session), medians over ``--rounds``.

Memory is given as RSS (every page a process maps, shared ones counted in
each process: an upper bound) and PSS (shared pages divided among their
users: close to what a pod's memory cgroup charges, which counts a page
once). The pod target is read against PSS, and RSS is shown beside it.

    .venv/bin/python benchmarks/kernel_memory.py [--rounds 3] [--park-after 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

from tests.fake_model import FakeModel, say  # noqa: E402

MB = 1024 * 1024
GIB = 1024 * MB
UNSET = ("JPY_SESSION_NAME", "CLAUDE_KERNEL_NETWORK_ALLOW", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX",
         "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_OAUTH_TOKEN", "JUPYTERHUB_API_TOKEN")


class Notebook:
    """A claude kernel for an agent folder of its own, with cells run to the end."""

    def __init__(self, home: Path, name: str, env: dict[str, str]) -> None:
        folder = home / "agents" / name
        folder.mkdir(parents=True)
        self.km = KernelManager(kernel_name="claude")
        self.km.start_kernel(env={**env, "CLAUDE_AGENT_DIR": str(folder), "JPY_SESSION_NAME": f"{name}.ipynb"})
        self.pid = self.km.provisioner.pid
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> float:
        """Seconds from sending the cell to its first output."""
        started = time.perf_counter()
        msg_id = self.kc.execute(code)
        first = None
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if first is None and msg["msg_type"] in ("stream", "display_data", "error"):
                first = time.perf_counter() - started
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {reply['content']}")
        return first if first is not None else time.perf_counter() - started

    def processes(self) -> list[psutil.Process]:
        kernel = psutil.Process(self.pid)
        return [kernel, *kernel.children(recursive=True)]

    def cli_running(self) -> bool:
        return len(self.processes()) > 1

    def memory(self) -> tuple[float, float]:
        """RSS and PSS, in MB, of the kernel and everything it runs."""
        rss = pss = 0
        for process in self.processes():
            try:
                info = process.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            rss, pss = rss + info.rss, pss + info.pss
        return rss / MB, pss / MB

    def wait_parked(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.cli_running():
            if time.monotonic() > deadline:
                raise RuntimeError("the CLI was not parked in time")
            time.sleep(0.2)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


def show(label: str, memory: tuple[float, float]) -> None:
    print(f"  {label:<34} RSS {memory[0]:7.1f} MB   PSS {memory[1]:7.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="park-and-resume rounds for the latency (default 3)")
    parser.add_argument("--park-after", type=float, default=3.0, help="idle seconds before parking (default 3)")
    parser.add_argument("--sandbox", default="landlock", help="CLAUDE_KERNEL_SANDBOX for the kernels (default landlock)")
    parser.add_argument("--notebooks", type=int, default=5, help="agent notebooks open in the pod (default 5)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="kernel-memory-"))
    model = FakeModel().start()
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update({**model.client_environment(), "CLAUDE_KERNEL_SANDBOX": args.sandbox,
                "CLAUDE_KERNEL_PARK_AFTER": str(args.park_after),
                "CLAUDE_KERNEL_STATE_DIR": str(home / ".local" / "share" / "jupyter" / "claude_kernel"),
                "CLAUDE_CONFIG_DIR": str(home / ".claude")})
    notebooks: list[Notebook] = []
    slow_answer = say("word " * 200, chunk=5, delay=0.05)  # about 10 s of streaming
    try:
        print(f"One kernel (CLAUDE_KERNEL_SANDBOX={args.sandbox}, parking after {args.park_after:g} s idle)")
        one = Notebook(home, "solo", env)
        notebooks.append(one)
        one.run("Hello")
        show("idle (CLI running, no turn)", one.memory())
        model.script(slow_answer)
        msg_id = one.kc.execute("Write a long answer")
        time.sleep(2.0)
        show("active (mid-answer)", one.memory())
        while one.kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
            pass
        one.wait_parked(args.park_after + 30)
        parked = one.memory()
        show("parked (CLI stopped)", parked)
        print(f"  target: parked kernel <= 100 MB in all: {'met' if parked[0] <= 100 else 'NOT met'} "
              f"(RSS {parked[0]:.0f} MB)")

        print(f"\nFirst answer latency, median of {args.rounds}")
        warm, resumed = [], []
        for _ in range(args.rounds):
            resumed.append(one.run("Go on"))  # parked before: starts a CLI that resumes the session
            warm.append(one.run("And?"))  # right after: the CLI is running
            one.wait_parked(args.park_after + 30)
        print(f"  normal cell (CLI running)          {statistics.median(warm):6.2f} s")
        print(f"  first cell after parking           {statistics.median(resumed):6.2f} s "
              f"(+{statistics.median(resumed) - statistics.median(warm):.2f} s)")
        one.shutdown()
        notebooks.remove(one)

        print(f"\nA pod: {args.notebooks} agent notebooks open, {args.notebooks - 1} parked, one working")
        for index in range(args.notebooks):
            notebook = Notebook(home, f"agent-{index}", env)
            notebooks.append(notebook)
            notebook.run("Hello")
        working, *idle = notebooks
        for notebook in idle:
            notebook.wait_parked(args.park_after + 30)
        model.script(slow_answer)
        msg_id = working.kc.execute("Write a long answer")
        time.sleep(2.0)
        memories = [notebook.memory() for notebook in notebooks]
        show("the working notebook", memories[0])
        for index, memory in enumerate(memories[1:], 1):
            show(f"parked notebook {index}", memory)
        total_rss, total_pss = sum(m[0] for m in memories), sum(m[1] for m in memories)
        show("all notebooks", (total_rss, total_pss))
        print(f"  target: fits 1 GiB (1024 MB): {'met' if total_pss * MB <= GIB else 'NOT met'} by PSS "
              f"({total_pss:.0f} MB), {'met' if total_rss * MB <= GIB else 'not met'} even by RSS ({total_rss:.0f} MB)")
        while working.kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
            pass
    finally:
        for notebook in notebooks:
            try:
                notebook.shutdown()
            except Exception as err:  # keep stopping the others
                print(f"(a kernel did not shut down cleanly: {err})", file=sys.stderr)
        model.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
