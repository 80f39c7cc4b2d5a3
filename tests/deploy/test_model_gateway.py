"""The model gateway in the chart, rendered: its pods (their own, or beside the agents service with the
SQLite store), the only ones with the model's credentials; its Service, disruption budget and network
policies; and the rendered environment starting the real gateway."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import requests

from tests.deploy.chart import PROJECT, find, manifests, pod_specs, production_values
from tests.deploy.hub import container_environment
from tests.deploy.test_chart import _reachable
from tests.network import free_port
from tests.polling import wait_for

pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's engine) cannot be installed here")

ANTHROPIC_SECRET = {"oh-my-agent-anthropic": {"api-key": "sk-ant-platform-key"}}
MODEL_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_VERTEX_PROJECT_ID",
                     "GOOGLE_APPLICATION_CREDENTIALS")
GATEWAY_SELECTOR = {"app.kubernetes.io/name": "oh-my-agent", "app.kubernetes.io/instance": "oma",
                    "app.kubernetes.io/component": "model-gateway"}


def gateway_container(objects: list[dict], deployment: str = "model-gateway") -> dict:
    pod = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "model-gateway")


def env_entries(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def with_gateway(values: dict, **gateway) -> dict:
    return {**values, "modelGateway": {**values.get("modelGateway", {}), **gateway}}


def test_the_gateway_runs_as_replicas_rolled_one_at_a_time_with_the_key_from_its_secret(production_render):
    objects = manifests(production_render)
    deployment = find(objects, "Deployment", "model-gateway")["spec"]
    assert deployment["replicas"] == 2
    assert deployment["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert deployment["selector"]["matchLabels"] == GATEWAY_SELECTOR
    pod = deployment["template"]["spec"]
    assert pod["serviceAccountName"] == "model-gateway" and pod["automountServiceAccountToken"] is False
    assert deployment["template"]["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
    (container,) = pod["containers"]
    assert container["command"] == ["python3", "-m", "model_gateway"]
    assert container["image"] == "europe-west1-docker.pkg.dev/example-project/oh-my-agent/hub:0.1.0"
    env = env_entries(container)
    assert env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "oh-my-agent-anthropic", "key": "api-key"}
    assert env["JUPYTERHUB_API_URL"]["value"] == "http://hub:8081/hub/api"
    assert "JUPYTERHUB_API_TOKEN" not in env, "the gateway asks the hub about a token with that token"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "gateway"}
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["terminationGracePeriodSeconds"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["runAsNonRoot"] is True
    assert container["resources"]["requests"]["memory"] == container["resources"]["limits"]["memory"]

    service = find(objects, "Service", "model-gateway")["spec"]
    assert service["selector"] == GATEWAY_SELECTOR
    assert service["ports"] == [{"name": "http", "port": 10102, "targetPort": "gateway", "protocol": "TCP"}]
    budget = find(objects, "PodDisruptionBudget", "model-gateway")["spec"]
    assert budget == {"maxUnavailable": 1, "selector": {"matchLabels": GATEWAY_SELECTOR}}
    settings = find(objects, "ConfigMap", "oh-my-agent-settings")["data"]
    assert (settings["OMA_GATEWAY_PORT"], settings["OMA_MODEL_GATEWAY_HOST"]) == ("10102", "model-gateway.oh-my-agent.svc")


@pytest.mark.parametrize("values", ["production", "vertex", "default"])
def test_the_models_credentials_reach_the_gateway_and_no_other_container(render, production_render, values):
    rendered = {"production": lambda: production_render,
                "vertex": lambda: render(with_gateway(production_values(), upstream="vertex",
                                                      vertex={"projectId": "example-project", "region": "europe-west1"})),
                "default": lambda: render({"modelGateway": {"anthropic": {"existingSecret": "oh-my-agent-anthropic"}}}),
                }[values]()
    objects = manifests(rendered)
    holders = []
    for where, spec in pod_specs(objects):
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            names = set(env_entries(container)) | {
                name for source in container.get("envFrom", [])
                for name in find(objects, "ConfigMap", source["configMapRef"]["name"])["data"]}
            if names & set(MODEL_CREDENTIALS):
                holders.append(f"{where}/{container['name']}")
    deployment = "agents" if values == "default" else "model-gateway"  # the SQLite store: beside the agents service
    assert holders == [f"Deployment/{deployment}/model-gateway"]
    for o in objects:
        if o["kind"] == "ConfigMap":
            assert not [key for key in o.get("data", {}) if key.startswith(("ANTHROPIC_", "CLAUDE_CODE_USE"))]


def test_vertex_through_the_gateways_own_google_identity(render):
    objects = manifests(render(with_gateway(
        production_values(), upstream="vertex", vertex={"projectId": "example-project", "region": "europe-west1"},
        googleServiceAccount="oma-gateway@example-project.iam.gserviceaccount.com")))
    env = env_entries(gateway_container(objects))
    assert {name: env[name]["value"] for name in ("OMA_GATEWAY_UPSTREAM", "CLAUDE_CODE_USE_VERTEX",
                                                  "ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION")} == {
        "OMA_GATEWAY_UPSTREAM": "vertex", "CLAUDE_CODE_USE_VERTEX": "1",
        "ANTHROPIC_VERTEX_PROJECT_ID": "example-project", "CLOUD_ML_REGION": "europe-west1"}
    assert "ANTHROPIC_API_KEY" not in env
    account = find(objects, "ServiceAccount", "model-gateway")["metadata"]
    assert account["annotations"] == {"iam.gke.io/gcp-service-account": "oma-gateway@example-project.iam.gserviceaccount.com"}
    # without a Google service account of its own: the agents service's
    shared = manifests(render(production_values()))
    assert find(shared, "ServiceAccount", "model-gateway")["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "oh-my-agent@example-project.iam.gserviceaccount.com"}


def test_prices_and_settings_become_the_gateways_variables(render):
    prices = {"claude-sonnet-4-5": {"input": 3, "output": 15}, "*": {"input": 15, "output": 75}}
    objects = manifests(render(with_gateway(production_values(), prices=prices, replicas=3,
                                            settings={"OMA_GATEWAY_TOKEN_CACHE_SECONDS": "5"})))
    env = env_entries(gateway_container(objects))
    assert json.loads(env["OMA_GATEWAY_PRICES"]["value"]) == prices
    assert env["OMA_GATEWAY_TOKEN_CACHE_SECONDS"]["value"] == "5"
    assert find(objects, "Deployment", "model-gateway")["spec"]["replicas"] == 3


def test_with_the_sqlite_store_the_gateway_runs_beside_the_agents_service_on_its_volume(default_render):
    assert "no model key (modelGateway.anthropic.existingSecret)" in default_render["oh-my-agent/templates/NOTES.txt"]
    objects = manifests(default_render)
    assert not [o for o in objects if o["metadata"]["name"] == "model-gateway" and o["kind"] != "Service"]
    container = gateway_container(objects, "agents")
    assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]} == {"store": "/var/lib/oh-my-agent"}
    assert find(objects, "Service", "model-gateway")["spec"]["selector"]["app.kubernetes.io/component"] == "agents"
    policy = find(objects, "NetworkPolicy", "oh-my-agent-model-gateway")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "agents"


def test_user_pods_reach_the_gateway_and_the_gateway_is_reached_by_them_and_the_hub_only(production_render):
    objects = manifests(production_render)
    users = find(objects, "NetworkPolicy", "oh-my-agent-user-pods")["spec"]
    to_gateway = [rule for rule in users["egress"]
                  if rule["to"][0].get("podSelector", {}).get("matchLabels") == GATEWAY_SELECTOR]
    assert to_gateway == [{"to": [{"podSelector": {"matchLabels": GATEWAY_SELECTOR}}],
                           "ports": [{"port": 10102, "protocol": "TCP"}]}]
    policy = find(objects, "NetworkPolicy", "oh-my-agent-model-gateway")["spec"]
    assert policy["podSelector"]["matchLabels"] == GATEWAY_SELECTOR
    (ingress,) = policy["ingress"]
    assert [peer["podSelector"]["matchLabels"]["component"] for peer in ingress["from"]] == ["singleuser-server", "hub"]
    assert ingress["ports"] == [{"port": 10102, "protocol": "TCP"}]
    egress = policy["egress"]
    assert _reachable(egress, "160.79.104.10", 443), "Anthropic's API"
    assert _reachable(egress, "199.36.153.8", 443), "Google's APIs (Vertex AI, Firestore)"
    assert _reachable(egress, "169.254.169.254", 80), "Workload Identity's tokens"
    assert _reachable(egress, "169.254.169.252", 988), "GKE's metadata server (Dataplane V2)"
    for address, port in [("160.79.104.10", 80), ("10.8.0.7", 8888), ("10.8.0.7", 443), ("192.168.1.1", 443)]:
        assert not _reachable(egress, address, port), f"the gateway reaches {address}:{port}"
    hub = [rule for rule in egress if rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("component") == "hub"]
    assert hub and hub[0]["ports"] == [{"port": 8081, "protocol": "TCP"}]


def test_the_monitoring_and_a_model_in_the_vpc_are_admitted_when_the_values_say_so(render):
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gmp-system"}}}
    proxy = {"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": [{"port": 8443, "protocol": "TCP"}]}
    objects = manifests(render({**production_values(), "networkPolicy": {
        "gatewayExtraIngressFrom": [scraper], "gatewayExtraEgress": [proxy]}}))
    policy = find(objects, "NetworkPolicy", "oh-my-agent-model-gateway")["spec"]
    assert policy["ingress"][0]["from"][-1] == scraper
    assert _reachable(policy["egress"], "10.20.0.5", 8443)


def test_user_pods_can_be_kept_off_the_internet_and_still_reach_the_model(render):
    objects = manifests(render({**production_values(), "networkPolicy": {"userPodsInternet": False}}))
    rules = find(objects, "NetworkPolicy", "oh-my-agent-user-pods")["spec"]["egress"]
    for address, port in [("160.79.104.10", 443), ("151.101.0.223", 443), ("8.8.8.8", 80)]:
        assert not _reachable(rules, address, port), f"user pods reach {address}:{port}"
    assert [rule for rule in rules if rule["to"][0].get("podSelector", {}).get("matchLabels") == GATEWAY_SELECTOR]
    assert _reachable(rules, "169.254.169.254", 53), "DNS"


def test_gkes_fqdn_policy_replaces_the_gateways_public_egress_when_asked(render):
    objects = manifests(render({**production_values(), "networkPolicy": {"fqdnPolicy": {"enabled": True}}}))
    fqdn = find(objects, "FQDNNetworkPolicy", "oh-my-agent-model-gateway")
    assert fqdn["apiVersion"] == "networking.gke.io/v1alpha1"
    assert fqdn["spec"]["podSelector"]["matchLabels"] == GATEWAY_SELECTOR
    assert fqdn["spec"]["egress"] == [{"matches": [{"name": "api.anthropic.com"}, {"pattern": "*.googleapis.com"}],
                                       "ports": [{"port": 443, "protocol": "TCP"}]}]
    egress = find(objects, "NetworkPolicy", "oh-my-agent-model-gateway")["spec"]["egress"]
    assert not _reachable(egress, "160.79.104.10", 443), "public addresses by host name only"
    assert _reachable(egress, "169.254.169.254", 80)


def test_the_rendered_environment_starts_the_gateway_its_probe_answers_and_it_stops_in_its_grace(render, tmp_path):
    port = free_port()
    objects = manifests(render(with_gateway(production_values(), port=port)))
    pod = find(objects, "Deployment", "model-gateway")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = container_environment(objects, container, secrets=ANTHROPIC_SECRET)
    assert env["JUPYTERHUB_SERVICE_URL"] == f"http://0.0.0.0:{port}"
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-platform-key"
    # What only the cluster has: Firestore (SQLite here), and the hub (not needed to start).
    env["OMA_STORE_URL"] = f"sqlite:///{tmp_path / 'oh-my-agent.sqlite'}"
    env["JUPYTERHUB_API_URL"] = f"http://127.0.0.1:{free_port()}/hub/api"
    gateway = subprocess.Popen([sys.executable, *container["command"][1:]],
                               env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), **env},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        probe = container["readinessProbe"]["httpGet"]["path"]
        answers = {}

        def ready():
            try:
                answer = requests.get(f"http://127.0.0.1:{port}{probe}", timeout=2)
            except requests.ConnectionError:
                assert gateway.poll() is None, gateway.stdout.read()
                return False
            answers["health"] = answer
            return answer.status_code == 200

        wait_for(ready, timeout=30)
        assert answers["health"].json() == {"status": "ok", "upstream": "anthropic"}, "nothing secret in the probe"
        assert "sk-ant" not in answers["health"].text
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=pod["terminationGracePeriodSeconds"]) == 0
        assert "sk-ant-platform-key" not in gateway.stdout.read(), "the key is never logged"
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        gateway.stdout.close()
