"""Turns the settings into JupyterHub configuration, for both modes.

Local mode (no Google credentials): a dev login bound to 127.0.0.1, user
servers as local processes. Production: GoogleOAuthenticator, KubeSpawner
(configured by the Helm chart on top of this). The store and e-mail settings
go only to the agents service, never to user servers.
"""

from __future__ import annotations

import ipaddress
import os
from functools import partial
from pathlib import Path

from oma_contract.scopes import ADMIN_SCOPE

from oma_contract.languages import WEB_FONT_STYLESHEET

from . import gateway, kubernetes, language, logs, spawner, standing
from .beta_gate import beta_gate, may_start_server, quiet_refusals
from .settings import PROJECT_DIR, Settings

HERE = Path(__file__).resolve().parent
SERVICE_NAME = "agents"
PRODUCT_NAME = "oh-my-agent"
KERNEL_SHUTDOWN_WAIT_SECONDS = 2.0  # a stopping server's kernels: twice the time before SIGTERM

# What a user server may inherit from the hub's environment: how Claude Code behaves, nothing of
# the store's and no model credentials (those go to the model gateway only: gateway.GATEWAY_ENVIRONMENT;
# the server gets the gateway's address and a token of its own, gateway.issue_gateway_token).
MODEL_ENVIRONMENT = [
    "ANTHROPIC_MODEL", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    # and what the kernel lets the agent reach (an admin's allow-list, e.g. a package mirror)
    "CLAUDE_KERNEL_NETWORK", "CLAUDE_KERNEL_NETWORK_ALLOW",
]
# What the agents service gets: its own settings (store, SMTP, admins).
SERVICE_ENVIRONMENT_PREFIXES = ("OMA_", "FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(SERVICE_ENVIRONMENT_PREFIXES)}
    env.update({
        "OMA_STORE_URL": settings.store,
        "OMA_BETA_GROUP": settings.beta_group,
        "OMA_PUBLIC_URL": settings.hub_url,
        "OMA_ADMIN_EMAILS": ",".join(settings.admin_emails),
    })
    return env


def configure(c, settings: Settings | None = None) -> Settings:
    s = settings or Settings(config=c)  # c.Settings.<setting> in a config file wins over its variable
    s.data_dir.mkdir(parents=True, exist_ok=True)

    c.JupyterHub.ip = s.hub_ip
    c.JupyterHub.port = s.hub_port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_internal_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.JupyterHub.db_url = f"sqlite:///{s.data_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(s.data_dir / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.pid_file = str(s.data_dir / "proxy.pid")
    proxy = PROJECT_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if proxy.exists():
        c.ConfigurableHTTPProxy.command = [str(proxy)]
    # After sign-in people land on the home page: unapproved people apply
    # from there instead of being sent to a spawn they are refused.
    c.JupyterHub.redirect_to_server = False
    c.JupyterHub.template_paths = [str(HERE / "templates")]
    # The hub's pages in the person's language (hub_config/language.py), with the switch and the web font.
    c.JupyterHub.jinja_environment_options = {"extensions": ["jinja2.ext.i18n", "hub_config.language.HubLanguage"]}
    c.JupyterHub.extra_handlers = language.handlers()
    # The agents service's group sync (a read every few seconds) at DEBUG, not INFO.
    c.JupyterHub.tornado_settings = {"log_function": logs.log_request(logs.group_sync(s.beta_group))}
    pages_entry, pages_role, pages_token = standing.pages_service(SERVICE_NAME)
    prefix = f"/services/{SERVICE_NAME}/"
    c.JupyterHub.template_vars = {
        "product_name": PRODUCT_NAME,
        "web_font_stylesheet": WEB_FONT_STYLESHEET,
        # Where a person not approved stands with the beta, asked of the agents service by the pages that show it.
        "beta_standing": partial(standing.StandingLookup, service=SERVICE_NAME, token=pages_token),
        "beta_apply_url": prefix + "beta",
        "beta_admin_url": prefix + "admin/beta",
        "outbox_url": prefix + "admin/outbox",
        "usage_url": prefix + "admin/usage",
        "dashboard_path": "agents",
        # Called with the signed-in person: what the pages offer follows the beta gate's own rule.
        "beta_approved": partial(may_start_server, beta_group=s.beta_group),
    }

    # -- sign-in ----------------------------------------------------------------
    if s.google:
        c.JupyterHub.authenticator_class = "google"
        c.GoogleOAuthenticator.client_id = s.google_client_id
        c.GoogleOAuthenticator.client_secret = s.google_client_secret
        c.GoogleOAuthenticator.oauth_callback_url = f"{s.hub_url}/hub/oauth_callback"
        c.GoogleOAuthenticator.login_service = "Google"
        if s.google_hosted_domains:
            c.GoogleOAuthenticator.hosted_domain = s.google_hosted_domains
        if s.google_authorize_url:
            c.GoogleOAuthenticator.authorize_url = s.google_authorize_url
        if s.google_api_url:
            c.GoogleOAuthenticator.google_api_url = s.google_api_url
    else:
        if not _is_loopback(s.hub_ip):
            raise SystemExit(
                f"oh-my-agent: the dev login lets anyone sign in as anyone, so it only listens on "
                f"127.0.0.1, not {s.hub_ip}. Set OMA_GOOGLE_CLIENT_ID and OMA_GOOGLE_CLIENT_SECRET "
                f"for Google sign-in, or unset OMA_HUB_IP."
            )
        c.JupyterHub.authenticator_class = "hub_config.dev_login.DevLoginAuthenticator"
    # Anyone who can sign in may apply for the beta; the beta gate decides who gets a server.
    c.Authenticator.allow_all = True
    c.Authenticator.admin_users = set(s.admin_emails)
    c.JupyterHub.load_groups = {s.beta_group: {"users": []}}

    # -- user servers -------------------------------------------------------------
    c.Spawner.pre_spawn_hook = beta_gate(s.beta_group, f"{s.hub_url}{prefix}beta")
    quiet_refusals()  # one log line per refusal, not four
    c.Spawner.default_url = "/lab"
    c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL", *MODEL_ENVIRONMENT]
    # Where the user server's agents extension reaches the service (with its own hub token).
    c.Spawner.environment = {"OMA_AGENTS_SERVICE_URL": f"http://127.0.0.1:{s.service_port}{prefix}"}
    # JupyterLab's file access does not follow an agent's links out of its folder.
    c.Spawner.args = [
        "--ServerApp.contents_manager_class=agents_extension.server.contents.AgentFilesManager",
        # A Claude kernel has ended its turn and its Claude Code within a fraction of a second of
        # its shutdown reply; what may still hold it is ipykernel's own teardown (it can wait on
        # its stopped output thread). jupyter_server waits half of this before SIGTERM (default 5 s).
        f"--KernelManager.shutdown_wait_time={KERNEL_SHUTDOWN_WAIT_SECONDS:g}",
    ]
    if s.spawner == "local":
        c.JupyterHub.spawner_class = "hub_config.spawner.LocalSpawner"
        s.users_dir.mkdir(parents=True, exist_ok=True)
        c.LocalSpawner.home_dir_template = str(s.users_dir / "{username}")
        c.LocalSpawner.private_paths = [str(s.data_dir), str(s.users_dir)]
        c.Spawner.cmd = [s.python, "-m", "agents_extension.user_server"]
        # containers and CI run as root; a server that runs as root (OMA_CONTAIN_SERVERS=off)
        # is refused by jupyter_server unless told (contained, it has a user id of its own)
        if os.geteuid() == 0:
            c.Spawner.args.append("--allow-root")
        gateway_url = s.gateway_url
    else:  # "kubernetes", the only other value the setting takes
        gateway_url = kubernetes.configure_spawner(c, s).gateway_url(s.gateway_port)
    # The beta gate first: a refused person gets no gateway token. Stopped, the server's token is revoked.
    c.Spawner.pre_spawn_hook = gateway.with_gateway_token(c.Spawner.pre_spawn_hook, gateway_url)
    c.Spawner.post_stop_hook = gateway.post_stop_hook

    # -- the agents service -----------------------------------------------------------
    spawner.check_services_promptly()  # when the hub stops, the next waits on each one's end
    c.JupyterHub.services = [{
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{s.service_port}",
        "command": [s.python, "-m", "agents_extension.service"],
        "environment": service_environment(s),
        "oauth_no_confirm": True,
        # Admins' browser sign-ins carry the admin scope (the hub grants only what the person
        # holds, and logs "granting only ..." for everyone else), which is what makes them
        # admins in the service: see oma_contract/scopes.py.
        "oauth_client_allowed_scopes": [ADMIN_SCOPE],
        "display": False,
    }, pages_entry, {
        # The model gateway: the only process with the model's credentials (model_gateway/). In the
        # cluster its own Deployment, registered by address instead (kubernetes.merged_services).
        "name": gateway.GATEWAY_NAME,
        "url": f"http://127.0.0.1:{s.gateway_port}",
        "command": [s.python, "-m", "model_gateway"],
        "environment": gateway.gateway_environment(s.store),
        "display": False,
    }]
    c.JupyterHub.load_roles = [
        pages_role,
        {
            "name": "agents-service",
            "description": "The agents service mirrors beta approvals into the beta group and stops the "
                           "servers of people whose access is revoked",
            "services": [SERVICE_NAME],
            # Only what it uses: the beta group exists from load_groups, and people from their sign-in.
            "scopes": [f"groups!group={s.beta_group}", "delete:servers"],
        },
        {
            "name": "server",
            "description": "A user server: post activity, and call the agents service for its owner",
            "scopes": ["users:activity!user", "access:servers!server", f"access:services!service={SERVICE_NAME}"],
        },
        {
            "name": "user",
            "description": "Everyone: their own things, and signing in to the agents service",
            # and the model gateway: the token each server gets for it carries only that
            "scopes": ["self", f"access:services!service={SERVICE_NAME}", gateway.GATEWAY_SCOPE],
        },
    ]
    return s
