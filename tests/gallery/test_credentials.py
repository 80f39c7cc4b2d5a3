"""The credential scanner (oma_contract/credentials.py): what looks like a credential, and what does not."""

from __future__ import annotations

import pytest

from oma_contract.credentials import fingerprint, mask, scan_notebook, scan_text

LOOKS_LIKE_ONE = [
    ("Anthropic API key", "key = sk-ant-api03-" + "A1b2C3d4" * 4),
    ("OpenAI API key", "OPENAI=sk-proj-" + "Zz9Yy8Xx" * 3),
    ("AWS access key id", "aws AKIAIOSFODNN7EXAMPLE here"),
    ("GitHub token", "ghp_" + "a1B2c3D4e5" * 4),
    ("Google API key", "AIza" + "SyA1234567890abcdefghijklmnopqrstuv"),
    ("Slack token", "xoxb-1234567890-abcdefghij"),
    ("Stripe key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("JSON Web Token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow..."),
    ("password in a URL", "postgres://analyst:hunter2x@db.example.com/sales"),
    ("bearer token", "Authorization: Bearer abcdefghijklmnop1234"),
    ("password, token or key", 'password = "Tr0ub4dor&3"'),
    ("password, token or key", "client_secret: 9f8e7d6c5b4a"),
    ("password, token or key", "비밀번호: qwerty123"),
]

NOT_ONE = [
    'token = os.environ["API_TOKEN"]', "password = getpass()", "api_key = ${API_KEY}", "password: <your password>",
    "token = {{token}}", "password = ********", "secret = your_secret_here", "The password policy changed.",
    "author: Ada Lovelace", "sk-short", "Use the token you were given.", "passwords: none",
]


@pytest.mark.parametrize(("kind", "text"), LOOKS_LIKE_ONE)
def test_values_shaped_like_credentials_are_found(kind, text):
    findings = scan_text(text, "cell 1")
    assert [f.kind for f in findings] == [kind]
    finding = findings[0]
    assert finding.where == "cell 1" and len(finding.fingerprint) == 16
    assert finding.masked not in text or len(finding.masked) <= 8  # masked, not the value


@pytest.mark.parametrize("text", NOT_ONE)
def test_references_and_placeholders_are_not_findings(text):
    assert scan_text(text, "cell 1") == []


def test_a_masked_value_keeps_only_its_ends():
    assert mask("sk-ant-api03-secretsecret") == "sk-a" + "•" * 12 + "et"
    assert "secret" not in mask("sk-ant-api03-secretsecret")


def test_the_notebook_is_scanned_cell_by_cell_sources_outputs_and_the_recipes_own_text():
    key = "sk-ant-api03-" + "Q" * 30
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["Nothing here"]},
        {"cell_type": "code", "source": f"client = Anthropic(api_key='{key}')", "outputs": [
            {"output_type": "stream", "text": ["token=abcdef123456\n"]},
            {"output_type": "error", "ename": "AuthError", "evalue": "bad", "traceback": ["password: zz9yy8xx7"]},
            {"output_type": "display_data", "data": {"text/html": "<p>ghp_" + "x1" * 20 + "</p>"}}]},
        {"cell_type": "code", "source": f"again = '{key}'", "outputs": []},  # the same key: one finding
    ]}
    found = scan_notebook(notebook, title="Report", description="uses secret: hunter22")
    assert [(f.kind, f.where) for f in found] == [
        ("password, token or key", "description"), ("Anthropic API key", "cell 2"),
        ("password, token or key", "cell 2 output"), ("password, token or key", "cell 2 output"),
        ("GitHub token", "cell 2 output")]
    assert found[1].fingerprint == fingerprint(key)
