#!/usr/bin/env python3
"""Renders the README's settings tables from the traits that define the settings.

Each table sits in README.md between ``<!-- settings: NAME -->`` and
``<!-- /settings: NAME -->``. Every row is a trait of the component (its own
``config=True`` traits): its environment variable (the trait's ``env`` tag), the traitlets name, its default
where the variable is unset (computed by the trait's own ``@default``, so the
README never states a default of its own), and its help text.

    scripts/settings_tables.py          rewrite README.md's tables
    scripts/settings_tables.py --check  exit 1 (saying which) when README.md differs
    ... [--check] --readme PATH         another copy of the README

tests/test_settings_tables.py runs the check.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"

# name of the table: (module, class) whose own settings it lists
TABLES = {
    "hub": ("hub_config.settings", "Settings"),
    "local-servers": ("hub_config.spawner", "LocalSpawner"),
    "kubernetes": ("hub_config.kubernetes", "ClusterSettings"),
    "service": ("agents_extension.service.app", "AgentsServiceApp"),
    "e-mail": ("email_hook.sender", "OutboxSender"),
    "user-server": ("agents_extension.server.extension", "AgentsExtension"),
    "kernel": ("claude_kernel.kernel", "ClaudeKernel"),
    "gateway": ("model_gateway.settings", "GatewaySettings"),
}


def _variable(trait) -> str:
    return trait.metadata.get("env", "")


def _shown(value: object) -> str:
    """A default as a reader of the README should see it: the same on every machine."""
    from jupyter_core.paths import jupyter_data_dir

    if isinstance(value, type):
        value = f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"`{item}`" for item in value) if value else "none"
    if isinstance(value, float):
        value = f"{value:g}"
    text = str(value)
    if not text:
        return "empty"
    for real, shown in ((sys.executable, "<this Python>"), (jupyter_data_dir(), "<jupyter data dir>"), (str(PROJECT), ".")):
        if text.startswith(real):
            text = shown + text[len(real):]
    return f"`{text}`"


def _cell(text: str) -> str:
    """Help text as one table cell (Markdown would take "<hub_ip>" for an HTML tag)."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _component(table: str) -> type:
    module, name = TABLES[table]
    return getattr(importlib.import_module(module), name)


def render(table: str) -> str:
    from oma_contract.environment import documented_default

    cls = _component(table)
    name = cls.__name__
    rows = ["| variable | setting | default | meaning |", "|---|---|---|---|"]
    for trait_name, trait in sorted(cls.class_own_traits(config=True).items()):
        variable = _variable(trait)
        rows.append("| {} | `{}.{}` | {} | {} |".format(
            f"`{variable}`" if variable else "", name, trait_name, _shown(documented_default(cls, trait_name, variable)), _cell(trait.help)))
    return "\n".join(rows)


def _region(table: str) -> re.Pattern:
    return re.compile(rf"(<!-- settings: {re.escape(table)} -->\n)(?:.*?\n)?(<!-- /settings: {re.escape(table)} -->)", re.S)


def rendered_readme(readme: str) -> str:
    for table in TABLES:
        region = _region(table)
        if not region.search(readme):
            raise SystemExit(f"README.md has no region for the {table!r} settings table "
                             f"(<!-- settings: {table} --> ... <!-- /settings: {table} -->)")
        readme = region.sub(lambda match: match.group(1) + render(table) + "\n" + match.group(2), readme)
    return readme


def main(argv: list[str]) -> int:
    # Defaults may depend on other settings' variables (smtp_port on OMA_SMTP_SECURITY): render
    # them as on a machine where none is set, whatever this shell has.
    for table in TABLES:
        for trait in _component(table).class_own_traits(config=True).values():
            os.environ.pop(_variable(trait), None)
    readme = Path(argv[argv.index("--readme") + 1]) if "--readme" in argv else README
    current = readme.read_text(encoding="utf-8")
    wanted = rendered_readme(current)
    if "--check" in argv:
        stale = [table for table in TABLES if _region(table).search(current).group(0) != _region(table).search(wanted).group(0)]
        if stale:
            print(f"{readme.name}'s settings tables differ from the traits ({', '.join(stale)}): "
                  "run scripts/settings_tables.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    raise SystemExit(main(sys.argv[1:]))
