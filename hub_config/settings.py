"""The platform's settings: traits whose defaults come from OMA_* environment variables.

One machine runs with no variable set; the Helm chart sets them in the cluster.
`platform.configure` turns them into JupyterHub's configuration. Each trait
names its variable (``.tag(env=...)``) and has its default in its ``@default``
method; the README's settings tables are generated from them
(scripts/settings-tables).
"""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets import CaselessStrEnum, Integer, List, TraitType, Unicode, default, validate
from traitlets.config import Configurable

from oma_contract.environment import DocumentedEnvironment, from_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Folder(TraitType):
    """A folder's absolute path (a str or Path given, a resolved Path kept)."""

    info_text = "a folder's path"

    def validate(self, obj, value):
        if isinstance(value, (str, Path)) and str(value).strip():
            return Path(value).expanduser().resolve()
        self.error(obj, value)

    def from_string(self, s):
        return Path(s)


def _lowercase(values: list[str]) -> list[str]:
    return [value.strip().lower() for value in values if value.strip()]


class Settings(DocumentedEnvironment, Configurable):
    """The hub's settings, for both modes (local processes or Kubernetes pods)."""

    hub_ip = Unicode(
        config=True,
        help="Where the hub (through its proxy) listens for people. The dev login refuses anything "
        "but a loopback address.",
    ).tag(env="OMA_HUB_IP")

    @default("hub_ip")
    def _hub_ip_default(self):
        return from_environment(self, "hub_ip", "127.0.0.1")

    hub_port = Integer(
        config=True,
        help="The port people reach the hub on (its proxy's public port).",
    ).tag(env="OMA_HUB_PORT")

    @default("hub_port")
    def _hub_port_default(self):
        return from_environment(self, "hub_port", 8000)

    hub_internal_port = Integer(
        config=True,
        help="The port of JupyterHub itself on 127.0.0.1, which its proxy, the agents service and user "
        "servers call. Two platforms on one machine need different ones.",
    ).tag(env="OMA_HUB_INTERNAL_PORT")

    @default("hub_internal_port")
    def _hub_internal_port_default(self):
        return from_environment(self, "hub_internal_port", 8081)

    proxy_api_port = Integer(
        config=True,
        help="The port of the proxy's REST API on 127.0.0.1, through which the hub adds and removes "
        "routes. Two platforms on one machine need different ones.",
    ).tag(env="OMA_PROXY_API_PORT")

    @default("proxy_api_port")
    def _proxy_api_port_default(self):
        return from_environment(self, "proxy_api_port", 8001)

    public_url = Unicode(
        config=True,
        help="The hub's address as people see it (links in e-mails, Google's callback). "
        "Empty: http://<hub_ip>:<hub_port>.",
    ).tag(env="OMA_PUBLIC_URL")

    @default("public_url")
    def _public_url_default(self):
        return from_environment(self, "public_url", "")

    data_dir = Folder(
        config=True,
        help="The hub's database, cookie secret and the SQLite store.",
    ).tag(env="OMA_DATA_DIR")

    @default("data_dir")
    def _data_dir_default(self):
        return from_environment(self, "data_dir", PROJECT_DIR / ".run" / "hub")

    users_dir = Folder(
        config=True,
        help="Local mode: the folder holding each person's home folder.",
    ).tag(env="OMA_USERS_DIR")

    @default("users_dir")
    def _users_dir_default(self):
        return from_environment(self, "users_dir", PROJECT_DIR / ".run" / "users")

    admin_emails = List(
        Unicode(),
        config=True,
        help="E-mail addresses of the admins, separated by commas: hub admins, and who gets the "
        "notices of new beta applications.",
    ).tag(env="OMA_ADMIN_EMAILS")

    @default("admin_emails")
    def _admin_emails_default(self):
        return _lowercase(from_environment(self, "admin_emails", []))

    beta_group = Unicode(
        config=True,
        help="The JupyterHub group of the people approved for the beta (who may start a server).",
    ).tag(env="OMA_BETA_GROUP")

    @default("beta_group")
    def _beta_group_default(self):
        return from_environment(self, "beta_group", "beta")

    google_client_id = Unicode(
        config=True,
        help="Google OAuth client id. With google_client_secret, sign-in is Google's (any Google account "
        "may sign in, to apply); without them, the dev login on 127.0.0.1.",
    ).tag(env="OMA_GOOGLE_CLIENT_ID")

    @default("google_client_id")
    def _google_client_id_default(self):
        return from_environment(self, "google_client_id", "")

    google_client_secret = Unicode(
        config=True,
        help="Google OAuth client secret (see google_client_id). Never logged.",
    ).tag(env="OMA_GOOGLE_CLIENT_SECRET")

    @default("google_client_secret")
    def _google_client_secret_default(self):
        return from_environment(self, "google_client_secret", "")

    google_hosted_domains = List(
        Unicode(),
        config=True,
        help="Google Workspace domains allowed to sign in, separated by commas. Empty: any account.",
    ).tag(env="OMA_GOOGLE_HOSTED_DOMAINS")

    @default("google_hosted_domains")
    def _google_hosted_domains_default(self):
        return _lowercase(from_environment(self, "google_hosted_domains", []))

    google_authorize_url = Unicode(
        config=True,
        help="Google's authorization endpoint (the tests point it at a local provider). Empty: Google's.",
    ).tag(env="OMA_GOOGLE_AUTHORIZE_URL")

    @default("google_authorize_url")
    def _google_authorize_url_default(self):
        return from_environment(self, "google_authorize_url", "")

    google_api_url = Unicode(
        config=True,
        help="Google's API base (tokens, user info; the tests point it at a local provider). Empty: Google's.",
    ).tag(env="OMA_GOOGLE_API_URL")

    @default("google_api_url")
    def _google_api_url_default(self):
        return from_environment(self, "google_api_url", "")

    store_url = Unicode(
        config=True,
        help="The store: sqlite:///ABSOLUTE/PATH.db or firestore://PROJECT_ID[?database=NAME][&prefix=PREFIX]. "
        "Empty: sqlite:///<data_dir>/oh-my-agent.sqlite.",
    ).tag(env="OMA_STORE_URL")

    @default("store_url")
    def _store_url_default(self):
        return from_environment(self, "store_url", "")

    service_port = Integer(
        config=True,
        help="The agents service's port (on 127.0.0.1 in local mode, its Service's in the cluster).",
    ).tag(env="OMA_SERVICE_PORT")

    @default("service_port")
    def _service_port_default(self):
        return from_environment(self, "service_port", 10101)

    gateway_port = Integer(
        config=True,
        help="The model gateway's port (on 127.0.0.1 in local mode, its Service's in the cluster).",
    ).tag(env="OMA_GATEWAY_PORT")

    @default("gateway_port")
    def _gateway_port_default(self):
        return from_environment(self, "gateway_port", 10102)

    spawner = CaselessStrEnum(
        ("local", "kubernetes"),
        config=True,
        help="Where user servers run: 'local' (processes on this machine) or 'kubernetes' (KubeSpawner "
        "pods: the Helm chart's mode).",
    ).tag(env="OMA_SPAWNER")

    @default("spawner")
    def _spawner_default(self):
        return from_environment(self, "spawner", "local")

    python = Unicode(
        config=True,
        help="Local mode: the Python that runs the agents service and user servers.",
    ).tag(env="OMA_PYTHON")

    @default("python")
    def _python_default(self):
        return from_environment(self, "python", sys.executable)

    @validate("admin_emails", "google_hosted_domains")
    def _lowercase_addresses(self, proposal):  # set in config (traitlets validates no dynamic default)
        return _lowercase(proposal["value"])

    @property
    def google(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def hub_url(self) -> str:
        return self.public_url or f"http://{self.hub_ip}:{self.hub_port}"

    @property
    def gateway_url(self) -> str:
        """Where user servers reach the model gateway (ANTHROPIC_BASE_URL); the cluster's is its Service."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'oh-my-agent.sqlite'}"
