"""The layers of pyproject.toml's import-linter contracts hold: oma_contract ← store ← service,
e-mail and the model gateway; oma_contract ← recipe runs ← service and user-server extension;
oma_contract ← kernel; the hub's configuration on oma_contract (one explained exception).

Import-linter's contracts list only what a part may not import, so each one must name every part of
the project it is not allowed: the contracts are checked against ``ALLOWED`` (the arrows
docs/architecture.md draws), and copies of the code with one forbidden import planted show the check
catches it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
LINTER = PYPROJECT["tool"]["importlinter"]

# Who may import whom: every other part of the project must be forbidden in the importer's contract.
# agents_extension is two sides of a trust boundary (the service with its store, the user server),
# so its parts are parts of their own.
ALLOWED = {
    "oma_contract": set(),
    "agents_extension.store": {"oma_contract"},
    "agents_extension.service": {"oma_contract", "agents_extension.store", "recipes"},  # a recipe's notebook, read
    "agents_extension.server": {"oma_contract", "recipes"},  # the run pages run recipes
    "agents_extension.user_server": {"oma_contract"},
    "email_hook": {"oma_contract", "agents_extension.store"},
    "recipes": {"oma_contract"},
    "claude_kernel": {"oma_contract"},
    "hub_config": {"oma_contract"},  # and containment -> claude_kernel.sandbox, ignored by name in its contract
    "model_gateway": {"oma_contract", "agents_extension.store"},
}


def parts() -> set[str]:
    """The project's parts: its root packages, agents_extension as its subpackages and modules."""
    found = set(LINTER["root_packages"]) - {"agents_extension"}
    for child in (PROJECT / "agents_extension").iterdir():
        if (child.is_dir() and (child / "__init__.py").is_file()) or (child.suffix == ".py" and child.stem != "__init__"):
            found.add(f"agents_extension.{child.stem}")
    return found


def covers(module: str, part: str) -> bool:
    return part == module or part.startswith(module + ".")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})


def test_every_layer_imports_only_what_it_may():
    run = lint_imports(PROJECT)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_every_package_of_the_project_is_a_root_package_of_the_check():
    assert sorted(LINTER["root_packages"]) == sorted(PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def test_every_part_has_a_contract_and_each_contract_forbids_all_it_does_not_allow():
    assert set(ALLOWED) == parts(), "a part of the project without its arrows in ALLOWED (and a contract)"
    sources = [module for contract in LINTER["contracts"] for module in contract["source_modules"]]
    assert sorted(sources) == sorted(ALLOWED), "each part is the source of one contract"
    for contract in LINTER["contracts"]:
        assert contract["type"] == "forbidden", contract["name"]
        (source,) = contract["source_modules"]
        forbidden = contract["forbidden_modules"]
        for part in parts() - {source}:
            if part in ALLOWED[source]:
                assert not any(covers(module, part) for module in forbidden), (contract["name"], part)
            else:
                assert any(covers(module, part) for module in forbidden), (
                    f"{contract['name']!r} neither allows nor forbids {part}: forbid it, or allow it in "
                    "ALLOWED if docs/architecture.md draws that arrow")


@pytest.mark.parametrize(("planted_in", "planted", "broken"), [
    ("agents_extension/service/hub_api.py", "from claude_kernel import render",
     "agents_extension.service.hub_api -> claude_kernel.render"),
    ("claude_kernel/render.py", "from model_gateway import prices", "claude_kernel.render -> model_gateway.prices"),
    ("agents_extension/store/base.py", "from recipes import notebook", "agents_extension.store.base -> recipes.notebook"),
    ("agents_extension/service/hub_api.py", "from model_gateway import app",
     "agents_extension.service.hub_api -> model_gateway.app"),
    ("agents_extension/user_server.py", "from agents_extension.server import app",
     "agents_extension.user_server -> agents_extension.server.app"),
    ("model_gateway/budgets.py", "from recipes import notebook", "model_gateway.budgets -> recipes.notebook"),
])
def test_a_forbidden_import_breaks_the_check(tmp_path, planted_in, planted, broken):
    shutil.copy(PROJECT / "pyproject.toml", tmp_path)
    for package in LINTER["root_packages"]:  # every one: a missing root package would be found installed elsewhere
        shutil.copytree(PROJECT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    file = tmp_path / planted_in
    file.write_text(file.read_text() + f"\n{planted}  # planted\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout[-4000:]
    assert broken in run.stdout, run.stdout[-4000:]
