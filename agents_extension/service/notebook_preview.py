"""A shared notebook as a read-only page that runs nothing: the gallery's preview of a recipe.

A recipe is written by someone else, so its Markdown and its outputs are untrusted HTML. Each cell is
rendered here (Markdown with markdown-it, code as text) and every piece of HTML then goes through
nh3 (the Ammonia sanitizer): no script or style elements, no event handlers, no ``javascript:`` or
other unlisted URL schemes, no frames, forms or SVG. Images are shown only from the notebook itself
(``data:`` PNG, JPEG, GIF, WebP; SVG only as an image, where it cannot run): an image the preview
fetched from elsewhere would tell that site who looks at the recipe, and one pointing back at the
platform (``/hub/logout``) would act for the viewer. The page around it also sends a
Content-Security-Policy without inline scripts (see gallery.py), a second wall should this one crack.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MAX_TEXT = 20_000  # characters of one output shown; the rest is cut (the recipe keeps it whole)
_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
    "code": {"class"}, "ol": {"start"}, "span": set(), "div": set(),
}


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        return value if _DATA_IMAGE.match(value) else None
    if attribute == "href" and value.lower().lstrip().startswith("data:"):
        return None
    if attribute == "class":  # only markdown-it's language hint, never the page's own classes
        return value if re.fullmatch(r"language-[\w+-]{1,30}", value) else None
    return value


# On nh3's output (well-formed, attributes double-quoted): an image whose source was dropped shows nothing,
# and one without alternative text is read out as its file name.
_IMAGE_WITHOUT_SOURCE = re.compile(r'<img(?![^>]*\ssrc=")[^>]*>')
_IMAGE_WITHOUT_ALT = re.compile(r'<img(?![^>]*\salt=")')


def sanitize(untrusted_html: str) -> str:
    """HTML that shows the same text and markup and can do nothing: the one gate of the preview."""
    clean = nh3.clean(untrusted_html, tags=set(nh3.ALLOWED_TAGS) - {"map", "area"}, attributes=_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto", "data"}, attribute_filter=_keep_attribute,
                      link_rel="noopener noreferrer nofollow", strip_comments=True)
    return _IMAGE_WITHOUT_ALT.sub('<img alt=""', _IMAGE_WITHOUT_SOURCE.sub("", clean))


def markdown(text: str) -> str:
    return sanitize(_MARKDOWN.render(text))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _pre(text: str, kind: str) -> str:
    text = _ANSI.sub("", text)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "\n…"
    return f'<pre class="output-{kind}">{html.escape(text)}</pre>'


def _image(mime: str, data: Any) -> str | None:
    payload = re.sub(r"\s+", "", _text(data))
    if mime == "image/svg+xml":  # text, not base64: as an image it is inert
        payload = base64.b64encode(_text(data).encode()).decode()
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return f'<img class="output-image" alt="" src="data:{mime};base64,{payload}">'


def output_html(output: dict[str, Any]) -> str:
    """One output of a code cell, in the richest form that can be shown inert."""
    kind = output.get("output_type")
    if kind == "stream":
        return _pre(_text(output.get("text")), "stderr" if output.get("name") == "stderr" else "stream")
    if kind == "error":
        lines = [_text(line) for line in output.get("traceback") or []]
        return _pre("\n".join(lines) or f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}", "error")
    data = output.get("data") or {}
    if not isinstance(data, dict):
        return ""
    for mime in (*_IMAGE_MIMES, "image/svg+xml"):
        if mime in data and (image := _image(mime, data[mime])):
            return image
    if "text/html" in data:
        return f'<div class="output-html">{sanitize(_text(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return f'<div class="output-markdown">{markdown(_text(data["text/markdown"]))}</div>'
    if "text/plain" in data:
        return _pre(_text(data["text/plain"]), "text")
    return ""


@dataclass
class PreviewCell:
    kind: str  # markdown, code or raw
    html: str  # safe to put in a page as it is
    outputs: list[str]  # each safe as it is


def preview(notebook: dict[str, Any]) -> list[PreviewCell]:
    """The notebook's cells, each rendered and sanitized, in order."""
    cells = []
    for cell in notebook.get("cells") or []:
        source = _text(cell.get("source"))
        kind = cell.get("cell_type")
        if kind == "markdown":
            cells.append(PreviewCell("markdown", markdown(source), []))
        elif kind == "code":
            outputs = [output_html(o) for o in cell.get("outputs") or [] if isinstance(o, dict)]
            cells.append(PreviewCell("code", f"<pre>{html.escape(source)}</pre>", [o for o in outputs if o]))
        else:
            cells.append(PreviewCell("raw", f"<pre>{html.escape(source)}</pre>", []))
    return cells
