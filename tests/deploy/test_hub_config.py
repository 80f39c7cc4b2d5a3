"""The hub's configuration as the cluster would load it: z2jh's own
jupyterhub_config.py (from the vendored chart, as rendered) with oh-my-agent's
added, and the pod KubeSpawner makes from it for a sample person."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets.config.loader import PyFileConfigLoader

from hub_config import gateway, kubernetes
from tests.deploy.chart import KUBERNETES_VERSION, NAMESPACE, manifests
from tests.deploy.hub import hub_environment, mount, secret_data

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate cannot be installed here")
pytest.importorskip("kubespawner")
pytest.importorskip("pycurl", reason="pycurl (z2jh's hub configuration uses tornado's curl client) cannot be installed here")

GOOGLE = {"oh-my-agent-google": {"client-id": "client-123.apps.googleusercontent.com", "client-secret": "shh"}}
DUMMY_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: oh-my-agent}}]
current-context: none
"""


@pytest.fixture
def load_hub(tmp_path, monkeypatch):
    """Loads the hub configuration of a render the way the hub pod does, in this process
    (whose environment, sys.path, modules and HTTP client are restored afterwards)."""
    saved_environ, saved_path = os.environ.copy(), list(sys.path)

    def load(rendered: dict[str, str], secrets=GOOGLE):
        objects = manifests(rendered)
        root = mount(objects, tmp_path / "jupyterhub")
        os.environ.update(hub_environment(objects, secrets))
        # /srv/jupyterhub is the hub's volume in the pod; a temporary folder here.
        os.environ["OMA_DATA_DIR"] = str(tmp_path / "srv")
        monkeypatch.chdir(tmp_path)
        config = PyFileConfigLoader("jupyterhub_config.py", path=str(root)).load_config()
        return config, objects

    yield load
    os.environ.clear()
    os.environ.update(saved_environ)
    sys.path[:] = saved_path
    sys.modules.pop("z2jh", None)
    AsyncHTTPClient.configure(None)


@pytest.fixture
def production(production_render, load_hub):
    return load_hub(production_render)


