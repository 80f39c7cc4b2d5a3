"""The agents service against its own OpenAPI document: schemathesis generates requests from
every operation's schemas (valid ones and broken ones) and sends them to a real running service
(its SQLite store, behind the hub's proxy), with a person's token and with an admin's. No answer
may be a 5xx, and every answer must be one the document lists, in its content type and schema.

Bounded to stay in a couple of minutes on two cores: a fixed number of examples per operation,
a fixed seed (the same requests each run; change OMA_FUZZ_SEED to explore others)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub.conftest import ADMIN, SERVICE, Hub, person

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = int(os.environ.get("OMA_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("OMA_FUZZ_SEED", "9")
# An admin's generated requests change hub-wide settings (budgets, say) that other modules' people would meet.
OWN_HUB = "fuzzed as an admin"


def start_schemathesis(hub: Hub, token: str, config: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
        hub.url + SERVICE + "api/openapi.json", "--url", hub.url + SERVICE.rstrip("/"),
        "-H", f"Authorization: token {token}", "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", SEED,
        # One worker per run, and the two callers' runs side by side as two processes instead:
        # schemathesis's workers are threads, and on Python 3.11 two threads in ast.parse at once
        # (hypothesis describes filter lambdas that way) can fail with "SystemError: AST constructor
        # recursion depth mismatch", a crash of the tool that says nothing about the service.
        "--workers", "1",
        "--request-timeout", "20", "--max-redirects", "0", "--no-color",
    ]
    # Run in the run's own folder: schemathesis keeps a cache of crashes in ./.schemathesis.
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=config.parent, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


@pytest.fixture(scope="module")
def admin_token(hub) -> str:
    return hub.token_for(hub.sign_in(ADMIN))


@pytest.fixture(scope="module")
def people(hub, admin_token) -> dict[str, tuple[str, str]]:
    """Who calls: an approved person with an agent of their own, and an admin; (token, an agent id) each."""
    email = person("fuzz")
    token = hub.token_for(hub.sign_in(email))
    hub.api(token, "POST", SERVICE + "api/beta/applications", json={"name": "Fuzz", "purpose": "tests"})
    assert hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                   json={"emails": [email], "decision": "approve"}).status_code == 200
    own = {}
    for who, credential in (("person", token), ("admin", admin_token)):
        created = hub.api(credential, "POST", SERVICE + "api/agents", json={"name": f"Fuzzed by {who}"})
        assert created.status_code == 201, created.text
        own[who] = (credential, created.json()["id"])
    return own


@pytest.fixture(scope="module")
def runs(hub, people, tmp_path_factory) -> dict[str, tuple[int, str, str]]:
    """Both callers' runs, started together; (exit code, stdout, stderr) for each."""
    started = {}
    for who, (token, agent_id) in people.items():
        config = tmp_path_factory.mktemp(f"fuzz-{who}") / "schemathesis.toml"
        # Path parameters of real records, so changes reach the store rather than a 404.
        config.write_text(f'[parameters]\n"path.agent_id" = "{agent_id}"\n"path.email" = "{ADMIN}"\n')
        started[who] = start_schemathesis(hub, token, config)
    finished = {}
    for who, process in started.items():
        try:
            stdout, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for other in started.values():
                other.kill()
            raise
        finished[who] = (process.returncode, stdout, stderr)
    return finished


@pytest.mark.parametrize("who", ["person", "admin"])
def test_no_request_the_document_allows_or_breaks_gets_a_5xx_or_an_undocumented_answer(runs, who):
    returncode, stdout, stderr = runs[who]
    assert returncode == 0, stdout[-12000:] + stderr[-2000:]
    assert " passed" in stdout and "generated" in stdout
