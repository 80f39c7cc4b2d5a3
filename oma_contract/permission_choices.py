"""What an agent may do without asking, in a person's words, and the tool rules that say it.

The agent form asks, for each thing an agent can do (read files, change files,
run commands, search the web, fetch pages), whether it may do it without asking,
must ask first, or may never do it. What is stored is Claude Code's own shape
(``allowed_tools`` and ``disallowed_tools`` in its rule syntax, see
``oma_contract.agent``), so this module maps both ways, and the form shows the
rules no choice covers (``Bash(ls:*)``, an MCP tool) behind "Advanced", where
they are kept as they are.

- allow: every tool of the capability is in ``allowed_tools``;
- never: every tool of it is in ``disallowed_tools`` (Claude Code's deny wins
  over its allow, so the capability's tools are then dropped from the allowed
  list, where they had no effect);
- ask: anything else; the capability's tools appear in neither list.

Reading is a special case: Claude Code reads files in the agent's folder
without asking unless told never to, so "ask first" is not offered for it. An
agent whose lists do not name the reading tools reads without asking, and is
shown so; saving it names them in ``allowed_tools``, which also keeps reading
possible under the "never ask" permission mode (``dontAsk``).

The page's script applies the same table (``CAPABILITIES``, given to it as
JSON) when it sends a form; tests/test_permission_choices.py holds the table
to this module and tests/hub/test_dashboard_browser.py the script to both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Iterable


class Answer(StrEnum):
    """May the agent do this without asking?"""

    ALLOW = "allow"  # yes
    ASK = "ask"  # ask me first (in a notebook; a run nobody watches is refused)
    NEVER = "never"


@dataclass(frozen=True)
class Capability:
    key: str  # the form's field name, and the key of its words in the dashboard's texts
    tools: tuple[str, ...]  # Claude Code's tools that do it
    answers: tuple[Answer, ...] = (Answer.ALLOW, Answer.ASK, Answer.NEVER)
    unnamed: Answer = Answer.ASK  # what Claude Code does when neither list names its tools


CAPABILITIES: tuple[Capability, ...] = (
    Capability("read", ("Read", "Glob", "Grep"), answers=(Answer.ALLOW, Answer.NEVER), unnamed=Answer.ALLOW),
    Capability("change", ("Edit", "Write", "NotebookEdit")),
    Capability("run", ("Bash",)),
    Capability("search", ("WebSearch",)),
    Capability("fetch", ("WebFetch",)),
)
NEW_AGENT = {"read": Answer.ALLOW, "change": Answer.ASK, "run": Answer.ASK, "search": Answer.ASK, "fetch": Answer.ASK}


@dataclass(frozen=True)
class PermissionChoices:
    """The form's view of an agent's tool lists: one answer per capability, and the rules left over."""

    answers: dict[str, Answer]
    other_allowed: list[str] = field(default_factory=list)  # rules no capability covers, kept as they are
    other_disallowed: list[str] = field(default_factory=list)


def choices_of(allowed_tools: Iterable[str], disallowed_tools: Iterable[str]) -> PermissionChoices:
    """The answers an agent's stored tool lists amount to."""
    allowed, disallowed = list(allowed_tools), list(disallowed_tools)
    answers: dict[str, Answer] = {}
    covered_allowed: set[str] = set()
    covered_disallowed: set[str] = set()
    for capability in CAPABILITIES:
        tools = set(capability.tools)
        if tools <= set(disallowed):
            answers[capability.key] = Answer.NEVER
            covered_disallowed |= tools
            covered_allowed |= tools  # deny wins: an allow of these did nothing
        elif tools <= set(allowed):
            answers[capability.key] = Answer.ALLOW
            covered_allowed |= tools
        else:
            answers[capability.key] = capability.unnamed
    return PermissionChoices(
        answers=answers,
        other_allowed=_unique(rule for rule in allowed if rule not in covered_allowed),
        other_disallowed=_unique(rule for rule in disallowed if rule not in covered_disallowed),
    )


def tool_lists(choices: PermissionChoices) -> tuple[list[str], list[str]]:
    """``(allowed_tools, disallowed_tools)`` to store for the form's answers and leftover rules.

    A capability without an answer, or with one it does not offer, counts as its ``unnamed`` answer."""
    allowed: list[str] = []
    disallowed: list[str] = []
    for capability in CAPABILITIES:
        answer = choices.answers.get(capability.key, capability.unnamed)
        if answer not in capability.answers:
            answer = capability.unnamed
        if answer == Answer.ALLOW:
            allowed += capability.tools
        elif answer == Answer.NEVER:
            disallowed += capability.tools
    never = set(disallowed)
    allowed += [rule for rule in choices.other_allowed if rule not in never]
    disallowed += choices.other_disallowed
    return _unique(allowed), _unique(disallowed)


def table() -> list[dict]:
    """The capabilities as the page's script reads them (JSON)."""
    return [{"key": c.key, "tools": list(c.tools), "answers": [str(a) for a in c.answers], "unnamed": str(c.unnamed)}
            for c in CAPABILITIES]


def _unique(rules: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(rules))