def test_hub_runs_kubespawner_with_the_user_image_and_a_volume_each(production):
    c, _ = production
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    k = c.KubeSpawner
    assert k.image == "europe-west1-docker.pkg.dev/example-project/oh-my-agent/user:0.1.0"
    assert k.cmd == ["python3", "-m", "agents_extension.user_server"]
    assert (k.working_dir, k.notebook_dir) == ("/home/jovyan", "/home/jovyan")
    assert (k.cpu_guarantee, k.cpu_limit, k.mem_guarantee, k.mem_limit) == (0.25, 1.0, "1G", "2G")
    assert k.storage_pvc_ensure is True and k.storage_capacity == "10Gi"
    assert k.volumes == {"home": {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    assert k.volume_mounts == {"home": {"name": "home", "mountPath": "/home/jovyan"}}
    assert k.init_containers == [], "no privileged iptables init container"


def test_user_pods_are_locked_down(production):
    c, _ = production
    k = c.KubeSpawner
    assert k.uid == 1000 and k.allow_privilege_escalation is False and k.privileged is False
    assert k.automount_service_account_token is False and k.service_account is None
    assert k.delete_grace_period == 15  # a stopping server shuts its kernels down before it is killed
    assert k.container_security_context["capabilities"] == {"drop": ["ALL"]}
    assert k.pod_security_context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert k.pod_security_context["runAsNonRoot"] is True


def test_hub_and_agents_service_are_found_by_cluster_dns_names(production):
    c, _ = production
    assert c.JupyterHub.hub_connect_url == "http://hub:8081"
    assert c.KubeSpawner.environment["OMA_AGENTS_SERVICE_URL"] == f"http://agents.{NAMESPACE}.svc:10101/services/agents/"
    assert "127.0.0.1" not in repr(c.KubeSpawner.environment)
    assert "PATH" not in c.KubeSpawner.env_keep, "the hub image's PATH means nothing in the user image"


def test_agents_service_is_external_with_the_token_z2jh_made(production):
    c, objects = production
    services = {s["name"]: s for s in c.JupyterHub.services}
    agents = services["agents"]
    assert agents["url"] == f"http://agents.{NAMESPACE}.svc:10101"
    assert "command" not in agents and "environment" not in agents
    hub_secret = secret_data(next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "hub"))
    assert agents["api_token"] == hub_secret["hub.services.agents.apiToken"]
    assert agents["oauth_no_confirm"] is True
    # z2jh's own service and role survive ours
    assert "jupyterhub-idle-culler" in services
    roles = {r["name"] for r in c.JupyterHub.load_roles}
    assert {"jupyterhub-idle-culler", "agents-service", "server", "user"} <= roles


def test_z2jh_keeps_the_cluster_settings_platform_would_make_local(production):
    c, _ = production
    assert c.JupyterHub.db_url == "sqlite:///jupyterhub.sqlite"
    assert c.ConfigurableHTTPProxy.should_start is False
    for name in ("ip", "port", "hub_ip", "cookie_secret_file"):
        assert name not in c.JupyterHub, name
    assert "command" not in c.ConfigurableHTTPProxy


def test_sign_in_is_google_with_the_admins_of_the_values(production):
    c, _ = production
    assert c.JupyterHub.authenticator_class == "google"
    assert c.GoogleOAuthenticator.client_id == GOOGLE["oh-my-agent-google"]["client-id"]
    assert c.GoogleOAuthenticator.oauth_callback_url == "https://notebooks.example.org/hub/oauth_callback"
    assert c.GoogleOAuthenticator.hosted_domain == ["example.org"]
    assert c.Authenticator.admin_users == {"ada@example.org", "grace@example.org"}
    assert c.JupyterHub.admin_access is False, "admins do not enter people's servers, as locally"


class HubTokens:
    """What hub_config.gateway uses of JupyterHub's database for a person's tokens: their tokens, a new one,
    deleting one (the real hub's are exercised end to end in tests/gateway)."""

    def __init__(self) -> None:
        self.api_tokens = []

    def new_api_token(self, scopes, note):
        self.api_tokens.append(SimpleNamespace(scopes=scopes, note=note))
        return f"token-{len(self.api_tokens)}"

    def delete(self, token):
        self.api_tokens.remove(token)

    def commit(self):
        pass


def _spawner(name: str, groups: list[str]) -> SimpleNamespace:
    tokens = HubTokens()
    user = SimpleNamespace(name=name, admin=False, groups=[SimpleNamespace(name=g) for g in groups], orm_user=tokens)
    return SimpleNamespace(user=user, db=tokens, name="", environment={"OMA_AGENTS_SERVICE_URL": "x"},
                           log=SimpleNamespace(info=lambda *args: None))


def test_beta_gate_refuses_a_server_and_its_gateway_token_to_people_not_approved(production):
    c, _ = production
    hook = c.Spawner.pre_spawn_hook
    person = _spawner("eve@example.org", [])
    with pytest.raises(web.HTTPError) as refused:
        hook(person)
    assert refused.value.status_code == 403
    assert "https://notebooks.example.org/services/agents/beta" in refused.value.log_message
    assert person.user.orm_user.api_tokens == [], "a refused person gets no gateway token"


def test_a_server_gets_the_gateways_service_address_and_a_token_for_it_only_revoked_at_stop(production):
    c, _ = production
    approved = _spawner("ada@example.org", ["beta"])
    assert c.Spawner.pre_spawn_hook(approved) is None
    assert approved.environment == {"OMA_AGENTS_SERVICE_URL": "x",
                                    "ANTHROPIC_BASE_URL": f"http://model-gateway.{NAMESPACE}.svc:10102",
                                    "ANTHROPIC_AUTH_TOKEN": "token-1"}
    (token,) = approved.user.orm_user.api_tokens
    assert token.scopes == [gateway.GATEWAY_SCOPE]
    c.Spawner.post_stop_hook(approved)
    assert approved.user.orm_user.api_tokens == [], "the token is deleted when the server stops"
    # the token's scope is one the user role grants (a token cannot exceed its owner's)
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert gateway.GATEWAY_SCOPE in roles["user"]["scopes"]


def test_the_gateway_is_an_external_service_at_its_cluster_address_without_a_token(production):
    c, _ = production
    services = {s["name"]: s for s in c.JupyterHub.services}
    entry = services["model-gateway"]
    assert entry == {"name": "model-gateway", "url": f"http://model-gateway.{NAMESPACE}.svc:10102", "display": False}


def test_the_hub_refuses_to_start_without_googles_client(production_render, load_hub):
    """Without the client, platform.configure would fall back to the dev login (anyone is anyone)."""
    empty = {"oh-my-agent-google": {"client-id": "", "client-secret": ""}}
    with pytest.raises(SystemExit, match="Google OAuth client"):
        load_hub(production_render, secrets=empty)


def test_default_values_load_too(default_render, load_hub):
    c, _ = load_hub(default_render)
    assert c.KubeSpawner.image == "oh-my-agent/user:0.1.0"
    assert c.GoogleOAuthenticator.oauth_callback_url == "http://localhost:8080/hub/oauth_callback"


MODEL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_USE_VERTEX",
                   "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS")


