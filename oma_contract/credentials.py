"""Values in a notebook that look like credentials (API keys, tokens, passwords), found before it is shared.

Publishing a recipe shows its author every finding, and waits until each is cleared from the notebook or
confirmed not to be a credential. Both sides use this one scanner: the person's server to show the
findings on the share page, the agents service to refuse a recipe whose findings were not all confirmed
(the server is not trusted to have asked). A finding is named by its ``fingerprint`` (a hash of the value,
never the value itself), which is what the author confirms; the value is shown only masked.

Patterns are the well-known shapes of providers' keys plus ``password = ...``-style assignments; a scanner
errs towards asking, since the author can confirm a false alarm with one tick.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterator

# (what it is, in a person's words; the pattern; the group holding the value, 0 for the whole match)
PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), 0),
    ("OpenAI API key", re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"), 0),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), 0),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), 0),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), 0),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), 0),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), 0),
    ("password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:([^\s/@]{3,})@"), 1),
    ("bearer token", re.compile(r"\bBearer\s+([A-Za-z0-9._~+/=-]{16,})"), 1),
    ("password, token or key", re.compile(
        r"(?i)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
        r"|client[_-]?secret|auth|credentials?|비밀번호|암호|토큰)[\"']?\s*[:=]\s*[\"']?([^\s\"',;)}\]]{6,})"), 1),
)

# Values that stand for a credential without being one: a reference to the environment, a placeholder.
_PLACEHOLDER = re.compile(
    r"(?i)^(?:\$\{?\w+\}?|<[^>]*>|\{\{.*\}\}|\*+|x{3,}\w*|\.{3,}|your[_-]?\w*|changeme|example\w*|dummy\w*|none|null"
    r"|\{\{.*|true|false|os\.(?:environ|getenv)\S*|getpass\S*|environ\S*|input\(\S*|redacted|placeholder)$")


@dataclass(frozen=True)
class Finding:
    """One value that looks like a credential, and where it is."""

    kind: str  # what it looks like ("Anthropic API key")
    where: str  # "title", "description", "cell 3", "cell 3 output"
    masked: str  # the value with all but its ends hidden
    fingerprint: str  # names the value (a hash), for confirming it is not a credential

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "masked": self.masked, "fingerprint": self.fingerprint}


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def mask(value: str) -> str:
    """Enough to recognise the value, not enough to use it."""
    if len(value) <= 8:
        return value[:1] + "•" * (len(value) - 1)
    return value[:4] + "•" * min(len(value) - 6, 12) + value[-2:]


def scan_text(text: str, where: str) -> list[Finding]:
    """The credentials-looking values in one text, each once."""
    found: dict[str, Finding] = {}
    claimed: list[tuple[int, int]] = []  # spans already reported, so one key is not also "a token"
    for kind, pattern, group in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span(group)
            value = match.group(group)
            if _PLACEHOLDER.match(value) or any(s <= start < e or start <= s < end for s, e in claimed):
                continue
            claimed.append((start, end))
            key = fingerprint(value)
            found.setdefault(key, Finding(kind, where, mask(value), key))
    return list(found.values())


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _output_texts(output: dict[str, Any]) -> Iterator[str]:
    yield _text(output.get("text"))
    yield _text(output.get("evalue"))
    yield "\n".join(_text(line) for line in output.get("traceback") or [] if isinstance(line, str))
    for mime, data in (output.get("data") or {}).items():
        if mime.startswith("text/") or mime.endswith("json") or mime.endswith("+xml"):
            yield _text(data) if not isinstance(data, dict) else str(data)


def scan_notebook(notebook: dict[str, Any], **fields: str) -> list[Finding]:
    """Every credentials-looking value of a notebook (sources and outputs, cell by cell, counted from 1)
    and of the recipe's own text ``fields`` (title, description), each value once, in reading order."""
    findings: dict[str, Finding] = {}

    def add(text: str, where: str) -> None:
        for finding in scan_text(text, where):
            findings.setdefault(finding.fingerprint, finding)

    for name, value in fields.items():
        add(value, name)
    for number, cell in enumerate(notebook.get("cells") or [], start=1):
        if not isinstance(cell, dict):
            continue
        add(_text(cell.get("source")), f"cell {number}")
        for output in cell.get("outputs") or []:
            if isinstance(output, dict):
                for text in _output_texts(output):
                    add(text, f"cell {number} output")
    return list(findings.values())
