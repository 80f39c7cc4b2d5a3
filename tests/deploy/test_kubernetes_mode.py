"""hub_config.kubernetes's pure builders, exactly, and the kubernetes mode without z2jh."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from hub_config import kubernetes, platform
from hub_config.settings import Settings

CULLER = {"name": "jupyterhub-idle-culler", "command": ["python3", "-m", "jupyterhub_idle_culler"]}
URL = "http://agents.oh-my-agent.svc:10101"


GATEWAY_URL = "http://model-gateway.oh-my-agent.svc:10102"


def test_agents_service_and_gateway_become_external_the_agents_with_z2jhs_token():
    ours = [{"name": "agents", "url": "http://127.0.0.1:10101", "command": ["python", "-m", "agents_extension.service"],
             "environment": {"OMA_SMTP_PASSWORD": "x"}, "oauth_no_confirm": True, "display": False},
            {"name": "model-gateway", "url": "http://127.0.0.1:10102", "command": ["python", "-m", "model_gateway"],
             "environment": {"ANTHROPIC_API_KEY": "sk-ant-x"}, "display": False}]
    z2jh = [CULLER, {"name": "agents", "api_token": "t0ken"}]
    assert kubernetes.merged_services(z2jh, ours, {"agents": URL, "model-gateway": GATEWAY_URL}) == [
        CULLER,
        {"name": "agents", "api_token": "t0ken", "url": URL, "oauth_no_confirm": True, "display": False},
        # no token: the gateway asks the hub about a caller's token with that token
        {"name": "model-gateway", "url": GATEWAY_URL, "display": False},
    ]


def test_no_agents_entry_in_z2jh_is_refused():
    with pytest.raises(SystemExit, match="jupyterhub.hub.services.agents"):
        kubernetes.merged_services([CULLER], [{"name": "agents"}], {"agents": URL})


def test_an_admins_model_key_for_user_pods_is_refused(monkeypatch, tmp_path):
    """singleuser.extraEnv is z2jh's way to give user pods variables: not the model's credentials."""
    c = Config()
    c.KubeSpawner.environment = {"ANTHROPIC_API_KEY": "sk-ant-x", "TZ": "Asia/Seoul"}
    with pytest.raises(SystemExit, match="singleuser.extraEnv sets ANTHROPIC_API_KEY"):
        platform.configure(c, Settings(data_dir=tmp_path, users_dir=tmp_path / "users", spawner="kubernetes"))


def test_roles_of_z2jh_stay_and_ours_win_by_name():
    z2jh = [{"name": "jupyterhub-idle-culler", "scopes": ["read:servers"]}, {"name": "user", "scopes": ["self"]}]
    ours = [{"name": "user", "scopes": ["self", "access:services!service=agents"]}]
    assert kubernetes.merged_roles(z2jh, ours) == [z2jh[0], ours[0]]


def test_platform_in_the_kubernetes_mode_sets_up_kubespawner(monkeypatch, tmp_path):
    """platform.configure with OMA_SPAWNER=kubernetes, without z2jh: user servers reach the service by DNS."""
    monkeypatch.setenv("POD_NAMESPACE", "team")
    c = Config()
    platform.configure(c, Settings(data_dir=tmp_path, users_dir=tmp_path / "users", spawner="kubernetes"))
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert c.KubeSpawner.environment == {"OMA_AGENTS_SERVICE_URL": "http://agents.team.svc:10101/services/agents/",
                                         "CLAUDE_KERNEL_SANDBOX": "landlock"}
    assert c.KubeSpawner.extra_labels == {"hub.jupyter.org/network-access-hub": "true"}
    assert not (tmp_path / "users").exists(), "no local home folders in the kubernetes mode"


def test_an_admins_explicit_agent_isolation_in_the_kubernetes_mode_is_kept(monkeypatch, tmp_path):
    """Only an admin's explicit setting (singleuser.extraEnv) runs agents other than under Landlock."""
    monkeypatch.setenv("POD_NAMESPACE", "team")
    c = Config()
    c.KubeSpawner.environment = {"CLAUDE_KERNEL_SANDBOX": "off"}
    platform.configure(c, Settings(data_dir=tmp_path, users_dir=tmp_path / "users", spawner="kubernetes"))
    assert c.KubeSpawner.environment["CLAUDE_KERNEL_SANDBOX"] == "off"


def test_the_guide_states_the_node_kernel_each_agent_lock_needs_as_the_code_requires_it():
    """In a pod agents are kept apart by Landlock, so what they get depends on the nodes' Linux: the guide says
    which Landlock ABI each lock needs (the code's own minimums) and how to see a node's kernel."""
    from pathlib import Path

    from claude_kernel import filesystem_lock, network_lock

    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy-gke.md").read_text(encoding="utf-8")
    cluster = " ".join(guide[guide.index("## 2. The Autopilot cluster"):guide.index("## 3.")].split())
    for linux, abi in (("6.2", filesystem_lock.FILESYSTEM_MIN_ABI), ("6.7", network_lock.LANDLOCK_MIN_ABI),
                       ("6.12", filesystem_lock.SIGNAL_MIN_ABI)):
        assert f"{linux} (Landlock ABI {abi})" in cluster or f"{linux} (ABI {abi})" in cluster, (linux, abi)
    assert "kubectl get nodes -o wide" in cluster and "KERNEL-VERSION" in cluster
