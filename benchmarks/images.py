"""The images' figures: sizes, build times (cold and warm), and a user container's start.

  sizes           each image as stored (uncompressed) and as pushed and pulled
                  (its layers gzipped, measured with skopeo copy to an OCI archive);
                  the user image's target is 1 GB or less
  base            the Debian bookworm base made with mmdebstrap (scripts/build-images does it once)
  cold build      scripts/build-images --no-cache with pip's download cache (the builds'
                  cache mount) emptied first: every step of both images again, every
                  apt and pip download included (the base kept)
  warm build      one source file changed (a comment added to claude_kernel/__init__.py,
                  in a copy of the checkout): what a commit that touches only the sources
                  costs; the dependencies' layers are reused, the project's rebuilt
  unchanged       scripts/build-images again with nothing changed (every layer reused)
  start to lab    `podman run` of the user image (uid 1000, capabilities dropped,
                  no-new-privileges) -> JupyterLab's page answers 200; target 5 s or less;
                  again with the CPU a user pod is guaranteed (its request, --cpus)
  server memory   the user server's own memory once JupyterLab's page was served (no
                  kernel yet): the PSS of every process in the container; with
                  benchmarks/kernel_memory.py's kernels it sizes a user pod's memory

Prints figures; it is not a test. Run from the project root as root (or wherever
podman, buildah and mmdebstrap work):

    .venv/bin/python benchmarks/images.py [--runs 5] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.network import free_port  # noqa: E402

TAG = "bench"
ENV = {**os.environ, "CONTAINERS_CONF": str(PROJECT / "images" / "containers.conf")}
USER_TARGET_BYTES = 1_000_000_000
START_TARGET_SECONDS = 5.0


def run(*command: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=True, env=ENV, timeout=timeout, cwd=PROJECT)


# Where buildah keeps the images' RUN --mount=type=cache (id=oh-my-agent-pip): pip's downloads.
PIP_CACHE = Path("/var/tmp") / ("buildah-cache" if os.geteuid() == 0 else f"buildah-cache-{os.geteuid()}") \
    / "oh-my-agent-pip"
CHANGED_SOURCE = Path("claude_kernel") / "__init__.py"


def build(*options: str, checkout: Path = PROJECT) -> tuple[float, list[str]]:
    started = time.monotonic()
    done = run(str(checkout / "scripts" / "build-images"), "--tag", TAG, *options)
    return time.monotonic() - started, done.stdout.split()


def build_with_one_source_changed() -> float:
    """A build from a copy of the checkout in which one source file differs (a comment added)."""
    with tempfile.TemporaryDirectory() as folder:
        checkout = Path(folder) / "checkout"
        shutil.copytree(PROJECT, checkout, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "test-artifacts",
                                                      "__pycache__", ".pytest_cache"))
        (checkout / ".venv").symlink_to(PROJECT / ".venv")  # for the JupyterLab extension's build
        source = checkout / CHANGED_SOURCE
        source.write_text(source.read_text(encoding="utf-8") + f"# benchmark {time.time()}\n", encoding="utf-8")
        seconds, _ = build(checkout=checkout)
        return seconds


def base_seconds() -> float:
    """mmdebstrap's base, made again into a temporary file (the imported one is left as it is)."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        run("mmdebstrap", "--quiet", "--variant=minbase", "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
            "bookworm", f"{folder}/base.tar", "deb http://deb.debian.org/debian bookworm main",
            "deb http://deb.debian.org/debian bookworm-updates main",
            "deb http://deb.debian.org/debian-security bookworm-security main")
        return time.monotonic() - started


def sizes(image: str) -> tuple[int, int]:
    """(bytes stored, bytes pushed: the gzipped layers and config)."""
    stored = int(run("podman", "image", "inspect", "--format", "{{.Size}}", image).stdout.strip())
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "image.tar"
        run("skopeo", "copy", "--quiet", f"containers-storage:{image}", f"oci-archive:{archive}:{image}")
        return stored, archive.stat().st_size


# The CPU a user pod is guaranteed: userServers.cpu.request in helm/oh-my-agent/values.yaml.
POD_CPU_REQUEST = "0.25"
# Summed in the container: the proportional set size of each of its processes, in kB.
PSS_OF_ALL = ("import glob\n"
              "total = 0\n"
              "for path in glob.glob('/proc/[0-9]*/smaps_rollup'):\n"
              "    try:\n"
              "        total += sum(int(line.split()[1]) for line in open(path) if line.startswith('Pss:'))\n"
              "    except OSError:\n"
              "        pass\n"
              "print(total)")

