"""Writes images/constraints.txt: the exact version of every Python package the images install.

The images run Debian bookworm's Python (3.11.2), not the project's .venv's, so
the lock is resolved for that Python: it starts from the versions of the .venv
(the tested ones) and drops a pin only where that version cannot be installed
on 3.11.2 (e.g. a release that requires 3.11.5), saying which; pip then picks
the newest version that can. Run by ``scripts/build-images --lock``.

    .venv/bin/python images/lock.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from requirements import every_image  # images/requirements.py, beside this file

PROJECT = Path(__file__).resolve().parents[1]
LOCK = PROJECT / "images" / "constraints.txt"
# Debian bookworm's python3 package.
IMAGE_PYTHON = "3.11.2"
UNAVAILABLE = re.compile(r"no matching distributions? available for your environment:\s*\n((?:\s+\S+\n?)+)")


def requirements() -> list[str]:
    return every_image()


def tested_versions() -> dict[str, str]:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout
    pins = {}
    for line in frozen.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(pins: dict[str, str]) -> tuple[dict[str, str] | None, list[str], str]:
    """(the resolved versions, or None; the packages whose pin cannot be installed; pip's words)."""
    with tempfile.TemporaryDirectory() as folder:
        constraints, report = Path(folder, "constraints.txt"), Path(folder, "report.json")
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--dry-run",
             "--ignore-installed", "--only-binary=:all:", f"--python-version={IMAGE_PYTHON}",
             # This machine's platform tags (Debian bookworm, x86-64) are the images'.
             "-c", str(constraints), "--report", str(report), *requirements()],
            capture_output=True, text=True)
        if done.returncode == 0:
            installs = json.loads(report.read_text())["install"]
            return {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}, [], ""
    said = done.stdout + done.stderr
    found = UNAVAILABLE.search(said)
    return None, [canonical(name) for name in found.group(1).split()] if found else [], said[-4000:]


def main() -> None:
    pins, dropped = tested_versions(), []
    while True:
        resolved, unavailable, said = resolve(pins)
        if resolved is not None:
            break
        if not unavailable or not set(unavailable) & set(pins):
            sys.exit(f"lock: pip cannot resolve the images' packages for Python {IMAGE_PYTHON}:\n{said}")
        for name in unavailable:
            if name in pins:
                dropped.append(f"{name}=={pins.pop(name)}")
    lines = [f"# The exact Python packages of both images, for Debian bookworm's Python {IMAGE_PYTHON}.",
             "# Written by images/lock.py (scripts/build-images --lock) from the versions of the",
             "# project's tested .venv. Versions of the .venv that cannot be installed on that Python,",
             "# for which pip chose the newest that can:",
             *(f"#   {pin}" for pin in dropped or ["(none)"]),
             *(f"{name}=={version}" for name, version in sorted({**resolved, "pip": version("pip")}.items()))]
    LOCK.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"lock: {len(resolved)} packages in {LOCK.relative_to(PROJECT)}; re-chosen: {', '.join(dropped) or 'none'}")


if __name__ == "__main__":
    main()
