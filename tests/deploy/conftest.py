"""Fixtures for the deployment tests: the chart, rendered with default and production values."""

from __future__ import annotations

import pytest

from tests.deploy import chart as charts
from tests.deploy.chart import NAMESPACE, RELEASE, Z2JH_PACKAGE, chart_copy, production_values
from tests.deploy.image_build import BUILD, ImageBuild, can_build


def pytest_collection_modifyitems(session, config, items) -> None:
    """Tests that need the images go last, and the images are built meanwhile (tests/deploy/image_build.py)."""
    needing = [item for item in items if "images" in getattr(item, "fixturenames", ())]
    if not needing or not can_build() or config.getoption("collectonly"):
        return
    keep = set(map(id, needing))
    items[:] = [item for item in items if id(item) not in keep] + needing
    config.stash[BUILD] = ImageBuild()


def pytest_unconfigure(config) -> None:
    build = config.stash.get(BUILD, None)
    if build is not None:
        build.stop()


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory):
    """A copy of helm/oh-my-agent with z2jh 4.4.0 in its charts/ folder."""
    if not Z2JH_PACKAGE.is_file():
        pytest.fail(f"Zero to JupyterHub's chart 4.4.0 is not at {Z2JH_PACKAGE} (the team's vendored copy, ../shared/vendor/ beside the checkout; OMA_VENDOR_DIR names another folder)")
    return chart_copy(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="session")
def chart(chart_dir):
    helm_python = pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's engine) cannot be installed here")
    return helm_python.Chart.load(chart_dir)


@pytest.fixture(scope="session")
def render(chart):
    def render(values: dict | None = None, namespace: str = NAMESPACE) -> dict[str, str]:
        return charts.render(chart, values or {}, name=RELEASE, namespace=namespace)

    return render


@pytest.fixture(scope="session")
def default_render(render):
    return render({})


@pytest.fixture(scope="session")
def production_render(render):
    return render(production_values())


AUTOHTTPS = {"domain": "notebooks.example.org", "ingress": {"enabled": False}, "jupyterhub": {"proxy": {
    "service": {"type": "LoadBalancer"},
    "https": {"enabled": True, "hosts": ["notebooks.example.org"], "letsencrypt": {"contactEmail": "ada@example.org"}}}}}


@pytest.fixture(scope="session", params=["default", "production", "autohttps"])
def any_render(request, render, default_render, production_render):
    """The default, the production-like and the autohttps (instead of the GKE Ingress) renders."""
    if request.param == "autohttps":
        return render(AUTOHTTPS)
    return {"default": default_render, "production": production_render}[request.param]
