"""The layers of pyproject.toml's import-linter contracts hold: oma_contract ← store ← service
and e-mail; oma_contract ← user-server extension; oma_contract ← kernel; the hub's
configuration on oma_contract (one explained exception). A copy of the code with one
forbidden import planted shows the check catches it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("oma_contract", "agents_extension", "claude_kernel", "email_hook", "hub_config")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})


def test_every_layer_imports_only_what_it_may():
    run = lint_imports(PROJECT)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_a_service_importing_the_kernel_breaks_the_check(tmp_path):
    shutil.copy(PROJECT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(PROJECT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    planted = tmp_path / "agents_extension" / "service" / "hub_api.py"
    planted.write_text(planted.read_text() + "\nfrom claude_kernel import render  # planted\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout[-4000:]
    assert "agents_extension.service.hub_api -> claude_kernel.render" in run.stdout