# Summed in the container: the CPU time (user and system) its processes used, in seconds.
CPU_OF_ALL = ("import glob, os\n"
              "total = 0\n"
              "for path in glob.glob('/proc/[0-9]*/stat'):\n"
              "    try:\n"
              "        total += sum(int(n) for n in open(path).read().rsplit(')', 1)[1].split()[11:15])\n"
              "    except OSError:\n"
              "        pass\n"
              "print(total / os.sysconf('SC_CLK_TCK'))")


def start_to_lab(image: str, cpus: str | None = None, memory: bool = False) -> tuple[float, int | None]:
    """(seconds from `podman run` to JupyterLab's page, and the server's PSS in bytes when ``memory``)."""
    port, token, name = free_port(), uuid.uuid4().hex, f"oma-bench-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    run("podman", "run", "--detach", "--rm", "--name", name, "--user", "1000:100", "--cap-drop=ALL",
        "--security-opt", "no-new-privileges", "--network", "host", *([f"--cpus={cpus}"] if cpus else []), image,
        "jupyter", "server", "--ip=127.0.0.1", f"--port={port}", "--no-browser", f"--IdentityProvider.token={token}")
    try:
        while time.monotonic() - started < 60:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/lab", headers={"Authorization": f"token {token}"},
                                      timeout=2)
                if answer.status_code == 200:
                    seconds = time.monotonic() - started
                    if not memory:
                        return seconds, None
                    time.sleep(2)  # what the page's first requests start settles
                    # (the measuring Python's own PSS is left out: it is not the server's)
                    cpu = float(run("podman", "exec", name, "python3", "-c", CPU_OF_ALL).stdout)
                    measured = run("podman", "exec", name, "python3", "-c", PSS_OF_ALL).stdout
                    measurer = run("podman", "exec", name, "python3", "-c",
                                   "print(sum(int(l.split()[1]) for l in open('/proc/self/smaps_rollup') "
                                   "if l.startswith('Pss:')))").stdout
                    print(f"  start's CPU time    {cpu:.2f} CPU-seconds (what a pod's CPU request has to cover)")
                    return seconds, (int(measured) - int(measurer)) * 1024
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("JupyterLab did not answer within 60 s")
    finally:
        subprocess.run(["podman", "rm", "--force", "--time", "2", name], capture_output=True, env=ENV)


def megabytes(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="container starts to time")
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold build (several minutes)")
    args = parser.parse_args()

    print("images benchmark (2-core machine; apt and pip downloads through the network's proxy)")
    unchanged, names = build()  # also makes sure both images exist
    if not args.skip_cold:
        print(f"  base (mmdebstrap)   {base_seconds():6.1f} s")
        emptied = PIP_CACHE.is_dir()
        shutil.rmtree(PIP_CACHE, ignore_errors=True)
        cold, names = build("--no-cache")
        print(f"  cold build (both)   {cold:6.1f} s" + ("  (pip's cache emptied first)" if emptied else ""))
    warm = build_with_one_source_changed()
    print(f"  warm build (both)   {warm:6.1f} s  (one source file changed)")
    unchanged, names = build()  # the checkout's own images again
    print(f"  unchanged (both)    {unchanged:6.1f} s  (nothing changed)")
    hub, user = names
    for label, image in (("hub", hub), ("user", user)):
        stored, pushed = sizes(image)
        target = f"  (target <= {megabytes(USER_TARGET_BYTES)}: {'met' if stored <= USER_TARGET_BYTES else 'NOT met'})" \
            if label == "user" else ""
        print(f"  {label} image          {megabytes(stored):>7} stored, {megabytes(pushed)} pushed (gzipped){target}")
    _, server = start_to_lab(user, memory=True)
    print(f"  user server memory  {megabytes(server)} PSS (JupyterLab's page served, no kernel yet)")
    for label, cpus in (("", None), (f" at {POD_CPU_REQUEST} CPU (the pod's request)", POD_CPU_REQUEST)):
        starts = [start_to_lab(user, cpus)[0] for _ in range(args.runs)]
        median = statistics.median(starts)
        print(f"  start to JupyterLab{label} median {median:.2f} s, min {min(starts):.2f} s, max {max(starts):.2f} s "
              f"over {len(starts)} runs (target <= {START_TARGET_SECONDS:.0f} s: "
              f"{'met' if median <= START_TARGET_SECONDS else 'NOT met'})")

if __name__ == "__main__":
    main()
