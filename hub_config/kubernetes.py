"""The kubernetes mode (OMA_SPAWNER=kubernetes): one locked-down pod per person on GKE Autopilot.

Two entry points:

- ``configure_spawner(c, settings)``, called by ``platform.configure`` in this
  mode: KubeSpawner with the user image, a volume per person (home at
  /home/jovyan, agents in ~/agents), CPU and memory, a pod that runs as uid 1000
  with no privileges, capabilities, service-account token or host access, and
  the agents service's cluster DNS name in the server's environment.
- ``configure_on_z2jh(c, settings_dir)``, what the Helm chart's hub runs
  (helm/oh-my-agent/files/hub/oh_my_agent.py) after Zero to JupyterHub's own
  jupyterhub_config.py: it reads the chart's settings, runs
  ``platform.configure``, and keeps what z2jh set up for the cluster where the
  platform's one-machine defaults would replace it (the hub's database, the
  services and roles z2jh made, such as the idle culler). The agents service
  and the model gateway run as Deployments of their own there, so the hub only
  registers them by address.

User pods get no model credentials: only the model gateway's Service address
(``ANTHROPIC_BASE_URL``) and a token of their own for it (hub_config/gateway.py),
issued when the server starts and revoked when it stops.

The hub and the proxy are found by z2jh's own DNS names (``hub``,
``proxy-public``): KubeSpawner gives user servers ``JUPYTERHUB_API_URL`` from
z2jh's ``hub_connect_url``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from traitlets import CaselessStrEnum, Float, Unicode, default
from traitlets.config import Configurable

from oma_contract.environment import DocumentedEnvironment, from_environment

from . import gateway, platform  # a cycle of modules (platform calls configure_spawner), resolved at call time
from .settings import Settings

HOME = "/home/jovyan"
USER_UID = 1000
USER_GID = 100  # "users", as in Jupyter's images and z2jh's fs_gid
USER_COMMAND = ["python3", "-m", "agents_extension.user_server"]

# What platform.configure sets for one machine that z2jh configures for the
# cluster (or leaves to JupyterHub's defaults there): kept as z2jh left it.
Z2JH_KEEPS = {
    "JupyterHub": ("ip", "port", "hub_ip", "hub_port", "db_url", "cookie_secret_file"),
    "ConfigurableHTTPProxy": ("command", "pid_file", "api_url"),
}


class ClusterSettings(DocumentedEnvironment, Configurable):
    """The kubernetes mode's settings, from environment variables (the chart sets them)."""

    namespace = Unicode(
        config=True,
        help="The namespace of the hub and the user pods (the chart sets it from the pod's own).",
    ).tag(env="POD_NAMESPACE")

    @default("namespace")
    def _namespace_default(self):
        return from_environment(self, "namespace", "default")

    user_image = Unicode(
        config=True,
        help="The user image: it runs `python3 -m agents_extension.user_server` as uid 1000.",
    ).tag(env="OMA_USER_IMAGE")

    @default("user_image")
    def _user_image_default(self):
        return from_environment(self, "user_image", "oh-my-agent/user:0.1.0")

    user_image_pull_policy = CaselessStrEnum(
        ("Always", "IfNotPresent", "Never"),
        config=True,
        help="When the kubelet pulls the user image: Always, IfNotPresent or Never.",
    ).tag(env="OMA_USER_IMAGE_PULL_POLICY")

    @default("user_image_pull_policy")
    def _user_image_pull_policy_default(self):
        return from_environment(self, "user_image_pull_policy", "IfNotPresent")

    cpu_guarantee = Float(
        config=True,
        help="CPU cores reserved (and billed by Autopilot) for each user pod: a person's notebooks mostly "
             "wait for the model (docs/deploy-gke.md, What it costs).",
    ).tag(env="OMA_USER_CPU_GUARANTEE")

    @default("cpu_guarantee")
    def _cpu_guarantee_default(self):
        return from_environment(self, "cpu_guarantee", 0.25)

    cpu_limit = Float(
        config=True,
        help="CPU cores each user pod may use when the node has them spare (Autopilot's bursting).",
    ).tag(env="OMA_USER_CPU_LIMIT")

    @default("cpu_limit")
    def _cpu_limit_default(self):
        return from_environment(self, "cpu_limit", 1.0)

    mem_guarantee = Unicode(
        config=True,
        help="Memory reserved (and billed) for each user pod (1G is 1 GiB): the server and five agent "
             "notebooks, one working, with room to spare.",
    ).tag(env="OMA_USER_MEM_GUARANTEE")

    @default("mem_guarantee")
    def _mem_guarantee_default(self):
        return from_environment(self, "mem_guarantee", "1G")

    mem_limit = Unicode(
        config=True,
        help="Memory each user pod may use before it is stopped as out of memory (1G is 1 GiB): room "
             "for an agent's tools above the reservation.",
    ).tag(env="OMA_USER_MEM_LIMIT")

    @default("mem_limit")
    def _mem_limit_default(self):
        return from_environment(self, "mem_limit", "2G")

    storage_capacity = Unicode(
        config=True,
        help="The size of each person's volume (their home, /home/jovyan).",
    ).tag(env="OMA_USER_STORAGE_CAPACITY")

    @default("storage_capacity")
    def _storage_capacity_default(self):
        return from_environment(self, "storage_capacity", "10Gi")

    storage_class = Unicode(
        config=True,
        help="The storage class of each person's volume. Empty: the cluster's default class.",
    ).tag(env="OMA_USER_STORAGE_CLASS")

    @default("storage_class")
    def _storage_class_default(self):
        return from_environment(self, "storage_class", "")

    agents_service_host = Unicode(
        config=True,
        help="The agents service's DNS name in the cluster. Empty: agents.<namespace>.svc.",
    ).tag(env="OMA_AGENTS_SERVICE_HOST")

    @default("agents_service_host")
    def _agents_service_host_default(self):
        return from_environment(self, "agents_service_host", "")

    def agents_service_url(self, port: int) -> str:
        """The agents service's address inside the cluster (its Kubernetes Service)."""
        host = self.agents_service_host or f"{platform.SERVICE_NAME}.{self.namespace}.svc"
        return f"http://{host}:{port}"

    gateway_host = Unicode(
        config=True,
        help="The model gateway's DNS name in the cluster, which user pods call directly. Empty: "
             "model-gateway.<namespace>.svc.",
    ).tag(env="OMA_MODEL_GATEWAY_HOST")

    @default("gateway_host")
    def _gateway_host_default(self):
        return from_environment(self, "gateway_host", "")

    def gateway_url(self, port: int) -> str:
        """The model gateway's address inside the cluster (its Kubernetes Service, in front of its replicas).
        User pods call it directly rather than through the proxy: every streamed byte of every answer
        would otherwise pass the one proxy pod as well, and the Service spreads them over the replicas."""
        host = self.gateway_host or f"{gateway.GATEWAY_NAME}.{self.namespace}.svc"
        return f"http://{host}:{port}"


