"""The gateway's settings: traits whose defaults come from environment variables.

The hub starts the gateway as its service ``model-gateway`` and hands it the
model's variables from its own environment (ANTHROPIC_*, Vertex AI's), which
it gives to nobody else; the chart sets the same variables on the gateway's
Deployment. The README's table is generated from these traits.
"""

from __future__ import annotations

import json

from traitlets import CaselessStrEnum, Dict, Float, Integer, List, Unicode, default, validate
from traitlets.config import Application

from oma_contract.environment import DocumentedEnvironment, SettingInvalid, from_environment

from .prices import check_prices

SERVICE_NAME = "model-gateway"


class GatewaySettings(DocumentedEnvironment, Application):
    """The model gateway (its own process, one or several replicas)."""

    name = "model-gateway"
    description = "The oh-my-agent model gateway, started by JupyterHub as its service 'model-gateway'."

    # -- where it runs ---------------------------------------------------------------------------
    service_url = Unicode(
        config=True,
        help="Where the gateway listens, as http://HOST:PORT (JupyterHub sets it from the service's url; the "
        "chart to all addresses of the pod).",
    ).tag(env="JUPYTERHUB_SERVICE_URL")

    @default("service_url")
    def _service_url_default(self):
        return from_environment(self, "service_url", "")

    hub_api_url = Unicode(
        config=True,
        help="JupyterHub's REST API, which the gateway asks whose a token is (JupyterHub sets it).",
    ).tag(env="JUPYTERHUB_API_URL")

    @default("hub_api_url")
    def _hub_api_url_default(self):
        return from_environment(self, "hub_api_url", "")

    store_url = Unicode(
        config=True,
        help="The store (the hub passes its own): who owns which agent, usage and budgets.",
    ).tag(env="OMA_STORE_URL")

    @default("store_url")
    def _store_url_default(self):
        return from_environment(self, "store_url", "")

    # -- the model -------------------------------------------------------------------------------
    upstream = CaselessStrEnum(
        ("anthropic", "vertex"),
        config=True,
        help="Where requests go: 'anthropic' (the Messages API with ANTHROPIC_API_KEY) or 'vertex' (Vertex AI with "
        "Google's Application Default Credentials). Unset: 'vertex' when CLAUDE_CODE_USE_VERTEX is set, "
        "else 'anthropic'.",
    ).tag(env="OMA_GATEWAY_UPSTREAM")

    @default("upstream")
    def _upstream_default(self):
        import os

        fallback = "vertex" if os.environ.get("CLAUDE_CODE_USE_VERTEX", "").strip() not in ("", "0") else "anthropic"
        return from_environment(self, "upstream", fallback)

    anthropic_base_url = Unicode(
        config=True,
        help="Anthropic's API (the tests point it at a fake model).",
    ).tag(env="ANTHROPIC_BASE_URL")

    @default("anthropic_base_url")
    def _anthropic_base_url_default(self):
        return from_environment(self, "anthropic_base_url", "https://api.anthropic.com")

    anthropic_api_key = Unicode(
        config=True,
        help="The platform's Anthropic API key. Only the gateway has it; never logged.",
    ).tag(env="ANTHROPIC_API_KEY")

    @default("anthropic_api_key")
    def _anthropic_api_key_default(self):
        return from_environment(self, "anthropic_api_key", "")

    anthropic_auth_token = Unicode(
        config=True,
        help="Instead of an API key: a bearer token for Anthropic's API (or a proxy in front of it). Never logged.",
    ).tag(env="ANTHROPIC_AUTH_TOKEN")

    @default("anthropic_auth_token")
    def _anthropic_auth_token_default(self):
        return from_environment(self, "anthropic_auth_token", "")

    vertex_project = Unicode(
        config=True,
        help="Vertex AI: the Google Cloud project the model is billed to.",
    ).tag(env="ANTHROPIC_VERTEX_PROJECT_ID")

    @default("vertex_project")
    def _vertex_project_default(self):
        return from_environment(self, "vertex_project", "")

    vertex_region = Unicode(
        config=True,
        help="Vertex AI: the model's region (or 'global').",
    ).tag(env="CLOUD_ML_REGION")

    @default("vertex_region")
    def _vertex_region_default(self):
        return from_environment(self, "vertex_region", "us-east5")

    vertex_base_url = Unicode(
        config=True,
        help="Vertex AI's endpoint. Empty: https://REGION-aiplatform.googleapis.com (https://aiplatform.googleapis.com "
        "for 'global'); the tests point it at a fake.",
    ).tag(env="OMA_VERTEX_BASE_URL")

    @default("vertex_base_url")
    def _vertex_base_url_default(self):
        return from_environment(self, "vertex_base_url", "")

    models = List(
        Unicode(),
        config=True,
        help="The models requests may name, separated by commas (the agents service's list too). A dated version "
        "of one (claude-sonnet-4-5-20250929, @20250929) counts as that model. Unset: any model (the service "
        "then offers its default choices, and a kernel without an agent uses Claude Code's default model).",
    ).tag(env="OMA_MODELS")

    @default("models")
    def _models_default(self):
        return from_environment(self, "models", [])

    prices = Dict(
        config=True,
        help="What the model costs, in US dollars per million tokens, as JSON: {\"MODEL\": {\"input\": 3, \"output\": "
        "15, \"cache_write\": 3.75, \"cache_read\": 0.3}, ...}; a model takes the entry of the longest name it starts "
        "with, and '*' is for any other. Unset: list prices of current Claude models (and Opus prices for others).",
    ).tag(env="OMA_GATEWAY_PRICES")

    @default("prices")
    def _prices_default(self):
        import os

        raw = os.environ.get("OMA_GATEWAY_PRICES", "").strip()
        if not raw:
            return {}  # the built-in table (prices.DEFAULT_PRICES)
        try:
            return check_prices(json.loads(raw))
        except (ValueError, TypeError) as error:
            raise SettingInvalid(f"OMA_GATEWAY_PRICES cannot be {raw!r}: {error}") from None

    @validate("prices")
    def _prices_valid(self, proposal):
        return check_prices(proposal["value"]) if proposal["value"] else {}

    # -- how long what it learnt is trusted ------------------------------------------------------
    token_cache_seconds = Float(
        config=True,
        help="How long the gateway trusts what the hub said about a token, in seconds: a token revoked when its "
        "server stops is refused at most this long after.",
    ).tag(env="OMA_GATEWAY_TOKEN_CACHE_SECONDS")

    @default("token_cache_seconds")
    def _token_cache_seconds_default(self):
        return from_environment(self, "token_cache_seconds", 10.0)

    agent_cache_seconds = Float(
        config=True,
        help="How long the gateway trusts what the store said about who owns an agent, in seconds.",
    ).tag(env="OMA_GATEWAY_AGENT_CACHE_SECONDS")

    @default("agent_cache_seconds")
    def _agent_cache_seconds_default(self):
        return from_environment(self, "agent_cache_seconds", 30.0)

    budget_cache_seconds = Float(
        config=True,
        help="How long each gateway replica keeps the month's spend and limits it read from the store, in seconds "
        "(it adds its own requests at once). Other replicas' spending and changed limits are seen at most this "
        "late, so a limit can be exceeded by what the other replicas spend in this time; 0 reads the store before "
        "every request.",
    ).tag(env="OMA_GATEWAY_BUDGET_CACHE_SECONDS")

    @default("budget_cache_seconds")
    def _budget_cache_seconds_default(self):
        return from_environment(self, "budget_cache_seconds", 5.0)

    upstream_connect_seconds = Float(
        config=True,
        help="How long the gateway tries to reach the model before answering 502, in seconds.",
    ).tag(env="OMA_GATEWAY_CONNECT_SECONDS")

    @default("upstream_connect_seconds")
    def _upstream_connect_seconds_default(self):
        return from_environment(self, "upstream_connect_seconds", 10.0)

    max_request_mb = Integer(
        config=True,
        help="The largest request body accepted, in megabytes (a conversation with images can be large).",
    ).tag(env="OMA_GATEWAY_MAX_REQUEST_MB")

    @default("max_request_mb")
    def _max_request_mb_default(self):
        return from_environment(self, "max_request_mb", 64)
