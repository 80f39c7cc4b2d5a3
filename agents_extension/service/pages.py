"""The service's page templates."""

from __future__ import annotations

from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent
PLATFORM_TEMPLATES = HERE.parent.parent / "hub_config" / "templates"


def _hub_templates() -> Path:
    """JupyterHub's own templates (installed under <prefix>/share/jupyterhub/templates)."""
    from jupyterhub._data import DATA_FILES_PATH

    return Path(DATA_FILES_PATH) / "templates"


def page_environment() -> jinja2.Environment:
    hub = str(_hub_templates())
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(HERE / "templates")),
        jinja2.FileSystemLoader(str(PLATFORM_TEMPLATES)),
        jinja2.PrefixLoader({"templates": jinja2.FileSystemLoader(hub)}),
        jinja2.FileSystemLoader(hub),
    ])
    return jinja2.Environment(loader=loader, autoescape=True)
