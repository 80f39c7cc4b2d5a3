"""The images' figures: sizes, build times (cold and warm), and a user container's start.

  sizes           each image as stored (uncompressed) and as pushed and pulled
                  (its layers gzipped, measured with skopeo copy to an OCI archive);
                  the user image's target is 1 GB or less
  base            the Debian bookworm base made with mmdebstrap (scripts/build-images does it once)
  cold build      scripts/build-images --no-cache: every step of both images again
                  (the downloads of apt and pip included; the base kept)
  warm build      scripts/build-images again with nothing changed (the layers reused)
  start to lab    `podman run` of the user image (uid 1000, capabilities dropped,
                  no-new-privileges) -> JupyterLab's page answers 200; target 5 s or less

Prints figures; it is not a test. Run from the project root as root (or wherever
podman, buildah and mmdebstrap work):

    .venv/bin/python benchmarks/images.py [--runs 5] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
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


def build(*options: str) -> tuple[float, list[str]]:
    started = time.monotonic()
    done = run(str(PROJECT / "scripts" / "build-images"), "--tag", TAG, *options)
    return time.monotonic() - started, done.stdout.split()


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


def start_to_lab(image: str) -> float:
    port, token, name = free_port(), uuid.uuid4().hex, f"oma-bench-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    run("podman", "run", "--detach", "--rm", "--name", name, "--user", "1000:100", "--cap-drop=ALL",
        "--security-opt", "no-new-privileges", "--network", "host", image,
        "jupyter", "server", "--ip=127.0.0.1", f"--port={port}", "--no-browser", f"--IdentityProvider.token={token}")
    try:
        while time.monotonic() - started < 60:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/lab", headers={"Authorization": f"token {token}"},
                                      timeout=2)
                if answer.status_code == 200:
                    return time.monotonic() - started
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
    warm, names = build()  # also makes sure both images exist
    if not args.skip_cold:
        print(f"  base (mmdebstrap)   {base_seconds():6.1f} s")
        cold, names = build("--no-cache")
        print(f"  cold build (both)   {cold:6.1f} s")
        warm, names = build()
    print(f"  warm build (both)   {warm:6.1f} s")
    hub, user = names
    for label, image in (("hub", hub), ("user", user)):
        stored, pushed = sizes(image)
        target = f"  (target <= {megabytes(USER_TARGET_BYTES)}: {'met' if stored <= USER_TARGET_BYTES else 'NOT met'})" \
            if label == "user" else ""
        print(f"  {label} image          {megabytes(stored):>7} stored, {megabytes(pushed)} pushed (gzipped){target}")
    starts = [start_to_lab(user) for _ in range(args.runs)]
    median = statistics.median(starts)
    print(f"  start to JupyterLab median {median:.2f} s, min {min(starts):.2f} s, max {max(starts):.2f} s "
          f"over {len(starts)} runs (target <= {START_TARGET_SECONDS:.0f} s: "
          f"{'met' if median <= START_TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
