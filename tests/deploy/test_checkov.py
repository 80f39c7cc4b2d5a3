"""checkov (offline) on the rendered manifests: nothing fails but the checks the chart lists, with reasons."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.chart import CHART, manifests

CHECKOV = shutil.which("checkov", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(CHECKOV is None, reason="checkov cannot be installed here")
def test_checkov_fails_nothing_but_the_checks_the_chart_lists(default_render, production_render, tmp_path):
    skips = yaml.safe_load((CHART / "checkov-skips.yaml").read_text(encoding="utf-8"))
    assert all(len(skip["reason"]) > 40 for skip in skips.values()), "each listed check says why"
    for label, rendered in (("default", default_render), ("production", production_render)):
        folder = tmp_path / label
        folder.mkdir()
        for number, manifest in enumerate(manifests(rendered)):
            name = f"{number:02d}-{manifest['kind']}-{manifest['metadata']['name']}.yaml"
            (folder / name).write_text(yaml.safe_dump(manifest), encoding="utf-8")
    result = subprocess.run(
        [CHECKOV, "--directory", str(tmp_path), "--framework", "kubernetes", "--skip-download", "--quiet",
         "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = []
    for check in report["results"]["failed_checks"]:
        kind, _namespace, name = check["resource"].split(".", 2)
        listed = skips.get(check["check_id"])
        if listed and ("resources" not in listed or f"{kind}/{name}" in listed["resources"]):
            continue
        failed.append(f"{check['check_id']} {check['check_name']}: {kind}/{name} ({Path(check['file_path']).parent.name})")
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 100 and report["summary"]["parsing_errors"] == 0
