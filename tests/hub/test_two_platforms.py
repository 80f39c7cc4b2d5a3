"""Two platforms on one machine, told apart by their settings alone (no command-line flags)."""

from __future__ import annotations

import requests

from tests.hub.conftest import ADMIN, Hub


def test_two_hubs_run_side_by_side_each_on_the_ports_its_settings_name(tmp_path, fake_model):
    hubs = []
    try:
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            hubs.append(Hub(tmp_path / name, fake_model.client_environment()))
        for hub in hubs:
            assert not [arg for arg in hub.process.args if arg.startswith("--")]  # only the settings' variables
            internal, proxy_api = hub.env["OMA_HUB_INTERNAL_PORT"], hub.env["OMA_PROXY_API_PORT"]
            # JupyterHub itself on its internal port, the proxy's REST API (token required) on its own
            assert "version" in requests.get(f"http://127.0.0.1:{internal}/hub/api/", timeout=10).json()
            assert requests.get(f"http://127.0.0.1:{proxy_api}/api/routes", timeout=10).status_code == 403
            browser = hub.sign_in(ADMIN)
            assert browser.get("/hub/home").status_code == 200
        first, second = hubs
        assert {first.env[k] for k in ("OMA_HUB_INTERNAL_PORT", "OMA_PROXY_API_PORT")}.isdisjoint(
            {second.env[k] for k in ("OMA_HUB_INTERNAL_PORT", "OMA_PROXY_API_PORT")})
    finally:
        for hub in hubs:
            hub.stop()
