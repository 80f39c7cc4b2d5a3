"""The contract (oma_contract): what every text field refuses, the beta's forms, the settings
file, and that each of its enums is spelled once in the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents_extension.service.beta import check_application, check_decision
from claude_kernel.usage_report import SessionReport as KernelSessionReport
from oma_contract import (
    AgentCreate,
    AgentSettingsFile,
    AgentStatus,
    BetaStatus,
    FieldInvalid,
    HeadlessPolicy,
    Language,
    MessageStatus,
    PermissionMode,
    SessionReport,
    SessionStatus,
    Verdict,
)

REPO = Path(__file__).resolve().parent.parent

# (value, words the message holds), for any one-line name: the agent's, a beta applicant's.
BAD_NAMES = [
    (3, "text"),
    ("a\x00b", "control characters"),
    ("a\x1bb", "control characters"),
    ("a\x85b", "control characters"),
    ("two\nlines", "one line"),
    ("tab\there", "one line"),
    ("line\u2028separator", "one line"),
    ("\ud800", "lone surrogate"),
    ("ok\udfffok", "lone surrogate"),
    ("\u200b", "invisible character (U+200B)"),
    ("\u200b\u200c\u2060", "invisible character (U+200B)"),
    ("ann\u202egnp.exe", "invisible character (U+202E)"),
    ("\u2066isolate\u2069", "invisible character (U+2066)"),
    ("zero\ufeffwidth", "invisible character (U+FEFF)"),
    ("soft\u00adhyphen", "invisible character (U+00AD)"),
    ("   ", "empty"),
    # what shows as nothing though it is a letter or a mark (Unicode's default-ignorable code points)
    ("\u3164", "invisible character (U+3164)"),
    ("\u3164\u3164\u3164", "invisible character (U+3164)"),
    ("\uffa0", "invisible character (U+FFA0)"),
    ("\u115f\u1160", "invisible character (U+115F)"),
    ("Ann\u3164", "invisible character (U+3164)"),
    ("\u034f", "invisible character (U+034F)"),
    ("A\u034fnn", "invisible character (U+034F)"),
    ("\ufe0f", "invisible character (U+FE0F)"),
    ("Ann\ufe0f", "invisible character (U+FE0F)"),  # a presentation selector only styles a symbol
    ("\u17b4", "invisible character (U+17B4)"),
    ("\u180b", "invisible character (U+180B)"),
    ("a\U000e0100", "invisible character (U+E0100)"),
    ("\u2800", "shows nothing"),
    ("\u2800 \u2800", "shows nothing"),
    ("\u0301", "starts with a combining mark (U+0301)"),
    ("\u0301Ann", "starts with a combining mark (U+0301)"),
]


@pytest.mark.parametrize(("value", "words"), BAD_NAMES)
def test_an_agent_name_refuses_what_is_not_plain_visible_text(value, words):
    with pytest.raises(FieldInvalid, match=re.escape(words)) as refused:
        AgentCreate.check({"name": value})
    assert refused.value.field == "name" and "'name'" in str(refused.value)


@pytest.mark.parametrize(("value", "words"), BAD_NAMES)
def test_a_beta_applicants_name_refuses_the_same(value, words):
    with pytest.raises(FieldInvalid, match=re.escape(words)) as refused:
        check_application({"name": value, "purpose": "Research"})
    assert refused.value.field == "name"


@pytest.mark.parametrize("field", ["description", "instructions"])
@pytest.mark.parametrize(("value", "words"), [
    ("a\x00b", "control characters"), ("\ud800", "lone surrogate"), (["x"], "text")])
def test_multi_line_fields_refuse_control_characters_and_lone_surrogates(field, value, words):
    with pytest.raises(FieldInvalid, match=words) as refused:
        AgentCreate.check({"name": "A", field: value})
    assert refused.value.field == field


def test_multi_line_fields_keep_lines_tabs_and_invisible_characters():
    agent = AgentCreate.check({"name": "A", "description": "  one\n\ttwo\u200d\r\n  ", "instructions": " keep\n "})
    assert agent.description == "one\n\ttwo\u200d" and agent.instructions == " keep\n "


@pytest.mark.parametrize("name", [
    "시장 조사원 · Café ✓", "ㅋㅋㅋ", "ㄱ", "한글", "\u1112\u1161\u11ab",  # 한 as conjoining jamo
    "Cafe\u0301", "⠁⠃ Braille", "❤ team", "❤\ufe0f team", "☃\ufe0e", "١٢٣", "-", "☃",  # ❤️ as phones send it
])
def test_names_keep_letters_of_every_script(name):
    assert AgentCreate.check({"name": f" {name} "}).name == name
    assert check_application({"name": name, "purpose": "Research"})


@pytest.mark.parametrize(("tool", "words"), [("\ud800", "lone surrogate"), ("Ba\nsh", "one line"), ("R\u200bead", "invisible")])
@pytest.mark.parametrize("field", ["allowed_tools", "disallowed_tools"])
def test_a_tool_name_is_checked_like_a_name_entry_by_entry(field, tool, words):
    with pytest.raises(FieldInvalid, match=words) as refused:
        AgentCreate.check({"name": "A", field: ["Read", tool]})
    assert refused.value.field == field and "entry 2" in str(refused.value)


@pytest.mark.parametrize("notebook", ["\ud800.ipynb", "a\x00.ipynb", "two\nlines.ipynb"])
def test_a_session_report_refuses_a_notebook_path_that_is_not_text(notebook):
    with pytest.raises(FieldInvalid) as refused:
        SessionReport.check({"session_id": "s1", "agent_id": "a1", "notebook": notebook})
    assert refused.value.field == "notebook"


def test_the_kernel_makes_any_notebook_path_sendable():
    """A file name that is not UTF-8 (lone surrogates after os.fsdecode) must not cost the session its report."""
    report = KernelSessionReport(agent_id="a1", session_id="s1", notebook="r\udce9sum\u00e9\x07.ipynb", turns=1,
                                 input_tokens=2, output_tokens=3, cost_usd=0.25, status="closed")
    assert SessionReport.check(report.model_dump(mode="json")).notebook == report.notebook == "r?sumé\ufffd.ipynb"


@pytest.mark.parametrize(("form", "field"), [
    (("", "x", ""), "name"), (("A", "  ", ""), "purpose"), (("A\x00", "x", ""), "name"),
    (("A", "x\x00", ""), "purpose"), (("A", "x", "Org\x07"), "organisation"), (("A" * 121, "x", ""), "name"),
    (("A", "x\ud800", ""), "purpose"), (("A", "x", "\u202eOrg"), "organisation"),
])
def test_an_application_is_checked_field_by_field(form, field):
    with pytest.raises(FieldInvalid) as refused:
        check_application(dict(zip(("name", "purpose", "organisation"), form)))
    assert refused.value.field == field


@pytest.mark.parametrize(("form", "field", "words"), [
    ({"purpose": "x"}, "name", "required"),
    ({"name": "A", "purpose": "x", "language": "fr"}, "language", "one of en, ko"),
    ({"name": "A", "purpose": "x", "language": 1}, "language", "one of en, ko"),
    ({"name": "A", "purpose": "x", "email": "a@example.org"}, "email", "not a beta application field"),
    (["A", "x"], "", "JSON object"),
])
def test_an_application_is_refused_whole_when_its_shape_is_wrong(form, field, words):
    with pytest.raises(FieldInvalid, match=re.escape(words)) as refused:
        check_application(form)
    assert refused.value.field == field


def test_an_application_comes_back_trimmed_with_its_language():
    sent = check_application({"name": " Ada ", "purpose": " Research \n", "language": "ko"})
    assert (sent.name, sent.purpose, sent.organisation, sent.language) == ("Ada", "Research", "", "ko")


@pytest.mark.parametrize(("emails", "decision", "note", "field"), [
    ([], "approve", "", "emails"), ("a@example.org", "approve", "", "emails"), (["a@example.org\x00"], "approve", "", "emails"),
    ([""], "approve", "", "emails"), (["a@example.org"], "maybe", "", "decision"),
    (["a@example.org"], "reject", "x" * 2001, "note"), (["a@example.org"], "reject", "no\x00", "note"),
    (["\ud800@example.org"], "approve", "", "emails"), (["a@example.org"], "approve", "\ud800", "note"),
    (["a@example.org\u200b"], "approve", "", "emails"), (["a@example.org"], None, "", "decision"),
])
def test_a_decision_is_checked_field_by_field(emails, decision, note, field):
    with pytest.raises(FieldInvalid) as refused:
        check_decision({"emails": emails, "decision": decision, "note": note})
    assert refused.value.field == field


def test_a_decision_comes_back_lower_cased_once_each():
    assert check_decision({"emails": ["A@Example.org", "a@example.org"], "decision": "approve", "note": " Welcome "}) == (
        ["a@example.org"], "approved", "Welcome")
    assert check_decision({"emails": ["b@example.org"], "decision": "reject"}) == (["b@example.org"], "rejected", "")


def test_the_settings_file_keeps_unknown_keys_and_reads_nulls_as_unset():
    settings = AgentSettingsFile.check({"name": None, "instructions": None, "allowed_tools": None, "model": "",
                                        "colour": "blue"})
    assert (settings.name, settings.instructions, settings.allowed_tools, settings.model) == (None, "", [], None)
    assert settings.model_extra == {"colour": "blue"}
    assert (settings.status, settings.headless_permission) == ("active", "deny")


def test_the_settings_file_takes_any_model_the_service_offered():
    """The service checks models against its OMA_MODELS; the kernel obeys what it was given."""
    assert AgentSettingsFile.check({"model": "my-gateway-model"}).model == "my-gateway-model"
    with pytest.raises(FieldInvalid):
        AgentCreate.check({"name": "A", "model": "my-gateway-model"})
    assert AgentCreate.check({"name": "A", "model": "my-gateway-model"},
                             context={"models": ("my-gateway-model",)}).model == "my-gateway-model"


# Language is not here yet: email_hook/templates.py and the service's i18n.py still list ("en", "ko").
ENUMS = [AgentStatus, PermissionMode, HeadlessPolicy, SessionStatus, BetaStatus, Verdict, MessageStatus, Language]


def _quoted_lists_of(values: list[str]) -> re.Pattern:
    """Two or more of the enum's values quoted one after the other in a list or tuple: a restated enum."""
    quoted = "|".join(re.escape(v) for v in values)
    return re.compile(rf"""["']({quoted})["']\s*,\s*["']({quoted})["']""")


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_each_enum_is_spelled_once_in_the_repository(enum):
    """Outside oma_contract, no code or template lists an enum's values again (tests and
    translations of single words may name one value)."""
    files = subprocess.run(["git", "ls-files", "*.py", "*.html", "*.js"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    pattern = _quoted_lists_of([member.value for member in enum])
    restated = []
    for name in files:
        if name.startswith(("oma_contract/", "tests/")) or not (REPO / name).is_file():
            continue
        for number, line in enumerate((REPO / name).read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                restated.append(f"{name}:{number}: {line.strip()}")
    assert not restated, f"{enum.__name__} restated outside the contract:\n" + "\n".join(restated)


def _refs(value):
    if isinstance(value, dict):
        if "$ref" in value:
            yield value["$ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_the_openapi_documents_schemas_are_the_contracts():
    from agents_extension.service.openapi import openapi_document

    document = openapi_document("/services/agents/", ("model-a", "model-b"))
    schemas = document["components"]["schemas"]
    assert document["openapi"].startswith("3.1")
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    create = schemas["AgentCreate"]
    assert set(create["properties"]) == set(AgentCreate.model_fields) and create["additionalProperties"] is False
    assert create["properties"]["name"]["maxLength"] == 80
    assert create["properties"]["model"]["anyOf"][0]["enum"] == ["model-a", "model-b"]
    assert schemas["PermissionMode"]["enum"] == list(PermissionMode)
    assert schemas["AgentStatus"]["enum"] == list(AgentStatus)
    assert schemas["SessionStatus"]["enum"] == list(SessionStatus)
    assert schemas["SessionReport"]["properties"]["notebook"]["maxLength"] == 1024
    assert schemas["BetaDecisionForm"]["properties"]["emails"]["minItems"] == 1


def test_the_contract_imports_none_of_the_components():
    """Every component may import the contract, so it may import none of them (pydantic only)."""
    probe = ("import sys, oma_contract; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'agents_extension', 'claude_kernel', 'email_hook', 'hub_config', 'tornado', 'jupyter_server'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
