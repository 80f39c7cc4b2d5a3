"""The two images for tests/deploy/test_images.py, built while the rest of the suite runs.

Building them is most of those tests' time (a minute and a half on a fresh machine, much of it
waiting for Debian's and PyPI's mirrors), so when a run selects tests that need the images the build
starts as soon as the tests are collected, and those tests are moved to the end of the run: by the
time they start the images are usually there. ``scripts/build-images`` is the same command as
without this; only when it starts changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
TAG = "test"
TOOLS = ("podman", "buildah", "mmdebstrap")
TIMEOUT = 1500


LOWEST_PRIORITY = [*(["ionice", "-c", "3"] if shutil.which("ionice") else []), "nice", "-n", "19"]


def can_build() -> bool:
    """build-images installs what it misses as root; otherwise the tools must be there."""
    return os.geteuid() == 0 or all(shutil.which(tool) for tool in TOOLS)


class ImageBuild:
    def __init__(self, tag: str = TAG) -> None:
        self.output = tempfile.TemporaryFile("w+")
        self.errors = tempfile.TemporaryFile("w+")
        # At the lowest CPU and disk priority: it runs beside the other tests, some of which time how long
        # the platform takes (to stop, say), and most of a build is waiting for the package mirrors anyway.
        self.process = subprocess.Popen([*LOWEST_PRIORITY, str(PROJECT / "scripts" / "build-images"), "--tag", tag],
                                        cwd=PROJECT,
                                        stdout=self.output, stderr=self.errors, text=True)

    def images(self) -> dict[str, str]:
        """Waits for the build: {"hub": name, "user": name}; fails the test with the build's errors."""
        try:
            code = self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"scripts/build-images took more than {TIMEOUT} s")
        self.output.seek(0)
        self.errors.seek(0)
        names, errors = self.output.read(), self.errors.read()
        assert code == 0, f"scripts/build-images failed:\n{names}\n{errors[-6000:]}"
        hub, user = names.split()[:2]
        return {"hub": hub, "user": user}

    def stop(self) -> None:
        if self.process.poll() is None:  # the run ended before the image tests (-x, Ctrl-C)
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


BUILD = pytest.StashKey[ImageBuild]()