def test_no_model_variable_passes_from_the_hub_to_user_pods(production):
    c, _ = production
    assert not set(MODEL_VARIABLES) & set(c.KubeSpawner.env_keep)
    assert not set(MODEL_VARIABLES) & set(c.KubeSpawner.environment)


async def test_pod_of_a_sample_person_validates_and_is_locked_down(production, tmp_path, monkeypatch):
    from jupyterhub.objects import Hub
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    c, _ = production
    for name in MODEL_VARIABLES:  # whatever the hub's own environment holds, none of it reaches the pod
        monkeypatch.setenv(name, f"hub's {name}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DUMMY_KUBECONFIG, encoding="utf-8")  # _mock still reads one; never contacted
    monkeypatch.setattr("kubernetes_asyncio.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    hub = Hub(base_url="/hub/")
    hub.connect_url = c.JupyterHub.hub_connect_url
    tokens = HubTokens()
    user = SimpleNamespace(name="ada@example.org", id=7, url="/user/ada@example.org/", admin=False,
                           groups=[SimpleNamespace(name="beta")], orm_user=tokens)
    spawner = KubeSpawner(config=c, user=user, hub=hub, _mock=True)
    spawner.db = tokens
    spawner.pre_spawn_hook(spawner)  # as the hub calls it before it starts the server
    async with ApiClient() as api:
        pod = api.sanitize_for_serialization(await spawner.get_pod_manifest())
        pvc = api.sanitize_for_serialization(spawner.get_pvc_manifest())

    for manifest in (pod, pvc):
        manifest.setdefault("apiVersion", "v1")
        manifest.setdefault("kind", {"pod": "Pod"}.get(manifest["metadata"]["name"][:3], "PersistentVolumeClaim"))
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)

    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == kubernetes.pod_security_context()
    assert not spec.get("initContainers")
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["runAsUser"] == 1000 and context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False and context.get("privileged") is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["image"] == "europe-west1-docker.pkg.dev/example-project/oh-my-agent/user:0.1.0"
    gib = 1024**3  # KubeSpawner's "1G"
    assert container["resources"] == {"limits": {"cpu": 1.0, "memory": 2 * gib},
                                      "requests": {"cpu": 0.25, "memory": gib}}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    assert env["OMA_AGENTS_SERVICE_URL"] == f"http://agents.{NAMESPACE}.svc:10101/services/agents/"
    assert env["CLAUDE_KERNEL_SANDBOX"] == "landlock", "no user namespaces in the pod: Landlock keeps agents in their folders"
    assert not [name for name in env if name.startswith(("OMA_SMTP", "OMA_STORE", "GOOGLE_", "OMA_GOOGLE"))]
    assert env["ANTHROPIC_BASE_URL"] == f"http://model-gateway.{NAMESPACE}.svc:10102", "the gateway, directly"
    assert env["ANTHROPIC_AUTH_TOKEN"] == "token-1", "the server's own gateway token"
    assert not (set(MODEL_VARIABLES) - {"ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"}) & set(env), \
        "no model credentials in a user pod"
    assert [p["name"] for p in container["ports"]] == ["notebook-port"], "what oh-my-agent-user-pods admits"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["home"] == "/home/jovyan"
    claim = {v["name"]: v for v in spec["volumes"]}["home"]["persistentVolumeClaim"]["claimName"]
    assert claim == pvc["metadata"]["name"] and pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    labels = pod["metadata"]["labels"]
    assert labels["component"] == "singleuser-server" and labels["hub.jupyter.org/network-access-hub"] == "true"
    assert labels["release"] == "oma" and labels["app"] == "jupyterhub", "what oh-my-agent-user-pods selects"
