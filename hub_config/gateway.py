"""The model gateway as the hub sees it: its service entry, and the token each user server gets for it.

User servers never see the model's credentials. When a server starts, the
hub issues its owner a JupyterHub API token that carries one scope, access
to the gateway service, and puts it in the server's environment as
``ANTHROPIC_AUTH_TOKEN`` with ``ANTHROPIC_BASE_URL`` naming the gateway:
Claude Code sends it as a bearer token, and the gateway asks the hub whose it
is. When the server stops the token is deleted, so a copy taken out of the
server (an agent can read its own environment) is worthless from then on.
"""

from __future__ import annotations

import os

GATEWAY_NAME = "model-gateway"
GATEWAY_SCOPE = f"access:services!service={GATEWAY_NAME}"
TOKEN_NOTE = "model gateway, for the server"  # + " <server name>"; how the hub finds the token again to delete it

# The model's endpoint and credentials: the gateway's alone, never a user server's. (A user server's
# ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN are the gateway's address and token, set at each spawn.)
MODEL_CREDENTIALS = (
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_USE_VERTEX",
    "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS",
)
# What only the gateway gets from the hub's environment: those, and what it needs to use them.
GATEWAY_ENVIRONMENT = [
    *MODEL_CREDENTIALS, "GOOGLE_CLOUD_PROJECT", "OMA_VERTEX_BASE_URL", "OMA_MODELS",
    "FIRESTORE_EMULATOR_HOST",  # the store it records usage in, when that is the emulator
]
GATEWAY_ENVIRONMENT_PREFIXES = ("OMA_GATEWAY_",)


def gateway_environment(store_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name in GATEWAY_ENVIRONMENT or name.startswith(GATEWAY_ENVIRONMENT_PREFIXES)}
    env["OMA_STORE_URL"] = store_url
    return env


def _token_note(spawner) -> str:
    return f"{TOKEN_NOTE} {spawner.name}".rstrip()


def revoke_gateway_tokens(spawner) -> int:
    """Delete the person's gateway tokens of this server (the one it had, and any a crash left behind)."""
    orm_user = spawner.user.orm_user
    db = spawner.db
    note = _token_note(spawner)
    tokens = [token for token in orm_user.api_tokens if token.note == note]
    for token in tokens:
        db.delete(token)
    if tokens:
        db.commit()
    return len(tokens)


def issue_gateway_token(spawner, gateway_url: str) -> None:
    """Give the server a fresh token for the gateway and the gateway's address (a pre-spawn step)."""
    revoke_gateway_tokens(spawner)
    token = spawner.user.orm_user.new_api_token(scopes=[GATEWAY_SCOPE], note=_token_note(spawner))
    # A new dict: the configured one is shared by every spawner.
    spawner.environment = {**spawner.environment, "ANTHROPIC_BASE_URL": gateway_url, "ANTHROPIC_AUTH_TOKEN": token}


def with_gateway_token(gate, gateway_url: str):
    """A pre_spawn_hook: ``gate`` (which may refuse the spawn), then the gateway token."""

    def pre_spawn_hook(spawner) -> None:
        gate(spawner)
        issue_gateway_token(spawner, gateway_url)

    return pre_spawn_hook


def post_stop_hook(spawner) -> None:
    revoked = revoke_gateway_tokens(spawner)
    if revoked:
        spawner.log.info("Revoked the model gateway token of %s's server", spawner.user.name)
