"""The agents API's request bodies as store fields, and the folder names agents get.

What each field may hold is the contract's (oma_contract.agent): this module only picks
the model for the request (create, replace, change), turns the expected version out of
the body or an ``If-Match`` header, and derives an agent's folder name (slug) from its
name, since the user server makes ``~/agents/<slug>/`` and a kernelspec ``claude-<slug>``
from it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any, Iterable

from oma_contract import DEFAULT_MODELS, AGENT_LIMITS, AgentChanges, AgentCreate, AgentReplace, FieldInvalid, SessionReport

from ..store.rules import agent_name_key

# One error for every field check, agents' and the beta's alike.
AgentFieldError = FieldInvalid
# A version is a positive whole number that fits the store's 64-bit integers.
_VERSION_TAG = re.compile(r"[0-9]{1,18}")


def models_setting(value: str | None) -> tuple[str, ...]:
    """The models people may pick, from ``OMA_MODELS`` (comma-separated); unset or blank: the defaults."""
    models = tuple(dict.fromkeys(m.strip() for m in (value or "").split(",") if m.strip()))
    return models or DEFAULT_MODELS


# -- agents --------------------------------------------------------------------------
def agent_input(data: Any, models: Iterable[str], *, partial: bool, version_allowed: bool = True) -> tuple[dict[str, Any], int | None]:
    """The store fields a request body asks for, and the version it expects (``version``, if any).

    ``partial`` (PATCH): only the fields given. Otherwise (POST, PUT): every
    editable field, missing optional ones at their defaults, ``name`` required.
    """
    model = AgentChanges if partial else AgentReplace if version_allowed else AgentCreate
    checked = model.check(data, context={"models": tuple(models)})
    fields = checked.model_dump(mode="json", include=checked.model_fields_set if partial else None)
    version = fields.pop("version", None)
    return fields, version


def if_match_version(header: str | None) -> int | None:
    """The version an ``If-Match`` header expects: ``"3"``, ``W/"3"`` or ``3``; absent or ``*``: none."""
    if header is None or header.strip() in ("", "*"):
        return None
    tag = header.strip()
    tag = tag[2:] if tag.startswith("W/") else tag
    tag = tag.strip('"')
    # ASCII digits only: str.isdigit also takes "²", which int() refuses.
    if not _VERSION_TAG.fullmatch(tag) or int(tag) < 1:
        raise AgentFieldError("version", "The If-Match header must hold the agent's version, as its ETag gives it (\"3\").")
    return int(tag)


def expected_version(in_body: int | None, in_header: int | None) -> int | None:
    if in_body is not None and in_header is not None and in_body != in_header:
        raise AgentFieldError("version", f"The body says version {in_body} but If-Match says {in_header}: send one.")
    return in_body if in_body is not None else in_header


def name_taken(name: str, other_names: Iterable[str]) -> bool:
    """Names clash as the store compares them: ignoring case and surrounding spaces."""
    key = agent_name_key(name)
    return any(agent_name_key(other) == key for other in other_names)


# -- folder names --------------------------------------------------------------------
SLUG_MAX = AGENT_LIMITS["slug"]


def derive_slug(name: str) -> str:
    """A folder-safe name: ascii lowercase letters, digits and hyphens, at most 40 characters.

    Accents are dropped ("Café" -> "cafe"). A name without ascii letters (Korean,
    say) gets ``agent-`` and six hex digits of its hash, the same for the same name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-")
    if not re.search(r"[a-z]", slug):
        return "agent-" + hashlib.sha256(agent_name_key(name).encode()).hexdigest()[:6]
    return slug


def unique_slug(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3`` ... (shortened to fit 40 characters), whichever is free."""
    taken = set(taken)
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


# -- sessions ------------------------------------------------------------------------
def session_report(data: Any) -> dict[str, Any]:
    """The fields of a kernel's session report; counts and cost are the session's totals so far."""
    return SessionReport.check(data).model_dump(mode="json")