# Seconds a user pod gets between SIGTERM and SIGKILL when its server stops.
USER_STOP_GRACE_SECONDS = 15


def _non_root() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": USER_UID,
        "runAsGroup": USER_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict:
    """The user pod's securityContext: never root, the runtime's default seccomp filter,
    volumes writable by the person's group."""
    return {**_non_root(), "fsGroup": USER_GID}


def container_security_context() -> dict:
    """The user server container's securityContext: no privileges to gain, no capabilities."""
    return {**_non_root(), "privileged": False, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def home_volume() -> tuple[dict, dict]:
    """The person's own volume (KubeSpawner's PVC, ``{pvc_name}``) mounted as their home."""
    volumes = {"home": {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    mounts = {"home": {"name": "home", "mountPath": HOME}}
    return volumes, mounts


def external_service(ours: dict, z2jh: dict, url: str) -> dict:
    """A service of ours as the hub sees it in the cluster: platform's entry without the
    command that would start it inside the hub pod, at its Deployment's address, with what
    z2jh made for it (``z2jh``, its hub.services entry: the agents service's API token)."""
    entry = {key: value for key, value in ours.items() if key not in ("command", "environment")}
    entry["url"] = url
    return {**z2jh, **entry}


def merged_services(z2jh: list[dict], ours: list[dict], urls: dict[str, str]) -> list[dict]:
    """z2jh's services (the idle culler, hub.services) with ours; those named in ``urls`` external,
    at those addresses. The agents service calls the hub's API with the token z2jh generated for
    it; the model gateway needs none (it asks the hub about a caller's token with that token)."""
    z2jh_by_name = {service["name"]: service for service in z2jh}
    if platform.SERVICE_NAME in urls and not z2jh_by_name.get(platform.SERVICE_NAME, {}).get("api_token"):
        raise SystemExit(
            "oh-my-agent: z2jh made no agents service: keep jupyterhub.hub.services.agents in the chart's "
            "values (its API token is generated from that entry)."
        )
    ours_by_name = {service["name"]: service for service in ours}
    merged = [service for service in z2jh if service["name"] not in ours_by_name]
    for name, service in ours_by_name.items():
        merged.append(external_service(service, z2jh_by_name.get(name, {}), urls[name]) if name in urls else service)
    return merged


def merged_roles(z2jh: list[dict], ours: list[dict]) -> list[dict]:
    """z2jh's roles (the idle culler's, hub.loadRoles) and ours; ours win by name."""
    names = {role["name"] for role in ours}
    return [role for role in z2jh if role["name"] not in names] + list(ours)


def configure_spawner(c, s: Settings, cluster: ClusterSettings | None = None) -> ClusterSettings:
    """User servers as KubeSpawner pods, each with its own volume, locked down for Autopilot."""
    k = cluster or ClusterSettings(config=c)
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    spawner = c.KubeSpawner
    spawner.image = k.user_image
    spawner.image_pull_policy = k.user_image_pull_policy
    spawner.cmd = USER_COMMAND
    spawner.working_dir = HOME
    spawner.notebook_dir = HOME
    spawner.cpu_guarantee = k.cpu_guarantee
    spawner.cpu_limit = k.cpu_limit
    spawner.mem_guarantee = k.mem_guarantee
    spawner.mem_limit = k.mem_limit

    spawner.storage_pvc_ensure = True
    spawner.storage_capacity = k.storage_capacity
    spawner.storage_access_modes = ["ReadWriteOnce"]
    if k.storage_class:
        spawner.storage_class = k.storage_class
    spawner.volumes, spawner.volume_mounts = home_volume()

    spawner.uid = USER_UID
    spawner.gid = USER_GID
    spawner.fs_gid = USER_GID
    spawner.privileged = False
    spawner.allow_privilege_escalation = False
    spawner.pod_security_context = pod_security_context()
    spawner.container_security_context = container_security_context()
    spawner.service_account = None
    spawner.automount_service_account_token = False
    # On stop the server gets SIGTERM and shuts its kernels down: each interrupts its turn, so
    # Claude Code exits with its transcript complete (a few seconds, measured locally in
    # tests/hub/test_stopping.py). KubeSpawner's default of 1 s would kill it mid-way.
    spawner.delete_grace_period = USER_STOP_GRACE_SECONDS

    # Only how Claude Code behaves passes from the hub's environment (the hub image's PATH or locale
    # mean nothing in the user image), never the model's credentials: those are the gateway's alone.
    spawner.env_keep = list(platform.MODEL_ENVIRONMENT)
    environment = dict(spawner.environment) if "environment" in spawner else {}
    # What no user pod may be given in singleuser.extraEnv.
    credentials = sorted(set(environment) & set(gateway.MODEL_CREDENTIALS))
    if credentials:
        raise SystemExit(
            f"oh-my-agent: jupyterhub.singleuser.extraEnv sets {', '.join(credentials)}: user servers get no model "
            "credentials (anyone with a server could read them); give them to the model gateway (modelGateway "
            "in the chart's values)."
        )
    environment["OMA_AGENTS_SERVICE_URL"] = f"{k.agents_service_url(s.service_port)}/services/{platform.SERVICE_NAME}/"
    # A pod has no user namespaces for bubblewrap: agents are kept in their folders by Landlock.
    # An admin's own choice (singleuser.extraEnv, e.g. "off") is kept as it is.
    environment.setdefault("CLAUDE_KERNEL_SANDBOX", "landlock")
    spawner.environment = environment
    # z2jh's hub NetworkPolicy admits pods with this label (z2jh sets it by default too).
    labels = dict(spawner.extra_labels) if "extra_labels" in spawner else {}
    labels.setdefault("hub.jupyter.org/network-access-hub", "true")
    spawner.extra_labels = labels
    return k


def load_settings(folder: Path, environ=os.environ) -> dict[str, str]:
    """Puts the chart's settings (a ConfigMap mounted as a folder, one file per
    variable) into the environment, where Settings reads them. Variables already
    set (the hub's own environment: Secrets by reference) win."""
    loaded = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue  # a ConfigMap volume's ..data links
        loaded[path.name] = path.read_text(encoding="utf-8").strip()
        environ.setdefault(path.name, loaded[path.name])
    return loaded


def configure_on_z2jh(c, settings_dir: str | Path) -> Settings:
    """The whole hub configuration in the cluster, on top of z2jh's (see the module's docstring)."""
    load_settings(Path(settings_dir))
    s = Settings(config=c)
    if s.spawner != "kubernetes":
        raise SystemExit(f"oh-my-agent: on Zero to JupyterHub OMA_SPAWNER must be 'kubernetes', not {s.spawner!r}.")
    if not s.google:
        # Without Google's client platform.configure would fall back to the dev
        # login, in which anyone is anyone: never in the cluster.
        raise SystemExit(
            "oh-my-agent: the hub has no Google OAuth client: OMA_GOOGLE_CLIENT_ID and OMA_GOOGLE_CLIENT_SECRET "
            "come from the Secret named in the chart's jupyterhub.hub.extraEnv (keys client-id, client-secret)."
        )
    kept = {
        (section, name): copy.deepcopy(c[section][name])
        for section, names in Z2JH_KEEPS.items() for name in names if name in c[section]
    }
    z2jh_services = copy.deepcopy(list(c.JupyterHub.services)) if "services" in c.JupyterHub else []
    z2jh_roles = copy.deepcopy(list(c.JupyterHub.load_roles)) if "load_roles" in c.JupyterHub else []

    platform.configure(c, s)

    for section, names in Z2JH_KEEPS.items():
        for name in names:
            if (section, name) in kept:
                c[section][name] = kept[section, name]
            else:
                c[section].pop(name, None)
    cluster = ClusterSettings(config=c)
    urls = {platform.SERVICE_NAME: cluster.agents_service_url(s.service_port),
            gateway.GATEWAY_NAME: cluster.gateway_url(s.gateway_port)}
    c.JupyterHub.services = merged_services(z2jh_services, c.JupyterHub.services, urls)
    c.JupyterHub.load_roles = merged_roles(z2jh_roles, c.JupyterHub.load_roles)
    return s
