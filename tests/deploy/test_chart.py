"""helm/oh-my-agent rendered by Helm's real engine: values, checks, manifests, NetworkPolicies."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
import yaml

from tests.deploy.chart import (
    CHART, GKE_KINDS, KUBERNETES_VERSION, NAMESPACE, find, manifests, pod_specs, production_values,
)

helm_python = pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's engine) cannot be installed here")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate cannot be installed here")

WARNING = 2  # Helm's lint severities: 1 info, 2 warning, 4 error


def settings_of(objects: list[dict]) -> dict[str, str]:
    return find(objects, "ConfigMap", "oh-my-agent-settings")["data"]


def test_lint_is_clean(chart_dir):
    for values in ({}, production_values()):
        result = helm_python.lint(chart_dir, values, strict=True, namespace=NAMESPACE,
                                  kube_version=f"{KUBERNETES_VERSION}.0")
        serious = [m for m in result["messages"] if m["severity"] >= WARNING]
        assert not result["errors"] and not serious, result


def test_default_values_render_a_trial_install(default_render):
    objects = manifests(default_render)
    settings = settings_of(objects)
    assert settings["OMA_SPAWNER"] == "kubernetes"
    assert settings["OMA_PUBLIC_URL"] == "http://localhost:8080"
    assert settings["OMA_STORE_URL"] == "sqlite:////var/lib/oh-my-agent/oh-my-agent.sqlite"
    assert find(objects, "PersistentVolumeClaim", "agents-store")
    assert not [o for o in objects if o["kind"] == "Ingress"], "no domain, no Ingress"
    assert "OMA_SMTP_HOST" not in settings
    assert "port-forward" in default_render["oh-my-agent/templates/NOTES.txt"]


def test_production_values_render_https_firestore_and_smtp(production_render):
    objects = manifests(production_render)
    settings = settings_of(objects)
    assert settings["OMA_PUBLIC_URL"] == "https://notebooks.example.org"
    assert settings["OMA_ADMIN_EMAILS"] == "ada@example.org,grace@example.org"
    assert settings["OMA_GOOGLE_HOSTED_DOMAINS"] == "example.org"
    assert settings["OMA_ADMIN_MAIL_LANGUAGE"] == "ko"
    assert settings["OMA_STORE_URL"] == "firestore://example-project"
    assert settings["OMA_USER_IMAGE"] == "europe-west1-docker.pkg.dev/example-project/oh-my-agent/user:0.1.0"
    assert settings["OMA_AGENTS_SERVICE_HOST"] == f"agents.{NAMESPACE}.svc"
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim" and o["metadata"]["name"] == "agents-store"]

    ingress = find(objects, "Ingress", "oh-my-agent")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["networking.gke.io/managed-certificates"] == "oh-my-agent"
    assert annotations["kubernetes.io/ingress.global-static-ip-name"] == "oh-my-agent-ip"
    assert ingress["spec"]["rules"][0]["host"] == "notebooks.example.org"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "proxy-public"
    assert find(objects, "ManagedCertificate", "oh-my-agent")["spec"]["domains"] == ["notebooks.example.org"]
    assert find(objects, "FrontendConfig", "oh-my-agent")["spec"]["redirectToHttps"]["enabled"] is True
    backend = find(objects, "BackendConfig", "proxy-public")["spec"]
    assert backend["healthCheck"]["requestPath"] == "/hub/health" and backend["timeoutSec"] >= 3600
    proxy = find(objects, "Service", "proxy-public")
    assert proxy["spec"]["type"] == "ClusterIP"
    assert yaml.safe_load(proxy["metadata"]["annotations"]["cloud.google.com/backend-config"]) == {"default": "proxy-public"}

    account = find(objects, "ServiceAccount", "agents")
    assert account["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "oh-my-agent@example-project.iam.gserviceaccount.com"}
    pod = find(objects, "Deployment", "agents")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["OMA_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "oh-my-agent-smtp", "key": "password"}
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hub", "key": "hub.services.agents.apiToken"}
    assert env["JUPYTERHUB_API_URL"]["value"] == "http://hub:8081/hub/api"
    assert pod["containers"][0]["image"] == "europe-west1-docker.pkg.dev/example-project/oh-my-agent/hub:0.1.0"


def test_secrets_stay_out_of_the_hub_pod_and_settings(production_render):
    """The SMTP login and the store's identity reach the agents service's pod only."""
    objects = manifests(production_render)
    hub = find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    hub_env = {e["name"]: e for e in hub["containers"][0]["env"]}
    assert "OMA_SMTP_PASSWORD" not in hub_env
    for name in ("OMA_GOOGLE_CLIENT_ID", "OMA_GOOGLE_CLIENT_SECRET"):
        assert hub_env[name]["valueFrom"]["secretKeyRef"]["name"] == "oh-my-agent-google"
    assert "iam.gke.io/gcp-service-account" not in (find(objects, "ServiceAccount", "hub")["metadata"].get("annotations") or {})
    settings = settings_of(objects)
    assert not [k for k in settings if "PASSWORD" in k or "SECRET" in k or "TOKEN" in k]


def test_hub_mounts_our_configuration_as_files(production_render):
    objects = manifests(production_render)
    hub = find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in hub["containers"][0]["volumeMounts"]}
    assert mounts["oh-my-agent-hub-config"] == "/usr/local/etc/jupyterhub/jupyterhub_config.d"
    assert mounts["oh-my-agent-settings"] == "/usr/local/etc/jupyterhub/oh-my-agent"
    config = find(objects, "ConfigMap", "oh-my-agent-hub-config")["data"]
    assert config["oh_my_agent.py"] == (CHART / "files" / "hub" / "oh_my_agent.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(("change", "named"), [
    # Helm names the value by its JSON pointer (store.url is /store/url), an unknown key by its name
    ({"domain": "not a host name"}, "'/domain'"),
    ({"domian": "notebooks.example.org"}, "'domian' not allowed"),
    ({"admins": ["ada"]}, "'/admins/0'"),
    ({"store": {"url": "mysql://db/oma"}}, "'/store/url'"),
    ({"userServers": {"memory": {"request": "1Gi"}}}, "'/userServers/memory/request'"),
    ({"userServers": {"cpu": {"limit": 0}}}, "'/userServers/cpu/limit'"),
    ({"smtp": {"security": "tls"}}, "'/smtp/security'"),
    ({"adminMailLanguage": "fr"}, "'/adminMailLanguage'"),
    ({"workloadIdentity": {"googleServiceAccount": "oh-my-agent"}}, "'/workloadIdentity/googleServiceAccount'"),
    ({"jupyterhub": {"hub": {"extraEnv": {"OMA_GOOGLE_CLIENT_SECRET": "a-literal-secret"}}}},
     "'/jupyterhub/hub/extraEnv/OMA_GOOGLE_CLIENT_SECRET'"),
    ({"model": {"baseUrl": "https://gateway.example.org"}}, "'model' not allowed"),
    ({"modelGateway": {"upstream": "openai"}}, "'/modelGateway/upstream'"),
    ({"modelGateway": {"replicas": 0}}, "'/modelGateway/replicas'"),
    ({"modelGateway": {"anthropic": {"existingSecret": "Not A Secret Name"}}}, "'/modelGateway/anthropic/existingSecret'"),
    ({"modelGateway": {"vertex": {"region": "the moon"}}}, "'/modelGateway/vertex/region'"),
    ({"modelGateway": {"googleServiceAccount": "gateway"}}, "'/modelGateway/googleServiceAccount'"),
    ({"modelGateway": {"prices": {"claude-sonnet-4-5": {"input": -3, "output": 15}}}},
     "'/modelGateway/prices/claude-sonnet-4-5/input'"),
    ({"modelGateway": {"settings": {"ANTHROPIC_API_KEY": "sk-ant-x"}}}, "'/modelGateway/settings'"),
    ({"networkPolicy": {"fqdnPolicy": {"gatewayHosts": ["https://api.anthropic.com"]}}},
     "'/networkPolicy/fqdnPolicy/gatewayHosts/0'"),
])
def test_a_wrong_value_is_refused_naming_it(render, change, named):
    with pytest.raises(helm_python.HelmValuesError) as refused:
        render(change)
    assert named in str(refused.value)


@pytest.mark.parametrize(("change", "named"), [
    ({"userServers": {"cpu": {"request": 2}}}, "userServers.cpu.request (2) must not exceed userServers.cpu.limit (1)"),
    ({"userServers": {"memory": {"request": "2.5G"}}}, "userServers.memory.request (2.5G) must not exceed"),
    ({"domain": "notebooks.example.org", "jupyterhub": {"proxy": {"https": {
        "enabled": True, "hosts": ["notebooks.example.org"], "letsencrypt": {"contactEmail": "ada@example.org"}}}}},
     "jupyterhub.proxy.https.enabled (z2jh's autohttps) and ingress.enabled"),
    ({"domain": "notebooks.example.org", "ingress": {"enabled": False}, "jupyterhub": {"proxy": {"https": {
        "enabled": True, "hosts": ["hub.example.org"], "letsencrypt": {"contactEmail": "ada@example.org"}}}}},
     "jupyterhub.proxy.https.hosts"),
    ({"jupyterhub": {"singleuser": {"cloudMetadata": {"blockWithIptables": True}}}},
     "jupyterhub.singleuser.cloudMetadata.blockWithIptables"),
    ({"jupyterhub": {"hub": {"extraVolumes": []}}}, "jupyterhub.hub.extraVolumes"),
    ({"jupyterhub": {"hub": {"services": {"agents": None}}}}, "jupyterhub.hub.services"),
    ({"jupyterhub": {"fullnameOverride": "oma"}}, "jupyterhub.fullnameOverride"),
    ({"jupyterhub": {"hub": {"baseUrl": "/notebooks/"}}}, "jupyterhub.hub.baseUrl"),
    ({"modelGateway": {"upstream": "vertex"}}, "modelGateway.vertex.projectId must be set"),
    ({"modelGateway": {"googleServiceAccount": "oma-gateway@example-project.iam.gserviceaccount.com"}},
     "modelGateway.googleServiceAccount needs store.url"),
    ({"domain": "notebooks.example.org", "jupyterhub": {"proxy": {"service": {"annotations": {
        "cloud.google.com/backend-config": None}}}}}, "cloud.google.com/backend-config"),
])
def test_values_that_do_not_fit_together_are_refused_naming_them(render, change, named):
    with pytest.raises(helm_python.HelmError) as refused:
        render(change)
    assert named in str(refused.value)


@pytest.mark.parametrize("memory", [{"request": "900M", "limit": "1G"}, {"request": "2048M", "limit": "2G"}])
def test_a_memory_request_up_to_its_limit_is_accepted_in_any_unit(render, memory):
    settings = settings_of(manifests(render({"userServers": {"memory": memory}})))
    assert (settings["OMA_USER_MEM_GUARANTEE"], settings["OMA_USER_MEM_LIMIT"]) == (memory["request"], memory["limit"])


def test_every_manifest_validates_strictly_for_kubernetes_1_33(any_render):
    problems, gke = [], []
    for o in manifests(any_render):
        if (o["apiVersion"], o["kind"]) in GKE_KINDS:
            gke.append(o["kind"])
            continue
        try:
            kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{o['kind']}/{o['metadata']['name']}: {error.message} at {list(error.path)}")
    assert not problems, "\n".join(problems)
    assert not gke or sorted(gke) == ["BackendConfig", "FrontendConfig", "ManagedCertificate"]


def test_nothing_asks_for_what_autopilot_refuses(any_render):
    """Autopilot refuses privileged containers, added capabilities, host namespaces and host paths."""
    for where, spec in pod_specs(manifests(any_render)):
        assert not (spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC")), where
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], where
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            context = container.get("securityContext") or {}
            assert not context.get("privileged"), where
            assert not (context.get("capabilities") or {}).get("add"), where


def test_z2jh_parts_autopilot_does_not_want_are_off(production_render):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in manifests(production_render)}
    assert not [k for k in kinds if k[0] == "DaemonSet"], "image pullers are billed pods on Autopilot"
    assert ("Deployment", "user-scheduler") not in kinds
    assert ("StatefulSet", "user-placeholder") not in kinds
    assert ("NetworkPolicy", "singleuser") not in kinds, "replaced by oh-my-agent-user-pods"


def _egress_cidrs(rule: dict) -> list[tuple[str, list[str]]]:
    return [(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except", [])) for peer in rule.get("to", []) if "ipBlock" in peer]


def _reachable(rules: list[dict], address: str, port: int) -> bool:
    """Whether egress rules let a pod reach address:port over TCP by IP (pod selectors aside)."""
    ip = ipaddress.ip_address(address)
    for rule in rules:
        ports = [p["port"] for p in rule.get("ports", [])]
        if ports and port not in ports:
            continue
        for cidr, excepted in _egress_cidrs(rule):
            if ip in ipaddress.ip_network(cidr) and not any(ip in ipaddress.ip_network(e) for e in excepted):
                return True
    return False


def test_user_pods_reach_the_platform_dns_and_public_addresses_only(production_render):
    objects = manifests(production_render)
    policy = find(objects, "NetworkPolicy", "oh-my-agent-user-pods")["spec"]
    assert policy["podSelector"]["matchLabels"]["component"] == "singleuser-server"
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    rules = policy["egress"]
    selected = [rule["to"][0]["podSelector"]["matchLabels"] for rule in rules if "podSelector" in rule["to"][0]]
    assert [s.get("component") or s.get("app.kubernetes.io/component") for s in selected] == [
        "hub", "proxy", "agents", "model-gateway"]
    # the metadata server (GKE's two addresses), other pods and the VPC: no
    for address, port in [("169.254.169.254", 80), ("169.254.169.252", 988), ("10.8.0.7", 8888),
                          ("172.16.0.3", 443), ("192.168.1.1", 80), ("100.64.0.9", 8888)]:
        assert not _reachable(rules, address, port), f"user pods reach {address}:{port}"
    # DNS (Cloud DNS for GKE answers on the metadata address, DNS only) and the internet: yes
    assert _reachable(rules, "169.254.169.254", 53)
    assert _reachable(rules, "151.101.0.223", 443), "package indexes (public addresses)"
    # only the hub and the proxy (z2jh's labelled pods) may connect to a user server
    assert policy["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"hub.jupyter.org/network-access-singleuser": "true"}}}],
                                  "ports": [{"port": "notebook-port"}]}]


def test_the_agents_service_is_reached_by_the_platform_and_reaches_its_identity(production_render):
    objects = manifests(production_render)
    policy = find(objects, "NetworkPolicy", "oh-my-agent-agents")["spec"]
    callers = [peer["podSelector"]["matchLabels"]["component"] for peer in policy["ingress"][0]["from"]]
    assert callers == ["proxy", "singleuser-server", "hub"]
    assert _reachable(policy["egress"], "169.254.169.254", 80), "Workload Identity's tokens"
    assert _reachable(policy["egress"], "169.254.169.252", 988), "GKE's metadata server (Dataplane V2)"
    assert not _reachable(policy["egress"], "10.8.0.7", 8888), "user pods"
    labels = find(objects, "Deployment", "agents")["spec"]["template"]["metadata"]["labels"]
    assert labels["hub.jupyter.org/network-access-hub"] == "true", "z2jh's hub policy admits it"


def test_the_proxy_reaches_the_agents_service_it_forwards_to(production_render):
    """z2jh's proxy policy admits the hub and user servers only; /services/agents/ is the agents service's pods."""
    egress = find(manifests(production_render), "NetworkPolicy", "proxy")["spec"]["egress"]
    assert {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "oh-my-agent",
                                                    "app.kubernetes.io/component": "agents"}}}],
            "ports": [{"port": "http", "protocol": "TCP"}]} in egress


def test_network_policies_can_be_turned_off(render):
    objects = manifests(render({"networkPolicy": {"enabled": False}}))
    assert not [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].startswith("oh-my-agent")]


def test_every_value_of_ours_has_a_comment_and_a_schema_description():
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)

    def walk(node: dict, schema_node: dict, path: str):
        for key, value in node.items():
            entry = schema_node["properties"].get(key)
            assert entry and entry.get("description"), f"{path}{key} has no schema description"
            if isinstance(value, dict) and "properties" in entry:
                walk(value, entry, f"{path}{key}.")

    walk({k: v for k, v in values.items() if k != "jupyterhub"}, schema, "")
    # a comment right above every key of ours (z2jh's own keys are documented by z2jh;
    # the Kubernetes fields inside resources by Kubernetes)
    lines = text.split("\njupyterhub:")[0].splitlines()
    inside_resources = None
    for number, line in enumerate(lines):
        key = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not key:
            continue
        indent = len(key.group(1))
        if inside_resources is not None and indent > inside_resources:
            continue
        inside_resources = indent if key.group(2) == "resources" else None
        assert lines[number - 1].strip().startswith("#"), f"values.yaml:{number + 1}: no comment above {line.strip()!r}"
