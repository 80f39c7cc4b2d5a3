"""The Helm chart as tests see it: rendered by Helm's real engine, with Zero to
JupyterHub's chart taken from ../shared/vendor (chart repositories are out of
reach here), split into manifests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
CHART = PROJECT / "helm" / "oh-my-agent"
PRODUCTION_VALUES = PROJECT / "helm" / "examples" / "production.yaml"
# The team's vendored copies sit beside the checkout (../shared/vendor); OMA_VENDOR_DIR names another place.
VENDOR_DIR = Path(os.environ.get("OMA_VENDOR_DIR") or PROJECT.parent / "shared" / "vendor")
Z2JH_PACKAGE = VENDOR_DIR / "jupyterhub-4.4.0.tgz"
RELEASE = "oma"
NAMESPACE = "oh-my-agent"
KUBERNETES_VERSION = "1.33"
# GKE's own resources, for which kubernetes-validate has no schema.
GKE_KINDS = {
    ("networking.gke.io/v1", "ManagedCertificate"),
    ("networking.gke.io/v1beta1", "FrontendConfig"),
    ("cloud.google.com/v1", "BackendConfig"),
}


def chart_copy(folder: Path) -> Path:
    """The chart in ``folder`` with its dependency in charts/, as `helm dependency build` leaves it."""
    chart = folder / CHART.name
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("charts"))
    (chart / "charts").mkdir()
    shutil.copy(Z2JH_PACKAGE, chart / "charts" / Z2JH_PACKAGE.name)
    return chart


def render(chart, values: dict, *, name: str, namespace: str) -> dict[str, str]:
    """``chart.render(...)`` for KUBERNETES_VERSION rather than helm-python-sdk's default
    (1.36): its Python ``render`` does not pass the version on, the native call behind
    it does (so .Capabilities.KubeVersion is what GKE would report)."""
    from helm_python import chart as sdk

    options = {"name": name, "namespace": namespace, "is_install": True, "kube_version": f"{KUBERNETES_VERSION}.0"}
    return json.loads(sdk._native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options)))


def production_values() -> dict:
    return yaml.safe_load(PRODUCTION_VALUES.read_text(encoding="utf-8"))


def manifests(rendered: dict[str, str]) -> list[dict]:
    """Every object of a render (NOTES.txt and empty templates left out)."""
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def find(objects: list[dict], kind: str, name: str) -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    """(kind/name, pod spec) of everything that makes pods."""
    specs = []
    for o in objects:
        spec = o.get("spec") or {}
        if o["kind"] == "Pod":
            specs.append((f"Pod/{o['metadata']['name']}", spec))
        elif "template" in spec and "spec" in spec["template"]:
            specs.append((f"{o['kind']}/{o['metadata']['name']}", spec["template"]["spec"]))
    return specs
