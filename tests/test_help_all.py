"""Every setting of every component is listed by its command's ``--help-all``, with its environment variable:
the same traits the README's settings tables are generated from (scripts/settings_tables.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("settings_tables", PROJECT / "scripts" / "settings_tables.py")
settings_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(settings_tables)

# Which command lists each table's settings.
COMMANDS = {
    "hub": "hub_config", "local-servers": "hub_config", "kubernetes": "hub_config",
    "service": "agents_extension.service", "e-mail": "agents_extension.service",
    "user-server": "agents_extension.server", "kernel": "claude_kernel", "gateway": "model_gateway",
}


def test_every_table_has_a_command():
    assert set(COMMANDS) == set(settings_tables.TABLES)


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """Each command's --help-all, run at once (each is a Python start of 1-3 s)."""
    running = {module: subprocess.Popen([sys.executable, "-m", module, "--help-all"], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"}, cwd=PROJECT)
               for module in set(COMMANDS.values())}
    shown = {}
    for module, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"python -m {module} --help-all failed:\n{err[-3000:]}"
        shown[module] = out
    return shown


@pytest.mark.parametrize("table", sorted(COMMANDS))
def test_help_all_lists_each_setting_with_its_variable(helps, table):
    cls = settings_tables._component(table)
    shown = helps[COMMANDS[table]]
    for name, trait in cls.class_own_traits(config=True).items():
        option = f"--{cls.__name__}.{name}="
        assert option in shown, f"python -m {COMMANDS[table]} --help-all does not list {option}"
        entry = shown.split(option, 1)[1].split("\n--", 1)[0]
        if trait.metadata.get("env"):
            assert f"Environment variable: {trait.metadata['env']}" in entry, entry
