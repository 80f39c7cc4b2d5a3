"""The service's pages: its own templates and stylesheet, nothing of the hub's.

The pages extend templates/layout.html, which looks like the hub's pages but
uses only the hub's public URLs; static/service.css is served by the service
itself (tornado's static handler, under <prefix>static/).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def page_environment() -> jinja2.Environment:
    # The i18n extension: the pages' words come from the gettext catalog (i18n.template_callables).
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              extensions=["jinja2.ext.i18n"])
